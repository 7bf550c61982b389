"""What is there to name: tables and their columns, attached databases, predictors. Asked in
SQL through the backend (information_schema, which DuckDB and PostgreSQL both have, and our
SHOW/DESCRIBE), so it works the same in process and over the wire."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from byom_sql.catalog import CATALOG_SCHEMA
from byom_sql.cli.backends import Backend, Row
from byom_sql.errors import Error
from byom_sql.sqlbuild import quote, quote_string

log = logging.getLogger(__name__)

# the user's relations: not the system catalogs, not our own catalog schema
USER_RELATIONS = (
    f"table_schema NOT IN ('information_schema', 'pg_catalog', '{CATALOG_SCHEMA}') "
    "AND table_catalog <> 'system' AND table_schema NOT LIKE 'pg!_%' ESCAPE '!'"
)
# tables, views and predictors, as the server's pg_class lists them to psql's \dt
TABLES = (
    "SELECT * FROM (SELECT table_catalog AS database, table_schema AS schema, "
    "table_name AS name, CASE table_type WHEN 'BASE TABLE' THEN 'table' WHEN 'VIEW' THEN "
    "'view' ELSE lower(table_type) END AS type FROM information_schema.tables WHERE "
    f"{USER_RELATIONS} UNION ALL SELECT current_database(), project, name, 'predictor' "
    "FROM mindsdb.models) AS relations WHERE true{pattern} ORDER BY 1, 2, 3"
)
DATABASES = (
    "SELECT catalog_name AS database, string_agg(schema_name, ', ' ORDER BY schema_name) "
    "AS schemas FROM information_schema.schemata WHERE catalog_name NOT IN ('system', 'temp') "
    f"AND schema_name NOT IN ('information_schema', 'pg_catalog', '{CATALOG_SCHEMA}') "
    "AND schema_name NOT LIKE 'pg!_%' ESCAPE '!' GROUP BY 1 ORDER BY 1"
)
_COLUMNS = (
    "SELECT table_catalog, table_schema, table_name, column_name FROM information_schema.columns "
    f"WHERE {USER_RELATIONS} ORDER BY 1, 2, 3, ordinal_position"
)
_PREDICTORS = "SELECT project, name, predict FROM mindsdb.models ORDER BY 1, 2"
_MAX_DESCRIBED = 50  # predictors whose features are looked up for completion


def tables_query(pattern: str | None) -> str:
    """TABLES, filtered by a name pattern where * is any text (psql's \\dt pattern)."""
    if not pattern:
        return TABLES.format(pattern="")
    like = quote_string(pattern.replace("*", "%"))
    return TABLES.format(pattern=f" AND lower(name) LIKE lower({like})")


@dataclass
class Names:
    """Everything completion can offer besides keywords."""

    relations: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    predictors: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)

    def schemas(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for database, schema, _ in self.relations:
            found.setdefault(database, set()).add(schema)
        return found


def load_names(backend: Backend) -> Names:
    """Ask the backend; what it cannot answer (a plain PostgreSQL has no predictors) stays
    empty."""
    names = Names()
    for row in _rows(backend, _COLUMNS):
        names.relations.setdefault((row[0], row[1], row[2]), []).append(row[3])
    names.databases = [row[0] for row in _rows(backend, DATABASES)]
    for project, name, predict in _rows(backend, _PREDICTORS):
        names.predictors[(project, name)] = _split(predict)
    for project, name in list(names.predictors)[:_MAX_DESCRIBED]:
        described: dict[str, object] = dict(
            _rows(backend, f"DESCRIBE {quote(project)}.{quote(name)}")
        )
        names.predictors[(project, name)] += _split(described.get("features"))
    return names


def _split(text: object) -> list[str]:
    return [part.strip() for part in str(text or "").split(",") if part.strip()]


def _rows(backend: Backend, sql: str) -> list[Row]:
    try:
        rows: list[Row] = []
        for outcome in backend.execute(sql):
            rows = list(outcome.rows or [])
        return rows
    except Error as error:
        log.debug("introspection failed: %s: %s", sql, error)
        return []
