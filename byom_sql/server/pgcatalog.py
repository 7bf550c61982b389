"""pg_catalog, information_schema, SET/SHOW and friends for Postgres clients.

`intercept(state, sql)` is called by the session for every statement of a simple Query and for
every Parse, before the engine sees the text, in the session's worker thread (it may use
`state.conn` to query DuckDB). It returns None to let the engine run the statement, or an
InterceptResult (rows or a command tag to send, or SQL to run instead).

It may be called more than once for the same text (at Parse to describe the statement, then at
each Execute), so anything it changes in `state` is idempotent. Transaction statements (BEGIN,
COMMIT, ROLLBACK …) are handled by the session and never reach it.

What it answers:
- SET / RESET / SHOW of Postgres session settings (pgsettings.py), kept per session; TimeZone
  and search_path are passed on to DuckDB too. DuckDB's own settings (SET threads …) and
  other SHOW statements (SHOW TABLES) go to the engine.
- SAVEPOINT, RELEASE, ROLLBACK TO: DuckDB has no savepoints; they are accepted, and ROLLBACK TO
  fails (0A000) rather than keep changes made after the savepoint.
- DISCARD ALL, UNLISTEN (nothing is ever listened to).
- Queries over pg_catalog and Postgres' metadata functions: rewritten by pgrewrite.py into
  DuckDB SQL over the emulated catalog of pgrelations.py.
- asyncpg's type-introspection query, which sqlglot cannot parse: matched by its text.
Everything else, user SQL above all, is not touched.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import cached_property

import duckdb

from byom_sql import types
from byom_sql.catalog import Catalog, Predictor
from byom_sql.errors import FeatureNotSupported, QueryError
from byom_sql.server import pgrelations, pgrewrite, pgsettings, pgtypes
from byom_sql.server.pgrelations import PREDICTOR_BASE, PROJECT_BASE, PredictorRow
from byom_sql.server.state import VERSION_STRING, InterceptResult, SessionState
from byom_sql.sqlbuild import quote, quote_string

_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
# words without which a statement cannot need the catalog emulation (a cheap first test)
_MENTIONS_CATALOG = re.compile(
    r"pg_|information_schema|version|current_setting|set_config|current_user|session_user"
    r"|current_catalog|current_schema|current_database|format_type|\breg(?:class|type|proc|namespace)|_description|_privilege"
    r"|to_reg|array_(?:upper|lower)|json_build_object|quote_ident|parse_ident|=\s*ANY\s*\(|'\{[^']*\}'\s*::\s*\w+\s*\[\]"
    r"|::\s*(?:oid|name|\"char\")\b",
    re.I,
)
_READS = {
    "SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN", "DESCRIBE", "SUMMARIZE", "SET",
    "RESET", "SAVEPOINT", "RELEASE", "ROLLBACK", "DISCARD", "UNLISTEN",
}  # fmt: skip
_SAVEPOINT_NAME = re.compile(r'^(?:SAVEPOINT\s+)?("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*$', re.I)
_ISOLATION = re.compile(r"ISOLATION\s+LEVEL\s+(READ\s+\w+|REPEATABLE\s+READ|SERIALIZABLE)", re.I)
TEXT = pgtypes.TEXT


def intercept(state: SessionState, sql: str) -> InterceptResult | None:
    """The answer for a statement DuckDB cannot run as a Postgres client means it, or None."""
    text = _LEADING_COMMENTS.sub("", sql).strip().rstrip(";").strip()
    if not text:
        return None
    if state.session_defaults is None:
        state.session_defaults = dict(state.settings)
    verb = text.split(None, 1)[0].upper()
    _note_writes(state, verb)
    command = _COMMANDS.get(verb)
    if command is not None:
        answer = command(state, text)
        if answer is not None:
            return answer
    if not _MENTIONS_CATALOG.search(text):
        return None
    if _is_asyncpg_introspection(text):
        return _type_introspection()
    rewritten = pgrewrite.rewrite(text, _session(state))
    if rewritten is None:
        return None
    for name, value in rewritten.set_config:
        _store(state, name, value)
    return InterceptResult(sql=rewritten.sql)


# SET, RESET, SHOW ---------------------------------------------------------------------------


def _set(state: SessionState, text: str) -> InterceptResult | None:
    transaction = re.match(r"SET\s+(SESSION\s+CHARACTERISTICS\s+AS\s+)?TRANSACTION\b", text, re.I)
    if transaction:
        level = _ISOLATION.search(text)
        name = "default_transaction_isolation" if transaction.group(1) else "transaction_isolation"
        if level:
            _store(state, name, " ".join(level.group(1).lower().split()))
        return InterceptResult(tag="SET")
    statement = pgsettings.parse_set(text)
    if statement is None:
        return None
    if statement.name == "all":
        for name in list(state.settings):
            if name not in pgsettings.READ_ONLY:
                _reset(state, name)
        return InterceptResult(tag="RESET")
    if not pgsettings.is_known(statement.name):
        return None  # DuckDB's own settings (SET threads = 4), or its error
    pgsettings.check_settable(statement.name)
    if statement.value is None:
        _reset(state, statement.name)
    else:
        _store(state, statement.name, statement.value)
    return InterceptResult(tag="RESET" if text[:5].upper() == "RESET" else "SET")


def _store(state: SessionState, name: str, value: str) -> None:
    """Keep a setting; TimeZone and search_path also change what DuckDB does."""
    if name == "client_encoding":
        value = _utf8_only(value)
    if name != "search_path" and len(value) > 1 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('""', '"')  # SET TIME ZONE "Etc/UTC" (pgcli): a name
    if state.settings.get(name) != value:
        if name == "timezone":
            _duckdb_setting(state, "TimeZone", value)
        elif name == "search_path":
            _duckdb_search_path(state, value)
    state.settings[name] = value


def _utf8_only(encoding: str) -> str:
    if encoding.upper().replace("-", "").replace("_", "") not in ("UTF8", "UNICODE"):
        raise FeatureNotSupported(
            f"client_encoding {encoding!r} is not supported: byom_sql speaks UTF8 only",
            hint="SET client_encoding = 'UTF8', and convert text in the client",
        )
    return "UTF8"


def _reset(state: SessionState, name: str) -> None:
    defaults = state.session_defaults or {}
    value = defaults.get(name, pgsettings.default(name, state.user))
    _store(state, name, value)


def _duckdb_setting(state: SessionState, name: str, value: str) -> None:
    try:
        state.conn.cursor.execute(f"SET {quote(name)} = {quote_string(value)}")
    except duckdb.Error as exc:
        message = str(exc).split("\n", 1)[0]
        raise QueryError(
            f'invalid value for parameter "{name}": "{value}" ({message})', sqlstate="22023"
        ) from None


def _duckdb_search_path(state: SessionState, value: str) -> None:
    """search_path names Postgres schemas; DuckDB gets those it has (public means main)."""
    wanted = [s.strip().strip('"') for s in value.split(",")]
    wanted = ["main" if s == "public" else s for s in wanted if s and s != "$user"]
    existing = {
        row[0]
        for row in state.conn.cursor.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"
        ).fetchall()
    }
    schemas = [s for s in wanted if s in existing]
    if schemas:
        _duckdb_setting(state, "search_path", ",".join(schemas))
    else:
        state.conn.cursor.execute("RESET search_path")


def _show(state: SessionState, text: str) -> InterceptResult | None:
    name = pgsettings.show_target(text)
    if name is None:
        return None
    if name == "all":
        rows = pgsettings.all_settings(state.settings, state.user)
        return InterceptResult(
            tag="SHOW", columns=("name", "setting", "description"), oids=(TEXT,) * 3, rows=rows
        )
    value = _setting(state, name)
    if value is None:
        value = _duckdb_value(state, name)
    if value is None:
        return None  # SHOW TABLES, SHOW a_table …: the engine's
    return InterceptResult(
        tag="SHOW", columns=(pgsettings.canonical(name),), oids=(TEXT,), rows=[(value,)]
    )


def _setting(state: SessionState, name: str) -> str | None:
    if name in state.settings:
        return state.settings[name]
    return pgsettings.default(name, state.user) if pgsettings.is_known(name) else None


def _duckdb_value(state: SessionState, name: str) -> str | None:
    found = state.conn.cursor.execute(
        "SELECT value FROM duckdb_settings() WHERE lower(name) = $1", [name]
    ).fetchone()
    return None if found is None else str(found[0])


# savepoints, DISCARD, LISTEN -----------------------------------------------------------------


def _note_writes(state: SessionState, verb: str) -> None:
    if state.transaction == "I":
        state.savepoints.clear()
    elif verb not in _READS:
        for name in state.savepoints:
            state.savepoints[name] = True


def _savepoint(state: SessionState, text: str) -> InterceptResult:
    name = _savepoint_name(text, "SAVEPOINT")
    if state.transaction == "I":
        raise QueryError("SAVEPOINT can only be used in transaction blocks", sqlstate="25P01")
    state.savepoints.setdefault(name, False)
    return InterceptResult(tag="SAVEPOINT")


def _release(state: SessionState, text: str) -> InterceptResult:
    name = _savepoint_name(text, "RELEASE")
    names = list(state.savepoints)
    if name in names:  # it and the savepoints taken after it
        for later in names[names.index(name) :]:
            del state.savepoints[later]
    return InterceptResult(tag="RELEASE")


def _rollback_to(state: SessionState, text: str) -> InterceptResult | None:
    if not re.match(r"ROLLBACK\s+(WORK\s+|TRANSACTION\s+)?TO\b", text, re.I):
        return None
    name = _savepoint_name(re.sub(r"^\S+\s+(WORK\s+|TRANSACTION\s+)?TO\s+", "", text, flags=re.I))
    if state.transaction == "E" or state.savepoints.get(name):
        raise FeatureNotSupported(
            "ROLLBACK TO SAVEPOINT cannot undo what ran after the savepoint: DuckDB has no "
            "savepoints",
            hint="ROLLBACK the whole transaction",
        )
    names = list(state.savepoints)
    if name in names:
        for later in names[names.index(name) + 1 :]:
            del state.savepoints[later]
    return InterceptResult(tag="ROLLBACK")


def _savepoint_name(text: str, verb: str | None = None) -> str:
    rest = text[len(verb) :].strip() if verb else text
    match = _SAVEPOINT_NAME.match(rest)
    if match is None:
        raise QueryError(f"expected a savepoint name, got {rest!r}", sqlstate="42601")
    name = match.group(1)
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()


def _discard(state: SessionState, text: str) -> InterceptResult:
    """DISCARD ALL | TEMP: settings back to the session's start, temporary tables dropped."""
    what = " ".join(text.split()[1:]).upper()
    if what == "ALL":
        _set(state, "RESET ALL")
    if what in ("ALL", "TEMP", "TEMPORARY"):
        cursor = state.conn.cursor
        temporary = cursor.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'temp'"
        ).fetchall()
        for (name,) in temporary:
            cursor.execute(f'DROP TABLE temp.main."{name.replace(chr(34), chr(34) * 2)}"')
    return InterceptResult(tag=f"DISCARD {'TEMP' if what == 'TEMPORARY' else what}")


def _listen(state: SessionState, text: str) -> InterceptResult:
    raise FeatureNotSupported(
        f"{text.split()[0].upper()} is not supported: byom_sql sends no notifications"
    )


_COMMANDS = {
    "SET": _set,
    "RESET": _set,
    "SHOW": _show,
    "SAVEPOINT": _savepoint,
    "RELEASE": _release,
    "ROLLBACK": _rollback_to,
    "DISCARD": _discard,
    "UNLISTEN": lambda state, text: InterceptResult(tag="UNLISTEN"),
    "LISTEN": _listen,
    "NOTIFY": _listen,
}


# asyncpg's type introspection ----------------------------------------------------------------


def _is_asyncpg_introspection(text: str) -> bool:
    normalised = " ".join(text.lower().split())
    return "with recursive typeinfo_tree(" in normalised and "pg_range" in normalised


def _type_introspection() -> InterceptResult:
    """Every type the server may send, as asyncpg's query describes a type: asyncpg builds
    codecs for those it lacks (arrays above all) and skips the rest. The OIDs are the real
    query's (oid, name, "char", oid[]): asyncpg decodes its own answer with built-in codecs."""
    by_oid = {t.oid: t for t in pgrelations.TYPES}
    rows = []
    for t in pgrelations.TYPES:
        element = by_oid.get(t.element) if t.length == -1 else None
        rows.append(
            (t.oid, "pg_catalog", t.name, t.kind, None, t.element)
            + ("," if element else None, None, None, None, 0, None)
            + (element.display if element else None, None)
        )
    oid, name, char = pgtypes.OID, pgtypes.NAME, pgtypes.CHAR
    return InterceptResult(
        columns=(
            "oid",
            "ns",
            "name",
            "kind",
            "basetype",
            "elemtype",
            "elemdelim",
            "range_subtype",
            "attrtypoids",
            "attrnames",
            "depth",
            "basetype_name",
            "elemtype_name",
            "range_subtype_name",
        ),  # fmt: skip
        oids=(oid, name, name, char, oid, oid, char, oid, 1028, 1009, pgtypes.INT4)
        + (TEXT, TEXT, TEXT),
        rows=rows,
        param_oids=(1028,),
    )


# what the rewrite needs from the session -----------------------------------------------------


def _session(state: SessionState) -> pgrewrite.Session:
    return pgrewrite.Session(
        user=state.user,
        backend_pid=state.backend_pid,
        version=VERSION_STRING,
        setting=lambda name: _setting(state, name),
        facts=lambda: _Facts(state),
    )


class _Facts:
    """pgrelations.Facts for one session, each part read when a query needs it."""

    def __init__(self, state: SessionState):
        self.state = state
        self.user = state.user

    @cached_property
    def predictors(self) -> Sequence[PredictorRow]:
        catalog = self.state.conn.engine.catalog
        return [_predictor_row(catalog, p) for p in catalog.predictors()]

    @cached_property
    def duck_types(self) -> Sequence[tuple[str, int, int]]:
        names = [
            row[0]
            for row in self.state.conn.cursor.execute(
                "SELECT DISTINCT data_type FROM duckdb_columns() "
                "WHERE database_name IN (current_database(), 'temp')"
            ).fetchall()
        ]
        names += [t for p in self.predictors for _, t, _ in p.columns]
        return [(name, *_pg_type(self.state.conn.cursor, name)) for name in dict.fromkeys(names)]

    @cached_property
    def settings(self) -> Sequence[tuple[str, str, str]]:
        return pgsettings.all_settings(self.state.settings, self.state.user)


def _predictor_row(catalog: Catalog, predictor: Predictor) -> PredictorRow:
    roles = {"target": "target", "output": "extra output", "feature": "feature"}
    columns = [
        (name, types.duckdb_type(kind), roles[role])
        for name, kind, role in catalog.columns(predictor)
    ]
    status = "" if predictor.status == "complete" else f", {predictor.status}"
    comment = f"predictor ({predictor.format}{status}): predicts {', '.join(predictor.targets)}"
    return PredictorRow(
        oid=pgrelations.synthetic_oid(PREDICTOR_BASE, predictor.project, predictor.name),
        namespace=pgrelations.synthetic_oid(PROJECT_BASE, predictor.project),
        project=predictor.project,
        name=predictor.name,
        comment=comment,
        columns=tuple(columns),
    )


_TYPE_CACHE: dict[str, tuple[int, int]] = {}
_TYPE_LOCK = threading.Lock()


def _pg_type(cursor: duckdb.DuckDBPyConnection, duck_type: str) -> tuple[int, int]:
    """(OID, typmod) a column of this DuckDB type is described with: DuckDB's Arrow type for
    it through pgtypes, as for result columns, so the catalog and RowDescription agree."""
    with _TYPE_LOCK:
        if duck_type not in _TYPE_CACHE:
            try:
                reader = cursor.execute(f"SELECT CAST(NULL AS {duck_type}) AS c")
                schema = reader.to_arrow_reader().schema
                field = pgtypes.field_of("c", schema.field("c").type)
                _TYPE_CACHE[duck_type] = (field.oid, field.typmod)
            except duckdb.Error:
                _TYPE_CACHE[duck_type] = (TEXT, -1)
        return _TYPE_CACHE[duck_type]
