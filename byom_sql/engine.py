"""Engine and Connection: own the DuckDB database and dispatch each statement.

An Engine is shared by every session (the wire server has many); each Connection has its own
DuckDB cursor, so sessions have their own transactions and temporary relations.

    statement ─┬─ ours (CREATE PREDICTOR, SHOW DATABASES …) ──► ddl
               ├─ reads a predictor ──────────────────────────► executor (planner + models)
               └─ anything else ──────────────────────────────► DuckDB, verbatim
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from byom_sql import databases, ddl, executor, guard, python_predictors
from byom_sql.catalog import Catalog
from byom_sql.dialect import Statement, parse
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.errors import Error, QueryError
from byom_sql.executor import Progress
from byom_sql.models.python import PythonRuntime
from byom_sql.models.transport import Transport
from byom_sql.result import Result, command_of, returns_rows

log = logging.getLogger(__name__)

Params = Sequence[Any] | Mapping[str, Any] | None
ROWS_PER_BATCH = 10_000


@dataclass(frozen=True)
class EngineConfig:
    """Engine-wide defaults; each predictor may override the model-call ones in USING."""

    batch_size: int = 10_000
    max_concurrency: int = 2
    timeout: float = 60.0
    train_timeout: float = 3600.0
    retries: int = 3
    read_only: bool = False
    python_models: bool = True
    """Load and run Python predictors (code from the artifact store); the server turns it on
    only with --python-models."""
    debug: bool = False
    """Put the traceback of a Python model's exception in the error message."""
    external_access: bool = True
    """False: once the catalog's databases are attached, DuckDB may not touch files or load
    extensions (read_csv('/etc/passwd'), COPY, ATTACH, INSTALL fail). Irreversible for the
    engine's lifetime; the wire server sets it for network clients."""


class Engine:
    def __init__(self, database: str = ":memory:", config: EngineConfig | None = None):
        self.config = config or EngineConfig()
        self.path = database
        with duckdb_errors():
            self._db = duckdb.connect(database, read_only=self.config.read_only)
            self.catalog = Catalog(self._db.cursor(), read_only=self.config.read_only)
        self.transport = Transport()
        self.python = PythonRuntime(
            database, self.catalog, enabled=self.config.python_models, debug=self.config.debug
        )
        self.attachments = databases.attach_all(self)
        if not self.config.external_access:
            databases.lock_down(self)
        self._closed = False
        self._lock = threading.Lock()
        self._schema_changes = itertools.count(1)
        self.schema_version = 0  # moves on after any statement that may create or drop names

    def connect(self, *, trusted: bool = True) -> Connection:
        """A session. `trusted=False` for network clients: they may use Python predictors but
        not create them."""
        if self._closed:
            raise Error("the engine is closed")
        return Connection(self, self._db.cursor(), trusted=trusted)

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
    ):
        self.engine = engine
        self.cursor = cursor
        self.trusted = trusted  # the embedding program itself, not a network client
        self.cancel = threading.Event()
        self._owns_engine = owns_engine
        self._current: Result | None = None
        self._closed = False
        self.known_tables: dict[str, tuple[int, bool]] = {}  # name → (schema_version, exists)
        self.on_progress: Callable[[Progress], None] | None = None

    def sql(self, query: str, params: Params = None) -> Result:
        """Run every statement of `query`; the result of the last one."""
        last = Result("EMPTY")
        for result in self.stream(query, params):
            last = result  # running the next statement closes the previous result
        return last

    execute = sql

    def stream(self, query: str, params: Params = None) -> Iterator[Result]:
        """One Result per statement, each run when the previous one has been taken."""
        statements = parse_script(query)
        if params and len(statements) > 1:
            raise Error("parameters can only be used with a single statement")
        for statement in statements:
            yield self.run(statement, params)

    def run(self, statement: Statement, params: Params = None) -> Result:
        if self._closed:
            raise Error("the connection is closed")
        if self._current is not None:
            self._current.close()
        self.cancel.clear()
        try:
            result = self._dispatch(statement, params)
        except Error as error:
            if error.position is not None and statement.start:
                error.position += statement.start
            raise
        finally:
            if not isinstance(statement.node, _READ_ONLY):
                self.engine.schema_version = next(self.engine._schema_changes)
        self._current = result
        return result

    def _dispatch(self, statement: Statement, params: Params) -> Result:
        node = statement.node
        if not self.trusted:
            guard.check(node, statement.sql, locked=not self.engine.config.external_access)
        if node is None:
            return self._unparsed(statement, params)
        if ddl.handles(self, node):
            return ddl.execute(self, node, params)
        node, sql = databases.bind_sources(self, node, statement.sql)
        if executor.reads_predictors(self, node):
            return executor.run_query(self, node.copy(), params)
        return self.passthrough(sql, params, node)

    def _unparsed(self, statement: Statement, params: Params) -> Result:
        """A statement only DuckDB can read; if DuckDB cannot either, its syntax error gets
        our parser's position when it gives none."""
        try:
            return self.passthrough(statement.sql, params)
        except QueryError as error:
            if error.sqlstate == "42601" and error.position is None and statement.error:
                error.position = (statement.error.position or 0) - statement.start
            raise

    def passthrough(
        self, sql: str, params: Params = None, node: exp.Expression | None = None
    ) -> Result:
        """Run a statement in DuckDB as written."""
        with duckdb_errors(sql):
            self.cursor.execute(sql, params) if params else self.cursor.execute(sql)
            description = self.cursor.description
            command = command_of(node, sql)
            if returns_rows(node, description):
                reader = self.cursor.to_arrow_reader(ROWS_PER_BATCH)
                return Result(command, reader=reader, on_close=reader.close)
            row = self.cursor.fetchone() if description else None
        count = row[0] if row and isinstance(row[0], int) else None
        return Result(command, rowcount=count)

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
        return python_predictors.create(
            self,
            name,
            model,
            predict=predict,
            dtype_dict=dtype_dict,
            artifacts=artifacts,
            replace_existing=replace,
            options=options,
        )

    def query_arrow(self, sql: str) -> pa.Table:
        """Rows of one query (which may read predictors), for internal use such as training."""
        statements = parse_script(sql)
        if len(statements) != 1:
            raise Error(f"expected one query, got {len(statements)} statements")
        return self._dispatch(statements[0], None).arrow()

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


@functools.lru_cache(maxsize=512)
def _parse_cached(query: str) -> tuple[Statement, ...]:
    return tuple(parse(query, lenient=True))


def parse_script(query: str) -> tuple[Statement, ...]:
    """Statements of a script, cached by text; callers that change a node copy it first."""
    return _parse_cached(query)
