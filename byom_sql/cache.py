"""The prediction cache (`USING cache = true`): a model's outputs for an input row, kept in the
database file, so a repeated query calls no model and an overlapping one calls only for the
rows not seen yet.

An entry is keyed by predictor, version, a fingerprint of the options that shape the request
(format, URL, request layout, headers, dtype_dict …) and the typed input row as JSON. A new
version (RETRAIN), CREATE OR REPLACE and DROP remove a predictor's entries (the catalog does it
in the same transaction); a changed fingerprint never matches. Only successful predictions are
stored. Each predictor keeps at most `cache_max_rows` entries (default 100 000): past that, the
oldest stored go first (a hit does not make an entry younger). With `cache_ttl`, entries older
than that many seconds are not used, and are deleted when that predictor's cache is next
written.

The cache shares the catalog's cursor and lock: its writes never conflict with the catalog's.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import duckdb
import orjson
import pyarrow as pa

SCHEMA = """
CREATE TABLE IF NOT EXISTS byom.prediction_cache (
    project VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    fingerprint VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    outputs VARCHAR NOT NULL,
    stored_at TIMESTAMP NOT NULL
);
"""
FORGET = (
    "DELETE FROM byom.prediction_cache WHERE lower(project) = lower(?) AND lower(name) = lower(?)"
)
DEFAULT_MAX_ROWS = 100_000
# options that change how often or how long a call is made, not what it asks
_NOT_IN_REQUEST = frozenset(
    {
        "batch_size",
        "max_concurrency",
        "timeout",
        "train_timeout",
        "retries",
        "max_reply_bytes",
        "url.train",
        "cache",
        "cache_ttl",
        "cache_max_rows",
        "on_error",
        "check",
    }
)


class Cached(Protocol):
    """A predictor, as far as the cache needs it."""

    @property
    def project(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def options(self) -> dict[str, Any]: ...


def enabled(predictor: Cached) -> bool:
    return bool(predictor.options.get("cache"))


def fingerprint(predictor: Cached) -> str:
    shaping = {k: v for k, v in predictor.options.items() if k not in _NOT_IN_REQUEST}
    return hashlib.sha256(orjson.dumps(shaping, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def keys(table: pa.Table) -> list[str]:
    """Each row's key: its typed values as JSON, in feature order."""
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [_json(list(row)) for row in zip(*columns, strict=True)]


class PredictionCache:
    def __init__(self, cursor: duckdb.DuckDBPyConnection, lock: threading.RLock, read_only: bool):
        self._cursor = cursor
        self._lock = lock
        self.read_only = read_only

    def lookup(self, predictor: Cached, wanted: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Outputs of the rows already cached, by key."""
        if not wanted:
            return {}
        sql = (
            "SELECT c.key, arg_max(c.outputs, c.stored_at) FROM byom.prediction_cache AS c "
            "SEMI JOIN (SELECT unnest(?::VARCHAR[]) AS key) AS w ON c.key = w.key "
            "WHERE lower(c.project) = lower(?) AND lower(c.name) = lower(?) AND c.version = ? "
            "AND c.fingerprint = ? AND c.stored_at >= ? GROUP BY c.key"
        )
        parameters = [list(set(wanted)), *_identity(predictor), _oldest(predictor)]
        try:
            with self._lock:
                rows = self._cursor.execute(sql, parameters).fetchall()
        except duckdb.CatalogException:  # a read-only file written before the cache existed
            return {}
        return {key: orjson.loads(outputs) for key, outputs in rows}

    def store(self, predictor: Cached, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Keep new predictions, then trim the predictor's entries to its bound."""
        if self.read_only or not entries:
            return
        try:
            rows = [(key, _json(outputs)) for key, outputs in entries]
        except TypeError:  # a Python model's output JSON cannot hold: not cached
            return
        now = utcnow()
        identity = _identity(predictor)
        table = pa.table(
            {
                "project": [predictor.project] * len(rows),
                "name": [predictor.name] * len(rows),
                "version": pa.array([predictor.version] * len(rows), pa.int32()),
                "fingerprint": [identity[3]] * len(rows),
                "key": [k for k, _ in rows],
                "outputs": [o for _, o in rows],
                "stored_at": pa.array([now] * len(rows), pa.timestamp("us")),
            }
        )
        bound = predictor.options.get("cache_max_rows", DEFAULT_MAX_ROWS)
        where = "lower(project) = lower(?) AND lower(name) = lower(?)"
        with self._lock:
            cursor = self._cursor
            cursor.register("byom_cache_new", table)
            try:
                cursor.execute("BEGIN TRANSACTION")
                cursor.execute("INSERT INTO byom.prediction_cache SELECT * FROM byom_cache_new")
                cursor.execute(
                    f"DELETE FROM byom.prediction_cache WHERE {where} AND (version <> ? "
                    "OR fingerprint <> ? OR stored_at < ?)",
                    [*identity, _oldest(predictor)],
                )
                cursor.execute(
                    f"DELETE FROM byom.prediction_cache WHERE {where} AND rowid IN ("
                    f"SELECT rowid FROM byom.prediction_cache WHERE {where} "
                    "ORDER BY stored_at DESC, rowid DESC OFFSET ?)",
                    [*identity[:2], *identity[:2], bound],
                )
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.unregister("byom_cache_new")

    def size(self, predictor: Cached) -> int:
        with self._lock:
            row = self._cursor.execute(
                "SELECT count(*) FROM byom.prediction_cache WHERE lower(project) = lower(?) "
                "AND lower(name) = lower(?) AND version = ? AND fingerprint = ?",
                _identity(predictor),
            ).fetchone()
        return row[0] if row else 0


def utcnow() -> datetime:
    """Stored times are UTC without a zone (TIMESTAMPTZ would need pytz to read back)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _identity(predictor: Cached) -> list[Any]:
    return [predictor.project, predictor.name, predictor.version, fingerprint(predictor)]


def _oldest(predictor: Cached) -> datetime:
    """Entries stored before this are too old to use."""
    ttl = predictor.options.get("cache_ttl")
    return utcnow() - timedelta(seconds=ttl) if ttl else datetime(1970, 1, 1)


def _json(value: Any) -> str:
    options = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(value, default=_default, option=options).decode()


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)
