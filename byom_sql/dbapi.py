"""PEP 249 (DB-API 2.0) over the engine, for tools that expect it: pandas.read_sql, SQLAlchemy.

    from byom_sql import dbapi
    conn = dbapi.connect("home.duckdb")
    cur = conn.cursor()
    cur.execute("SELECT number_of_rooms FROM byom WHERE initial_price = ? AND rental_price = ?",
                (3000, 3000))
    cur.fetchall()

Parameters are DuckDB's: `?` or `$1` (paramstyle "qmark"). The cursors of a connection share
its session, as psycopg's do. Statements run in autocommit, as in DuckDB's own DB-API, unless
one of them is BEGIN: `commit()` and `rollback()` then end that transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa

from byom_sql.engine import Connection as Session
from byom_sql.engine import Engine, EngineConfig
from byom_sql.errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,  # noqa: A004 - PEP 249's name
)
from byom_sql.result import Result
from byom_sql.types import duckdb_type

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Connection",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Date",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Time",
    "Timestamp",
    "Warning",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections
paramstyle = "qmark"

Params = Sequence[Any] | Mapping[str, Any] | None


def connect(database: str = ":memory:", **config: Any) -> Connection:
    """A connection to an engine of its own on `database`; `config` sets EngineConfig fields."""
    return Connection(Engine(database, EngineConfig(**config)))


class Connection:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.session: Session = engine.connect()
        self._closed = False
        self.notices: list[str] = []  # psycopg2's attribute, which SQLAlchemy's PG dialects read

    def cursor(self) -> Cursor:
        self._check()
        return Cursor(self)

    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        """A shortcut, as sqlite3 has: a new cursor, executed."""
        return self.cursor().execute(operation, parameters)

    def commit(self) -> None:
        self._end("COMMIT")

    def rollback(self) -> None:
        self._end("ROLLBACK")

    def _end(self, verb: str) -> None:
        self._check()
        try:
            self.session.sql(verb)
        except OperationalError as error:  # autocommit: nothing to end
            if "no transaction is active" not in error.message:
                raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.session.close()
        self.engine.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("the connection is closed")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Cursor:
    arraysize = 1

    def __init__(self, connection: Connection):
        self.connection = connection
        self._result: Result | None = None
        self.closed = False

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        """(name, type_code, None, None, None, None, None) per column; type_code is the
        DuckDB type name, which compares equal to STRING, NUMBER, DATETIME or BINARY."""
        if self._result is None or not self._result.has_rows:
            return None
        return [
            (f.name, _TypeCode(duckdb_type(f.type)), None, None, None, None, None)
            for f in self._result.schema
        ]

    @property
    def rowcount(self) -> int:
        """Rows changed by the last INSERT/UPDATE/DELETE; -1 for queries and commands."""
        if self._result is None or self._result.has_rows:
            return -1
        return self._result.rowcount

    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        self._check()
        if self._result is not None:
            self._result.close()
        self._result = self.connection.session.sql(operation, parameters)
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Params]) -> Cursor:
        self._check()
        total = 0
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
            total += max(self.rowcount, 0)
        if self._result is not None and not self._result.has_rows:
            self._result = Result(self._result.command, rowcount=total)
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows().fetchone()

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._rows().fetchmany(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows().fetchall()

    def fetch_arrow_table(self) -> pa.Table:
        """The whole result as Arrow (not PEP 249; DuckDB's cursors have it)."""
        return self._rows().arrow()

    def setinputsizes(self, sizes: Any) -> None:
        """PEP 249: may do nothing."""

    def setoutputsize(self, size: Any, column: int | None = None) -> None:
        """PEP 249: may do nothing."""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._result is not None:
            self._result.close()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._rows())

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self) -> Result:
        self._check()
        if self._result is None or not self._result.has_rows:
            raise ProgrammingError("no rows to fetch: the last statement returned none")
        return self._result

    def _check(self) -> None:
        if self.closed:
            raise InterfaceError("the cursor is closed")
        if self.connection.closed:
            raise InterfaceError("the connection is closed")


class _TypeCode(str):
    """A DuckDB type name that equals the PEP 249 type objects it belongs to."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _TypeSet):
            return other == self
        return str.__eq__(self, other)

    __hash__ = str.__hash__


class _TypeSet(frozenset[str]):
    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            base = other.split("(")[0].split("[")[0].strip().upper()
            return base in self
        return frozenset.__eq__(self, other)

    __hash__ = frozenset.__hash__


STRING = _TypeSet({"VARCHAR", "UUID", "JSON", "ENUM"})
NUMBER = _TypeSet(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
     "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "BOOLEAN"}
)  # fmt: skip
DATETIME = _TypeSet(
    {"DATE", "TIME", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS",
     "TIMESTAMP_S", "INTERVAL", "TIME WITH TIME ZONE"}
)  # fmt: skip
BINARY = _TypeSet({"BLOB", "BIT"})
ROWID = _TypeSet({"BIGINT"})

Date = dt.date
Time = dt.time
Timestamp = dt.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> dt.date:  # noqa: N802 - PEP 249's names
    return dt.date.fromtimestamp(ticks)


def TimeFromTicks(ticks: float) -> dt.time:  # noqa: N802
    return dt.datetime.fromtimestamp(ticks).time()


def TimestampFromTicks(ticks: float) -> dt.datetime:  # noqa: N802
    return dt.datetime.fromtimestamp(ticks)
