"""byom_sql: bring your own model, query it with SQL.

import byom_sql
con = byom_sql.connect("state.duckdb")
con.sql("SELECT * FROM byom WHERE initial_price = 3000").df()
"""

from __future__ import annotations

from byom_sql.config import EngineConfig
from byom_sql.engine import Connection, Engine
from byom_sql.errors import (
    DatabaseConnectionError,
    DataError,
    DuplicateObject,
    Error,
    FeatureNotSupported,
    InsufficientPrivilege,
    InvalidOption,
    ModelCodeError,
    ModelError,
    ModelProtocolError,
    ModelUnavailable,
    QueryCanceled,
    QueryError,
    SqlSyntaxError,
    UndefinedColumn,
    UndefinedObject,
)
from byom_sql.result import Progress, Result

__version__ = "0.1.0"

__all__ = [
    "Connection",
    "DataError",
    "DatabaseConnectionError",
    "DuplicateObject",
    "Engine",
    "EngineConfig",
    "Error",
    "FeatureNotSupported",
    "InsufficientPrivilege",
    "InvalidOption",
    "ModelCodeError",
    "ModelError",
    "ModelProtocolError",
    "ModelUnavailable",
    "Progress",
    "QueryCanceled",
    "QueryError",
    "Result",
    "SqlSyntaxError",
    "UndefinedColumn",
    "UndefinedObject",
    "connect",
]


def connect(database: str = ":memory:", **config: object) -> Connection:
    """A connection to an engine of its own on `database` (a DuckDB file, or memory);
    closing the connection closes the engine. `config` sets EngineConfig fields."""
    engine = Engine(database, EngineConfig(**config))  # type: ignore[arg-type]
    return engine.connect(owns_engine=True)
