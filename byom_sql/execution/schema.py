"""The planner's questions answered from a session's DuckDB cursor and the catalog."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
from sqlglot import exp

from byom_sql.catalog import Catalog, Predictor
from byom_sql.databases.sources import is_remote
from byom_sql.dialect import to_sql
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.planning.binding import resolve_predictor

_SHADOWS = (
    "SELECT 1 FROM duckdb_tables() WHERE lower(table_name) = lower($1) "
    "AND ((database_name = current_database() AND schema_name = current_schema()) OR temporary) "
    "UNION ALL SELECT 1 FROM duckdb_views() WHERE lower(view_name) = lower($1) AND NOT internal "
    "AND ((database_name = current_database() AND schema_name = current_schema()) OR temporary)"
)


class DuckDBSchema:
    def __init__(
        self,
        catalog: Catalog,
        cursor: duckdb.DuckDBPyConnection,
        schema_version: Callable[[], int],
    ):
        self.catalog = catalog
        self.cursor = cursor
        self.schema_version = schema_version  # moves on when a statement may create or drop names
        self._tables: dict[str, tuple[int, bool]] = {}  # name → (schema_version, exists)
        self._columns: dict[str, tuple[int, list[str]]] = {}  # SQL → (schema_version, names)

    def resolve(self, table: exp.Table) -> Predictor | None:
        return resolve_predictor(self.catalog, table, self.table_exists)

    def columns(self, query: exp.Query) -> list[str]:
        """Cached like table_exists: a JOIN's planning asks this of each data source."""
        sql = to_sql(query)
        version = self.schema_version()
        cached = self._columns.get(sql)
        if cached is not None and cached[0] == version:
            return list(cached[1])
        with duckdb_errors(sql):
            names = [row[0] for row in self.cursor.execute(f"DESCRIBE {sql}").fetchall()]
        if len(self._columns) >= 256:
            self._columns.clear()
        self._columns[sql] = (version, names)
        return list(names)

    def is_remote(self, table: exp.Table) -> bool:
        return is_remote(self.catalog, table)

    def outputs(self, predictor: Predictor) -> list[str]:
        return self.catalog.outputs(predictor)

    def table_exists(self, name: str) -> bool:
        """Whether a table or view shadows a predictor's bare name; cached until a statement
        that may create or drop names runs."""
        version = self.schema_version()
        cached = self._tables.get(name.lower())
        if cached is not None and cached[0] == version:
            return cached[1]
        with duckdb_errors():
            exists = bool(self.cursor.execute(_SHADOWS, [name]).fetchone())
        self._tables[name.lower()] = (version, exists)
        return exists
