"""What the command line talks to: the engine in this process, or a `byom-sql serve` (any
Postgres server, in fact) over the wire. One small interface, so the shell and the one-shot
command do not care which.

    Backend.execute(text) ─► Outcome per statement (status, columns, types, rows)
    Backend.interrupt()      from another thread: cancel the running statement
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from byom_sql.config import EngineConfig
from byom_sql.dialect import parse
from byom_sql.engine import Engine
from byom_sql.errors import (
    DatabaseConnectionError,
    Error,
    QueryCanceled,
    QueryError,
    SqlSyntaxError,
)
from byom_sql.result import Progress, Result
from byom_sql.types import duckdb_type

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

Row = tuple[Any, ...]


@dataclass
class Outcome:
    """One statement's result, whichever side ran it. `rows` is None for a command."""

    status: str  # the command tag: "SELECT 3", "CREATE PREDICTOR"
    columns: list[str]
    types: list[str]
    rows: Iterator[Row] | None = None
    warnings: list[str] = field(default_factory=list)  # rows a model rejected, and the like


class Backend(Protocol):
    label: str  # where statements run, for the banner
    prompt: str  # the prompt's name for it

    def execute(self, text: str) -> Iterator[Outcome]:
        """One Outcome per statement of `text`, each run when the previous one is taken;
        raises byom_sql.errors.Error with `position` an offset in `text`."""
        ...

    def interrupt(self) -> None:
        """Cancel the running statement (called from another thread)."""
        ...

    def watch(self, callback: Callable[[Progress], None] | None) -> None:
        """Receive progress while a statement scores rows, where the backend can tell."""
        ...

    def close(self) -> None: ...


def open_backend(database: str, url: str | None) -> Backend:
    return Remote(url) if url else Local(database)


class Local:
    """The engine, in this process, on a DuckDB file or in memory."""

    def __init__(self, database: str) -> None:
        self.engine = Engine(database, EngineConfig())
        self.conn = self.engine.connect()
        self.label = "in memory" if database == ":memory:" else database
        self.prompt = "byom"

    def execute(self, text: str) -> Iterator[Outcome]:
        for result in self.conn.stream(text):
            yield outcome_of(result)

    def interrupt(self) -> None:
        self.conn.interrupt()

    def watch(self, callback: Callable[[Progress], None] | None) -> None:
        self.conn.on_progress = callback

    def close(self) -> None:
        self.conn.close()
        self.engine.close()


def outcome_of(result: Result) -> Outcome:
    if not result.has_rows:
        return Outcome(result.tag, [], [], warnings=result.warnings)

    def rows() -> Iterator[Row]:
        for batch in result.batches():
            yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)

    schema = result.schema
    kinds = [duckdb_type(t) for t in schema.types]
    return Outcome(result.tag, list(schema.names), kinds, rows(), result.warnings)


class Remote:
    """A Postgres-wire server, `byom-sql serve` above all, through psycopg 3 (autocommit: a
    BEGIN of the user's opens a transaction on the server as in psql)."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg  # here: only --connect needs it, and it takes a while to import
        except ImportError:
            raise Error(
                "byom-sql --connect needs psycopg", hint="pip install 'byom-sql[client]'"
            ) from None

        self._psycopg = psycopg
        self._url = url
        self._notices: list[str] = []
        self._conn = self._connect()
        info = self._conn.info
        self.label = f"{info.host}:{info.port}/{info.dbname}"
        self.prompt = f"byom@{info.host}:{info.port}"

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = self._psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        except self._psycopg.Error as exc:
            message = f"cannot connect to {_safe(self._url)}: {exc}"
            raise DatabaseConnectionError(message) from None
        conn.add_notice_handler(self._notice)
        return conn

    def _notice(self, diagnostic: psycopg.errors.Diagnostic) -> None:
        if diagnostic.severity_nonlocalized == "WARNING" and diagnostic.message_primary:
            self._notices.append(diagnostic.message_primary)

    def execute(self, text: str) -> Iterator[Outcome]:
        if self._conn.closed:  # lost (the server restarted): connect again, as psql does
            self._conn = self._connect()
        for start, sql in _statements(text):
            self._notices.clear()
            with self._errors(start):
                cursor = self._conn.cursor()
                cursor.execute(sql)
            status = cursor.statusmessage or ""
            warnings = list(self._notices)
            if cursor.description is None:
                yield Outcome(status, [], [], warnings=warnings)
                continue
            yield Outcome(
                status,
                [column.name for column in cursor.description],
                [column.type_display for column in cursor.description],
                iter(cursor),
                warnings,
            )

    def interrupt(self) -> None:
        with contextlib.suppress(self._psycopg.Error):
            self._conn.cancel_safe(timeout=5)

    def watch(self, callback: Callable[[Progress], None] | None) -> None:
        """The wire carries no progress: nothing to watch."""

    def close(self) -> None:
        self._conn.close()

    @contextlib.contextmanager
    def _errors(self, start: int) -> Iterator[None]:
        """psycopg's exceptions → byom_sql errors, positions made offsets in the whole text."""
        try:
            yield
        except self._psycopg.Error as exc:
            raise _error(exc, start) from None


def _error(exc: psycopg.Error, start: int) -> Error:
    diag = exc.diag
    sqlstate = diag.sqlstate
    message = diag.message_primary or str(exc).strip()
    if sqlstate is None:  # no server answer: the connection itself failed
        return DatabaseConnectionError(f"the server connection failed: {message}")
    if sqlstate == "57014":
        return QueryCanceled(message)
    position = int(diag.statement_position) - 1 + start if diag.statement_position else None
    error = QueryError(message, sqlstate=sqlstate, position=position)
    error.hint = diag.message_hint
    return error


def _statements(text: str) -> list[tuple[int, str]]:
    """Each statement on its own, so each gets its result and its error positions; the whole
    text in one piece when our parser cannot even split it (the server will say why)."""
    try:
        return [(s.start, s.sql) for s in parse(text, lenient=True)]
    except SqlSyntaxError:
        return [(0, text)]


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
