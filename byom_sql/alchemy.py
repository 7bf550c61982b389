"""A SQLAlchemy dialect: `create_engine("byom_sql:///home.duckdb")` (or `byom_sql://` for
memory), registered by entry point, so pandas, ORMs and SQL tools run on the engine in-process.

It is duckdb_engine's DuckDB dialect (SQL generation, types, reflection of tables) over
byom_sql.dbapi, plus the predictors: each project (`mindsdb`) is a schema, each predictor a
table whose columns are its targets and its features, typed by dtype_dict.

    pip install 'byom_sql[sqlalchemy]'
"""

from __future__ import annotations

from typing import Any

from duckdb_engine import Dialect as DuckDBDialect
from sqlalchemy import pool
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import ReflectedColumn
from sqlalchemy.exc import NoSuchTableError

from byom_sql import dbapi as byom_dbapi
from byom_sql import types
from byom_sql.catalog import CATALOG_SCHEMA, Predictor


class Dialect(DuckDBDialect):
    name = "byom_sql"
    driver = "byom_sql"
    supports_statement_cache = False

    @staticmethod
    def dbapi(**kwargs: Any) -> Any:  # type: ignore[override]  # a module, as PEP 249 has it
        return byom_dbapi

    @classmethod
    def import_dbapi(cls) -> Any:
        return byom_dbapi

    def create_connect_args(self, url: URL) -> tuple[tuple[Any, ...], dict[str, Any]]:
        options = dict(url.query)
        return (), {"database": url.database or ":memory:", **options}

    @classmethod
    def get_pool_class(cls, url: URL) -> Any:
        """In memory, one connection per thread: a pool of several would be several databases."""
        if url.database in (None, "", ":memory:"):
            return pool.SingletonThreadPool
        return pool.QueuePool

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        return byom_dbapi.connect(*cargs, **cparams)

    def do_begin(self, dbapi_connection: Any) -> None:
        """Autocommit, as DuckDB's own DB-API: a BEGIN the user runs opens a transaction."""

    def do_commit(self, dbapi_connection: Any) -> None:
        dbapi_connection.commit()

    def do_rollback(self, dbapi_connection: Any) -> None:
        dbapi_connection.rollback()

    # predictors in reflection --------------------------------------------------------------

    def get_schema_names(self, connection: Any, **kw: Any) -> list[str]:
        rows = connection.exec_driver_sql(_SCHEMAS).fetchall()
        found = [row[0] for row in rows]
        return found + sorted({p.project for p in _predictors(connection)} - set(found))

    def get_table_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        rows = connection.exec_driver_sql(_TABLES, (schema or "main",)).fetchall()
        return [row[0] for row in rows] + [p.name for p in _predictors(connection, schema)]

    def has_table(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> bool:
        if _predictor(connection, table_name, schema) is not None:
            return True
        return bool(super().has_table(connection, table_name, schema, **kw))

    def get_columns(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedColumn]:
        predictor = _predictor(connection, table_name, schema)
        if predictor is not None:
            catalog = _engine_of(connection).catalog
            found = [
                (name, types.duckdb_type(kind), True, None)
                for name, kind, _ in catalog.columns(predictor)
            ]
        else:
            found = connection.exec_driver_sql(_COLUMNS, (schema or "main", table_name)).fetchall()
            if not found:
                raise NoSuchTableError(table_name)
        return [
            {"name": name, "type": self._type_of(kind), "nullable": nullable, "default": default}
            for name, kind, nullable, default in found
        ]

    def get_multi_columns(
        self,
        connection: Any,
        schema: str | None = None,
        filter_names: Any = None,
        scope: Any = None,
        kind: Any = None,
        **kw: Any,
    ) -> list[Any]:
        names = filter_names or self.get_table_names(connection, schema)
        return [((schema, n), self.get_columns(connection, n, schema)) for n in names]

    def get_pk_constraint(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> Any:
        if _predictor(connection, table_name, schema) is not None:
            return {"constrained_columns": [], "name": None}
        return super().get_pk_constraint(connection, table_name, schema, **kw)  # type: ignore[no-untyped-call]

    def get_foreign_keys(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> Any:
        if _predictor(connection, table_name, schema) is not None:
            return []
        return super().get_foreign_keys(connection, table_name, schema, **kw)  # type: ignore[no-untyped-call]

    def _type_of(self, duck_type: str) -> sqltypes.TypeEngine[Any]:
        base = duck_type.split("(")[0].lower()
        found = self.ischema_names.get(_PG_NAMES.get(base, base))
        return found() if found is not None else sqltypes.NullType()


# reflection reads DuckDB's own catalog (duckdb_engine's pg_catalog queries need tables DuckDB
# lacks); the engine's catalog schema is not shown
_SCHEMAS = (
    "SELECT DISTINCT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
    f"AND schema_name NOT IN ('{CATALOG_SCHEMA}', 'pg_catalog') ORDER BY 1"
)
_TABLES = (
    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
    "AND schema_name = ? ORDER BY table_name"
)
_COLUMNS = (
    "SELECT column_name, data_type, is_nullable, column_default FROM duckdb_columns() "
    "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? "
    "ORDER BY column_index"
)
_PG_NAMES = {"double": "double precision", "float": "real", "blob": "bytea", "hugeint": "numeric"}


def _engine_of(connection: Any) -> Any:
    raw = connection.connection.dbapi_connection
    return raw.engine


def _predictors(connection: Any, schema: str | None = None) -> list[Predictor]:
    found = _engine_of(connection).catalog.predictors()
    if schema is None:
        return [p for p in found if p.project == "mindsdb"]
    return [p for p in found if p.project == schema]


def _predictor(connection: Any, name: str, schema: str | None) -> Predictor | None:
    return next((p for p in _predictors(connection, schema) if p.name == name), None)
