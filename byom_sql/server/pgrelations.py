"""The pg_catalog relations Postgres clients read, as DuckDB SQL over DuckDB's own catalog.

DuckDB's pg_catalog has a few of these with DuckDB's type ids, and objects cannot be created
in it, so each relation a client names becomes a CTE `__pg_<name>` of the rewritten query
(pgrewrite.py). Every relation has the columns, in order, of the real one (pg_catalog.txt,
read from a PostgreSQL server); the ones with rows select them from DuckDB's catalog functions
(duckdb_tables(), duckdb_columns() …) and from `Facts` the session supplies (predictors, the
Postgres type of each DuckDB type, the session's settings). Others are empty.

What a client sees: the schemas of the database DuckDB has open (plus `pg_temp_1` for the
session's temporary tables, `pg_catalog` and `information_schema`), their tables (relkind
'r') and views ('v'), every predictor as a relation 'r' of its project's schema (`mindsdb`)
with its targets, extra outputs and features as columns, and real Postgres type OIDs. OIDs of
DuckDB objects are DuckDB's own; predictors and constraints get stable synthetic ones.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from sqlglot import exp

from byom_sql.catalog import CATALOG_SCHEMA
from byom_sql.dialect import to_sql

PG_CATALOG = 11
CLASS_OID = 1259  # pg_class's own oid: pg_description.classoid of relations and columns
NAMESPACE_OID = 2615

# Postgres catalog column types → the DuckDB type of the emulated column
DUCKDB_TYPES = {
    "oid": "BIGINT",
    "regproc": "BIGINT",
    "regtype": "BIGINT",
    "xid": "BIGINT",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "float8": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamptz": "TIMESTAMPTZ",
    "interval": "INTERVAL",
    "bytea": "BLOB",
    "oid[]": "BIGINT[]",
    "oidvector": "BIGINT[]",
    "regtype[]": "BIGINT[]",
    "smallint[]": "SMALLINT[]",
    "int2vector": "SMALLINT[]",
}


@dataclass(frozen=True)
class Relation:
    oid: int
    kind: str  # relkind: 'r' table, 'v' view
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, Postgres type), in order


@dataclass(frozen=True)
class PgType:
    oid: int
    name: str
    length: int
    by_value: bool
    kind: str  # typtype
    category: str
    preferred: bool
    element: int
    array: int
    collation: int
    display: str  # format_type(oid, NULL)


def _lines(filename: str) -> list[list[str]]:
    text = resources.files("byom_sql.server").joinpath(filename).read_text()
    return [line.split("|") for line in text.splitlines() if line and not line.startswith("#")]


def _relation(oid: str, kind: str, name: str, columns: str) -> Relation:
    pairs = tuple(tuple(c.strip().split(" ", 1)) for c in columns.split(","))
    return Relation(int(oid), kind, name, pairs)  # type: ignore[arg-type]


RELATIONS = {r.name: r for r in (_relation(*fields) for fields in _lines("pg_catalog.txt"))}
TYPES = [
    PgType(int(o), n, int(ln), bv == "t", k, c, p == "t", int(e), int(a), int(co), d)
    for o, n, ln, bv, k, c, p, _delim, e, a, co, d in _lines("pg_types.txt")
]


@dataclass(frozen=True)
class PredictorRow:
    oid: int
    namespace: int  # a synthetic oid, used when no DuckDB schema has the project's name
    project: str
    name: str
    comment: str
    columns: tuple[tuple[str, str, str], ...]  # (name, DuckDB type, comment)


class Facts(Protocol):
    """What the SQL cannot read from DuckDB itself, as the session sees it now."""

    user: str

    @property
    def predictors(self) -> Sequence[PredictorRow]: ...

    @property
    def duck_types(self) -> Sequence[tuple[str, int, int]]:
        """(DuckDB type text, Postgres OID, typmod)"""

    @property
    def settings(self) -> Sequence[tuple[str, str, str]]:
        """(name, value, description)"""


def synthetic_oid(base: int, *names: str) -> int:
    """A stable OID for an object DuckDB has no oid for, far above DuckDB's own."""
    return base + zlib.crc32(".".join(names).lower().encode()) % 100_000_000


PREDICTOR_BASE, PROJECT_BASE = 1_100_000_000, 1_000_000_000


# helper relations: what several pg_catalog relations are built from ------------------------

_IN_SESSION = "database_name IN (current_database(), 'temp')"
_SHOWN = f"(database_name = 'temp' OR schema_name <> '{CATALOG_SCHEMA}')"

HELPERS: dict[str, str] = {
    "__pg_schemas": f"""
        SELECT oid, CASE WHEN database_name = 'temp' THEN 'pg_temp_1' ELSE schema_name END
                 AS nspname, comment
        FROM duckdb_schemas() WHERE {_IN_SESSION} AND {_SHOWN}
        UNION ALL SELECT {PG_CATALOG}, 'pg_catalog', NULL
        UNION ALL SELECT oid, schema_name, NULL FROM duckdb_schemas()
        WHERE database_name = 'system' AND schema_name = 'information_schema'
        UNION ALL SELECT DISTINCT p.namespace, p.project, NULL FROM __pg_predictors AS p
        WHERE p.project NOT IN (SELECT schema_name FROM duckdb_schemas()
                                WHERE database_name = current_database())""",
    "__pg_rel": f"""
        SELECT table_oid AS oid, schema_oid AS nsp, table_name AS name, 'r' AS kind,
               CASE WHEN temporary THEN 't' ELSE 'p' END AS persistence,
               column_count AS ncols, estimated_size AS tuples, comment, NULL AS definition,
               database_name = 'temp' OR list_contains(current_schemas(true), schema_name)
                 AS visible
        FROM duckdb_tables() WHERE {_IN_SESSION} AND {_SHOWN} AND NOT internal
        UNION ALL
        SELECT view_oid, schema_oid, view_name, 'v', CASE WHEN temporary THEN 't' ELSE 'p' END,
               column_count, NULL, comment, sql,
               database_name = 'temp' OR list_contains(current_schemas(true), schema_name)
        FROM duckdb_views() WHERE {_IN_SESSION} AND {_SHOWN} AND NOT internal
        UNION ALL
        SELECT p.oid, coalesce(s.oid, p.namespace), p.name, 'r', 'p', p.ncols, NULL, p.comment,
               NULL, p.project = 'mindsdb'
        FROM __pg_predictors AS p LEFT JOIN duckdb_schemas() AS s
          ON s.database_name = current_database() AND s.schema_name = p.project
        UNION ALL
        SELECT indexoid, nsp, conname, 'i', 'p', len(conkey), NULL, NULL, NULL, true
        FROM __pg_keys WHERE contype <> 'f'
        UNION ALL
        SELECT oid, {PG_CATALOG}, name, kind, 'p', ncols, NULL, NULL, NULL, true
        FROM __pg_catalog_relations""",
    "__pg_regclass": """
        SELECT r.oid, r.name AS relname, n.nspname || '.' || r.name AS qualname,
               CASE WHEN r.visible THEN r.name ELSE n.nspname || '.' || r.name END AS display
        FROM __pg_rel AS r JOIN __pg_schemas AS n ON n.oid = r.nsp""",
    "__pg_att": f"""
        SELECT table_oid AS attrelid, column_index AS attnum, column_name AS attname,
               data_type, NOT is_nullable AS not_null, column_default AS defexpr, comment
        FROM duckdb_columns() WHERE {_IN_SESSION} AND {_SHOWN} AND NOT internal
        UNION ALL
        SELECT attrelid, attnum, attname, data_type, false, NULL, comment
        FROM __pg_predictor_columns""",
    "__pg_att_types": """
        SELECT a.*, coalesce(d.oid, 25) AS typid, coalesce(d.typmod, -1) AS typmod,
               t.typlen, t.typbyval, t.typcategory, t.typcollation
        FROM __pg_att AS a LEFT JOIN __pg_duck_types AS d ON d.data_type = a.data_type
        LEFT JOIN __pg_types AS t ON t.oid = coalesce(d.oid, 25)""",
    "__pg_keys": """
        SELECT 3000000000 + k.table_oid * 1024 + k.constraint_index * 2 AS oid,
               k.constraint_name AS conname, k.schema_oid AS nsp,
               CASE k.constraint_type WHEN 'PRIMARY KEY' THEN 'p' WHEN 'UNIQUE' THEN 'u'
                    ELSE 'f' END AS contype,
               k.table_oid AS conrelid,
               list_transform(k.constraint_column_indexes, i -> CAST(i + 1 AS SMALLINT))
                 AS conkey,
               r.table_oid AS confrelid, k.constraint_text AS def,
               3000000000 + k.table_oid * 1024 + k.constraint_index * 2 + 1 AS indexoid,
               'CREATE UNIQUE INDEX ' || k.constraint_name || ' ON ' || k.schema_name || '.'
                 || k.table_name || ' USING btree ('
                 || array_to_string(k.constraint_column_names, ', ') || ')' AS indexdef
        FROM duckdb_constraints() AS k LEFT JOIN duckdb_tables() AS r
          ON k.constraint_type = 'FOREIGN KEY' AND r.database_name = k.database_name
         AND r.schema_name = k.schema_name AND r.table_name = k.referenced_table
        WHERE k.database_name IN (current_database(), 'temp')
          AND k.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')""",
    "__pg_proc_info": """
        SELECT f.function_oid AS oid, f.function_name AS name, s.oid AS nsp,
               f.function_type = 'table_macro' AS retset,
               CASE WHEN f.function_type = 'table_macro' THEN 'TABLE'
                    ELSE coalesce(f.return_type, 'any') END AS result,
               array_to_string(f.parameters, ', ') AS arguments,
               len(f.parameters) AS nargs, f.parameters, f.macro_definition AS src,
               'CREATE OR REPLACE MACRO ' || f.schema_name || '.' || f.function_name || '('
                 || array_to_string(f.parameters, ', ') || ') AS '
                 || CASE WHEN f.function_type = 'table_macro' THEN 'TABLE ' ELSE '' END
                 || coalesce(f.macro_definition, '') || chr(10) AS definition
        FROM duckdb_functions() AS f JOIN duckdb_schemas() AS s
          ON s.database_name = f.database_name AND s.schema_name = f.schema_name
        WHERE NOT f.internal AND f.database_name IN (current_database(), 'temp')""",
}

# the populated pg_catalog relations: (FROM clause, column → expression); other columns get
# the neutral value of their type (false, 0, NULL), so NOT attisdropped and friends hold
ROWS: dict[str, tuple[str, dict[str, str]]] = {
    "pg_namespace": ("__pg_schemas", {"oid": "oid", "nspname": "nspname", "nspowner": "10"}),
    "pg_class": (
        "__pg_rel",
        {
            "oid": "oid",
            "relname": "name",
            "relnamespace": "nsp",
            "relowner": "10",
            "relam": "CASE kind WHEN 'r' THEN 2 WHEN 'i' THEN 403 ELSE 0 END",
            "relhasindex": "oid IN (SELECT conrelid FROM __pg_keys WHERE contype <> 'f')",
            "reltuples": "coalesce(tuples, -1)",
            "relpersistence": "persistence",
            "relkind": "kind",
            "relnatts": "ncols",
            "relispopulated": "true",
            "relreplident": "'d'",
        },
    ),
    "pg_attribute": (
        "__pg_att_types",
        {
            "attrelid": "attrelid",
            "attname": "attname",
            "atttypid": "typid",
            "attstattarget": "-1",
            "attlen": "typlen",
            "attnum": "attnum",
            "attndims": "CASE typcategory WHEN 'A' THEN 1 ELSE 0 END",
            "attcacheoff": "-1",
            "atttypmod": "typmod",
            "attbyval": "typbyval",
            "attalign": "'i'",
            "attstorage": "CASE typlen WHEN -1 THEN 'x' ELSE 'p' END",
            "attcompression": "''",
            "attnotnull": "not_null",
            "atthasdef": "defexpr IS NOT NULL",
            "attidentity": "''",
            "attgenerated": "''",
            "attislocal": "true",
            "attcollation": "typcollation",
        },
    ),
    "pg_attrdef": (
        "__pg_att WHERE defexpr IS NOT NULL",
        {
            "oid": "attrelid * 1000 + attnum",
            "adrelid": "attrelid",
            "adnum": "attnum",
            "adbin": "defexpr",
        },
    ),
    "pg_description": (
        f"""(SELECT oid AS objoid, {CLASS_OID} AS classoid, 0 AS objsubid, comment FROM __pg_rel
             UNION ALL SELECT attrelid, {CLASS_OID}, attnum, comment FROM __pg_att
             UNION ALL SELECT oid, {NAMESPACE_OID}, 0, comment FROM __pg_schemas)
            WHERE comment IS NOT NULL""",
        {
            "objoid": "objoid",
            "classoid": "classoid",
            "objsubid": "objsubid",
            "description": "comment",
        },
    ),
    "pg_type": (
        "__pg_types",
        {
            **{c: c for c in ("oid", "typname", "typlen", "typbyval", "typtype", "typcategory")},
            **{c: c for c in ("typispreferred", "typelem", "typarray", "typcollation")},
            "typnamespace": str(PG_CATALOG),
            "typowner": "10",
            "typisdefined": "true",
            "typdelim": "','",
            "typalign": "CASE WHEN typlen = 8 THEN 'd' WHEN typlen = 2 THEN 's' ELSE 'i' END",
            "typstorage": "CASE typlen WHEN -1 THEN 'x' ELSE 'p' END",
            "typtypmod": "-1",
        },
    ),
    "pg_database": (
        "duckdb_databases() WHERE NOT internal",
        {
            "oid": "database_oid",
            "datname": "database_name",
            "datdba": "10",
            "encoding": "6",
            "datlocprovider": "'c'",
            "datallowconn": "true",
            "datconnlimit": "-1",
            "dattablespace": "1663",
            "datcollate": "'C'",
            "datctype": "'C'",
        },
    ),
    "pg_proc": (
        "__pg_proc_info",
        {
            "oid": "oid",
            "proname": "name",
            "pronamespace": "nsp",
            "proowner": "10",
            "prolang": "14",
            "procost": "100",
            "prokind": "'f'",
            "proretset": "retset",
            "provolatile": "'v'",
            "proparallel": "'u'",
            "pronargs": "nargs",
            "proargnames": "parameters",
            "prosrc": "src",
        },
    ),
    "pg_constraint": (
        "__pg_keys",
        {
            **{c: c for c in ("oid", "conname", "contype", "conrelid", "conkey", "confrelid")},
            "connamespace": "nsp",
            "convalidated": "true",
            "conindid": "CASE WHEN contype = 'f' THEN 0 ELSE indexoid END",
            "confupdtype": "CASE WHEN contype = 'f' THEN 'a' ELSE ' ' END",
            "confdeltype": "CASE WHEN contype = 'f' THEN 'a' ELSE ' ' END",
            "confmatchtype": "CASE WHEN contype = 'f' THEN 's' ELSE ' ' END",
            "conislocal": "true",
            "connoinherit": "true",
        },
    ),
    "pg_index": (
        "__pg_keys WHERE contype <> 'f'",
        {
            "indexrelid": "indexoid",
            "indrelid": "conrelid",
            "indnatts": "len(conkey)",
            "indnkeyatts": "len(conkey)",
            "indisunique": "true",
            "indisprimary": "contype = 'p'",
            "indimmediate": "true",
            "indisvalid": "true",
            "indisready": "true",
            "indislive": "true",
            "indkey": "conkey",
            "indoption": "list_transform(conkey, k -> CAST(0 AS SMALLINT))",
        },
    ),
    "pg_tables": (
        "__pg_rel AS c JOIN __pg_schemas AS n ON n.oid = c.nsp, __pg_session WHERE c.kind = 'r'",
        {"schemaname": "n.nspname", "tablename": "c.name", "tableowner": "__user"},
    ),
    "pg_views": (
        "__pg_rel AS c JOIN __pg_schemas AS n ON n.oid = c.nsp, __pg_session WHERE c.kind = 'v'",
        {
            "schemaname": "n.nspname",
            "viewname": "c.name",
            "viewowner": "__user",
            "definition": "c.definition",
        },
    ),
    "pg_settings": (
        "__pg_settings_now",
        {
            "name": "name",
            "setting": "setting",
            "category": "'Client Connection Defaults'",
            "short_desc": "description",
            "context": "'user'",
            "vartype": "'string'",
            "source": "'session'",
            "boot_val": "setting",
            "reset_val": "setting",
        },
    ),
    "pg_am": (
        "(VALUES (2, 'heap', 't'), (403, 'btree', 'i'), (405, 'hash', 'i')) AS a(oid, n, t)",
        {"oid": "oid", "amname": "n", "amtype": "t"},
    ),
    "pg_collation": (
        "(VALUES (100, 'default', 'd'), (950, 'C', 'c'), (951, 'POSIX', 'c')) AS c(oid, n, p)",
        {
            "oid": "oid",
            "collname": "n",
            "collnamespace": str(PG_CATALOG),
            "collowner": "10",
            "collprovider": "p",
            "collisdeterministic": "true",
            "collencoding": "-1",
        },
    ),
    "pg_tablespace": (
        "(VALUES (1663, 'pg_default'), (1664, 'pg_global')) AS t(oid, n)",
        {"oid": "oid", "spcname": "n", "spcowner": "10"},
    ),
}
_ROLE = {
    "oid": "10",
    "rolname": "__user",
    "usename": "__user",
    "usesysid": "10",
    **{c: "true" for c in ("rolsuper", "rolinherit", "rolcreaterole", "rolcreatedb")},
    **{c: "true" for c in ("rolcanlogin", "usecreatedb", "usesuper")},
    "rolconnlimit": "-1",
    "rolpassword": "'********'",
    "passwd": "'********'",
}
for _name in ("pg_roles", "pg_user", "pg_authid", "pg_shadow"):
    ROWS[_name] = ("__pg_session", _ROLE)


# the columns scalar lookups read (pgrewrite.py): each relation's lookup CTE renames them
# `__<column>`, so they never hide a column of the client's query
LOOKUPS = {
    "__pg_types": ("oid", "typname", "display"),
    "__pg_rel": ("oid", "visible", "definition"),
    "__pg_regclass": ("oid", "relname", "qualname", "display"),
    "__pg_schemas": ("oid", "nspname"),
    "__pg_proc_info": ("oid", "name", "result", "arguments", "definition"),
    "__pg_keys": ("oid", "def", "indexoid", "indexdef"),
    "__pg_description": ("objoid", "objsubid", "description"),
    "__pg_settings_now": ("name", "setting"),
}


def lookup_name(relation: str) -> str:
    return f"{relation}_lookup"


# building the CTEs -------------------------------------------------------------------------


def cte_name(name: str) -> str:
    return f"__{name}"


def ctes(names: Iterable[str], facts: Facts) -> list[tuple[str, str]]:
    """(CTE name, DuckDB query) of each relation or helper named and of what it reads, in
    the order a WITH clause needs them (dependencies first)."""
    ordered: list[str] = []
    for name in names:
        _visit(name, ordered)
    return [(name, _sql(name, facts)) for name in ordered]


def _visit(name: str, ordered: list[str]) -> None:
    if name in ordered:
        return
    for dependency in _dependencies(name):
        _visit(dependency, ordered)
    ordered.append(name)


@functools.cache
def _dependencies(name: str) -> tuple[str, ...]:
    if name.endswith("_lookup"):
        return (name.removesuffix("_lookup"),)
    text = HELPERS.get(name) or str(ROWS.get(name.removeprefix("__"), ""))
    return tuple(dict.fromkeys(n for n in re.findall(r"\b__pg_\w+", text) if n != name))


def _sql(name: str, facts: Facts) -> str:
    if name.endswith("_lookup"):
        relation = name.removesuffix("_lookup")
        fields = ", ".join(f"{column} AS __{column}" for column in LOOKUPS[relation])
        return f"SELECT {fields} FROM {relation}"
    if name in HELPERS:
        return HELPERS[name]
    dynamic = _DYNAMIC.get(name)
    if dynamic is not None:
        return dynamic(facts)
    return relation_sql(RELATIONS[name.removeprefix("__")])


def relation_sql(relation: Relation) -> str:
    source, values = ROWS.get(relation.name, ("(SELECT 1) WHERE false", {}))
    columns = []
    for column, pg_type in relation.columns:
        expression = values.get(column, _neutral(pg_type))
        columns.append(f"CAST({expression} AS {_duckdb_type(pg_type)}) AS {column}")
    return f"SELECT {', '.join(columns)} FROM {source}"


def _duckdb_type(pg_type: str) -> str:
    if pg_type in DUCKDB_TYPES:
        return DUCKDB_TYPES[pg_type]
    return "VARCHAR[]" if pg_type.endswith("[]") or pg_type == "anyarray" else "VARCHAR"


def _neutral(pg_type: str) -> str:
    if pg_type == "boolean":
        return "false"
    if _duckdb_type(pg_type) in ("BIGINT", "INTEGER", "SMALLINT", "FLOAT", "DOUBLE"):
        return "0"
    return "NULL"


# relations whose rows come from Facts -------------------------------------------------------


def _values(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> str:
    """A typed relation of literal rows (no rows: an empty relation of the same columns)."""
    rendered = ["(" + ", ".join(to_sql(_literal(v)) for v in row) + ")" for row in rows]
    names = ", ".join(name for name, _ in columns)
    typed = ", ".join(f"CAST({name} AS {duck}) AS {name}" for name, duck in columns)
    if not rendered:
        nulls = ", ".join(f"CAST(NULL AS {duck}) AS {name}" for name, duck in columns)
        return f"SELECT {nulls} WHERE false"
    return f"SELECT {typed} FROM (VALUES {', '.join(rendered)}) AS v({names})"


def _literal(value: Any) -> exp.Expr:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def _predictors(facts: Facts) -> str:
    return _values(
        [
            ("oid", "BIGINT"),
            ("namespace", "BIGINT"),
            ("project", "VARCHAR"),
            ("name", "VARCHAR"),
            ("ncols", "INTEGER"),
            ("comment", "VARCHAR"),
        ],
        [
            (p.oid, p.namespace, p.project, p.name, len(p.columns), p.comment)
            for p in facts.predictors
        ],
    )


def _predictor_columns(facts: Facts) -> str:
    return _values(
        [
            ("attrelid", "BIGINT"),
            ("attnum", "INTEGER"),
            ("attname", "VARCHAR"),
            ("data_type", "VARCHAR"),
            ("comment", "VARCHAR"),
        ],
        [
            (p.oid, number, name, duck_type, comment)
            for p in facts.predictors
            for number, (name, duck_type, comment) in enumerate(p.columns, start=1)
        ],
    )


@functools.cache
def _types() -> str:
    return _values(
        [
            ("oid", "BIGINT"),
            ("typname", "VARCHAR"),
            ("typlen", "SMALLINT"),
            ("typbyval", "BOOLEAN"),
            ("typtype", "VARCHAR"),
            ("typcategory", "VARCHAR"),
            ("typispreferred", "BOOLEAN"),
            ("typelem", "BIGINT"),
            ("typarray", "BIGINT"),
            ("typcollation", "BIGINT"),
            ("display", "VARCHAR"),
        ],
        [
            (t.oid, t.name, t.length, t.by_value, t.kind, t.category, t.preferred)
            + (t.element, t.array, t.collation, t.display)
            for t in TYPES
        ],
    )


@functools.cache
def _catalog_relations() -> str:
    return _values(
        [("oid", "BIGINT"), ("name", "VARCHAR"), ("kind", "VARCHAR"), ("ncols", "INTEGER")],
        [(r.oid, r.name, r.kind, len(r.columns)) for r in RELATIONS.values()],
    )


_DYNAMIC: dict[str, Callable[[Facts], str]] = {
    "__pg_predictors": _predictors,
    "__pg_predictor_columns": _predictor_columns,
    "__pg_types": lambda facts: _types(),
    "__pg_duck_types": lambda facts: _values(
        [("data_type", "VARCHAR"), ("oid", "BIGINT"), ("typmod", "INTEGER")], facts.duck_types
    ),
    "__pg_settings_now": lambda facts: _values(
        [("name", "VARCHAR"), ("setting", "VARCHAR"), ("description", "VARCHAR")],
        facts.settings,
    ),
    "__pg_session": lambda facts: _values([("__user", "VARCHAR")], [(facts.user,)]),
    "__pg_catalog_relations": lambda facts: _catalog_relations(),
}
