"""Engine and Connection: own the DuckDB database and dispatch each statement.

An Engine is shared by every session (the wire server has many); each Connection has its own
DuckDB cursor, so sessions have their own transactions and temporary relations.

    statement ─┬─ ours (CREATE PREDICTOR, SHOW DATABASES …) ──► statements
               ├─ reads a predictor ──────────────────────────► planning → execution
               └─ anything else ──────────────────────────────► DuckDB, verbatim

A Connection is the `Session` statement handlers and executors see (session.py).
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import duckdb
from sqlglot import exp

from byom_sql import guard
from byom_sql.catalog import Catalog, Predictor
from byom_sql.config import EngineConfig
from byom_sql.databases.attachments import Attachments, attach_all, lock_down
from byom_sql.dialect import Statement, check_text, parse, too_complex
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.errors import Error, QueryError, SqlSyntaxError
from byom_sql.execution import direct
from byom_sql.execution.explain import explained
from byom_sql.execution.schema import DuckDBSchema
from byom_sql.models.calls import CallLog
from byom_sql.models.hosts import ModelHosts
from byom_sql.models.python import PythonRuntime
from byom_sql.models.transport import Transport
from byom_sql.planning.binding import Params, reads_predictors
from byom_sql.planning.plan import Plans
from byom_sql.planning.planner import Schema
from byom_sql.result import Progress, Result
from byom_sql.secrets import SecretStore
from byom_sql.statements import execute, handles, python

log = logging.getLogger(__name__)
__all__ = ["Connection", "Engine", "EngineConfig", "Params", "parse_script"]


class Engine:
    def __init__(self, database: str = ":memory:", config: EngineConfig | None = None):
        self.config = config or EngineConfig()
        self.path = database
        with duckdb_errors():
            limit = self.config.memory_limit
            settings: dict[str, str | bool | int | float | list[str]] = (
                {"memory_limit": limit} if limit is not None else {}
            )
            self._db = duckdb.connect(database, read_only=self.config.read_only, config=settings)
            secrets = SecretStore(database, read_only=self.config.read_only)
            self.catalog = Catalog(self._db.cursor(), secrets, read_only=self.config.read_only)
            self.attachments: Attachments = attach_all(self.catalog, self._db.cursor())
        self.transport = Transport(
            hosts=ModelHosts(self.config.model_hosts),
            follow_redirects=self.config.follow_redirects,
        )
        self.calls = CallLog(self.config.call_log_size)
        self.python = PythonRuntime(
            database, self.catalog, enabled=self.config.python_models, debug=self.config.debug
        )
        if not self.config.external_access:
            lock_down(self.attachments, self.catalog)
        self._closed = False
        self._scopes: dict[str, str] | None = None
        self._lock = threading.Lock()
        self._schema_changes = itertools.count(1)
        self.schema_version = 0  # moves on after any statement that may create or drop names

    def connect(
        self, *, trusted: bool = True, read_only: bool = False, owns_engine: bool = False
    ) -> Connection:
        """A session. `trusted=False` for network clients: they may use Python predictors but
        not create them, nor change engine-wide settings; `read_only` ones may only read (see
        guard.py). With `owns_engine`, closing the session closes the engine."""
        if self._closed:
            raise Error("the engine is closed")
        with duckdb_errors():
            cursor = self._db.cursor()
        return Connection(
            self, cursor, trusted=trusted, read_only=read_only, owns_engine=owns_engine
        )

    def setting_scope(self, name: str) -> str | None:
        """GLOBAL or LOCAL: whether a DuckDB setting is the engine's or a session's."""
        if self._scopes is None:
            with duckdb_errors():
                rows = self._db.execute("SELECT name, scope FROM duckdb_settings()").fetchall()
            self._scopes = {str(n).lower(): str(s) for n, s in rows}
        return self._scopes.get(name.lower())

    def lock_down(self, allowed_directories: Sequence[str] = ()) -> None:
        """Turn DuckDB's external access off for good (see databases.attachments)."""
        lock_down(self.attachments, self.catalog, allowed_directories)

    def schema_changed(self) -> None:
        self.schema_version = next(self._schema_changes)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.transport.close()
        self.python.close()
        self._db.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Connection:
    """One session: run SQL, get Results. Not for use from two threads at once, except
    `interrupt()`, which is meant to be called from another thread."""

    def __init__(
        self,
        engine: Engine,
        cursor: duckdb.DuckDBPyConnection,
        *,
        owns_engine: bool = False,
        trusted: bool = True,
        read_only: bool = False,
    ):
        self.engine = engine
        self.cursor = cursor
        self.trusted = trusted  # the embedding program itself, not a network client
        self.read_only = read_only  # a network client that may only read
        self.cancel = threading.Event()
        self.catalog = engine.catalog
        self.attachments = engine.attachments
        self.config = engine.config
        self.transport = engine.transport
        self.python = engine.python
        self.calls = engine.calls
        self.schema: Schema = DuckDBSchema(engine.catalog, cursor, lambda: engine.schema_version)
        self.plans = Plans(64, lambda: engine.schema_version)
        self.on_progress: Callable[[Progress], None] | None = None
        self._owns_engine = owns_engine
        self._current: Result | None = None
        self._closed = False

    def sql(self, query: str, params: Params = None) -> Result:
        """Run every statement of `query`; the result of the last one."""
        last = Result("EMPTY")
        for result in self.stream(query, params):
            last.close()  # only the last one is given back: no need to keep the rows of others
            last = result
        return last

    execute = sql

    def stream(self, query: str, params: Params = None) -> Iterator[Result]:
        """One Result per statement, each run when the previous one has been taken."""
        self.cancel.clear()
        statements = parse_script(query, self.cancel)
        if params and len(statements) > 1:
            raise Error("parameters can only be used with a single statement")
        for statement in statements:
            yield self.run(statement, params)

    def run(self, statement: Statement, params: Params = None) -> Result:
        if self._closed:
            raise Error("the connection is closed")
        if self._current is not None:
            self._current.detach()  # the cursor is needed: the earlier result keeps its rows
        for value in _values(params):
            if isinstance(value, str):
                check_text(value)
        self.cancel.clear()
        try:
            try:
                result = self._dispatch(statement, params)
            except RecursionError:
                raise too_complex() from None
        except Error as error:
            if error.position is not None and statement.start:
                error.position += statement.start
            raise
        finally:
            if not isinstance(statement.node, _READ_ONLY):
                self.engine.schema_changed()
        self._current = result
        return result

    def _dispatch(self, statement: Statement, params: Params) -> Result:
        node = statement.node
        if not self.trusted:
            guard.check(
                node,
                statement.sql,
                locked=not self.engine.config.external_access,
                read_only=self.read_only,
                scope=self.engine.setting_scope,
            )
        if node is None:
            return self._unparsed(statement, params)
        if handles(self, node):
            return execute(self, node)
        if (found := explained(node, self.cancel)) is not None:
            return self._explain(*found, params)
        return direct.run(self, node, statement.sql, params)

    def _explain(self, analyze: bool, inner: Statement | None, params: Params) -> Result:
        if inner is None or inner.node is None or handles(self, inner.node):
            raise SqlSyntaxError(
                "EXPLAIN takes one query: EXPLAIN [ANALYZE] SELECT …",
                hint="byom_sql's own statements (CREATE PREDICTOR …) cannot be explained",
            )
        if analyze and not self.trusted:  # ANALYZE runs it: the same rules as running it
            guard.check(
                inner.node,
                inner.sql,
                locked=not self.engine.config.external_access,
                read_only=self.read_only,
                scope=self.engine.setting_scope,
            )
        return direct.explain(self, inner.node, inner.sql, params, analyze=analyze)

    def _unparsed(self, statement: Statement, params: Params) -> Result:
        """A statement only DuckDB can read; if DuckDB cannot either, its syntax error gets
        our parser's position when it gives none."""
        try:
            return direct.run_sql(self.cursor, statement.sql, params)
        except QueryError as error:
            if error.sqlstate == "42601" and error.position is None and statement.error:
                error.position = (statement.error.position or 0) - statement.start
            raise

    def create_predictor(
        self,
        name: str,
        model: Any,
        *,
        predict: str | Sequence[str] = "prediction",
        dtype_dict: Mapping[str, str] | None = None,
        artifacts: Mapping[str, Any] | None = None,
        replace: bool = False,
        **options: Any,
    ) -> Result:
        """Register a Python model as predictor `name` (`project.name` also works): a function,
        an object with predict / predict_batches, or a class built once with `artifacts`.
        `options` are the USING options that apply (batch_size, max_concurrency). The model is
        saved in the artifact store beside the database file."""
        return python.create(
            self,
            name,
            model,
            predict=predict,
            dtype_dict=dtype_dict,
            artifacts=artifacts,
            replace_existing=replace,
            options=options,
        )

    def predictor(self, table: exp.Table) -> Predictor | None:
        """The predictor a table reference names, if it names one."""
        return self.schema.resolve(table)

    def reads_predictors(self, node: exp.Expr) -> bool:
        return reads_predictors(self.catalog, node, self.schema.resolve)

    def is_ours(self, node: exp.Expr) -> bool:
        """Whether the statement is one of byom_sql's own (CREATE PREDICTOR, DESCRIBE byom …)."""
        return handles(self, node)

    def report(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)

    def interrupt(self) -> None:
        """Cancel the running statement: DuckDB work and model calls (SQLSTATE 57014)."""
        self.cancel.set()
        self.cursor.interrupt()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._current is not None:
            self._current.close()
        self.cursor.close()
        if self._owns_engine:
            self.engine.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_READ_ONLY = (exp.Query, exp.Describe, exp.Show)


def _values(params: Params) -> list[Any]:
    if params is None:
        return []
    return list(params.values()) if isinstance(params, Mapping) else list(params)


_PARSED: collections.OrderedDict[str, tuple[Statement, ...]] = collections.OrderedDict()
_PARSED_LOCK = threading.Lock()
CACHED_SCRIPTS = 512
CACHED_LENGTH = 16 * 1024  # longer scripts (a bulk load) are parsed each time, not kept


def parse_script(query: str, cancel: threading.Event | None = None) -> tuple[Statement, ...]:
    """Statements of a script, cached by text; callers that change a node copy it first."""
    with _PARSED_LOCK:
        if (cached := _PARSED.get(query)) is not None:
            _PARSED.move_to_end(query)
            return cached
    statements = tuple(parse(query, lenient=True, cancel=cancel))
    if len(query) <= CACHED_LENGTH:
        with _PARSED_LOCK:
            _PARSED[query] = statements
            if len(_PARSED) > CACHED_SCRIPTS:
                _PARSED.popitem(last=False)
    return statements
