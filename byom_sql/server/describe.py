"""Describe a statement before it runs: the types of its parameters and of its result columns.

DuckDB reports parameters as UNKNOWN, but asyncpg encodes arguments by the OIDs of
ParameterDescription, so parameter types are inferred from where each `$n` stands: a cast, the
column it is compared with, LIMIT/OFFSET, an INSERT or UPDATE target column. Unknown ones are
text, as in Postgres.

Result columns, never at the price of a second model call:
- a bound portal (psycopg, JDBC: Bind then Describe) is about to run: it runs at Describe and
  the session keeps the result for the Execute that follows;
- a prepared statement (asyncpg, pg8000: Describe before Bind) that reads no predictor is
  described by DuckDB without running it (`SELECT * FROM (query) LIMIT 0`, parameters bound to
  sample values of their types);
- one that reads a predictor runs at Describe if it has no parameters; with parameters it is
  described from the catalog: each predictor becomes an empty relation of its targets and
  inputs, typed by dtype_dict (text when untyped); the model's extra outputs are unknown then,
  and the session leaves them out of the rows it sends, with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from byom_sql import types
from byom_sql.dialect import Statement, nodes, to_sql
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.errors import FeatureNotSupported
from byom_sql.execution import postgres_types
from byom_sql.execution.explain import COLUMN as EXPLAIN_COLUMN
from byom_sql.execution.explain import explained
from byom_sql.result import json_columns, never_returns_rows
from byom_sql.server import pgtypes
from byom_sql.server.pgtypes import Field
from byom_sql.sqlbuild import cast

if TYPE_CHECKING:
    from byom_sql.catalog import Catalog, Predictor
    from byom_sql.engine import Connection

UNSPECIFIED = (0, pgtypes.UNKNOWN)  # OIDs a client sends when it lets the server choose


_BYOM_COMMANDS = (
    nodes.CreatePredictor,
    nodes.Retrain,
    nodes.DropPredictor,
    nodes.CreateDatabase,
    nodes.DropDatabase,
)


class RunToDescribe(Exception):  # noqa: N818 - a signal, not an error
    """The statement can only be described by running it (it reads a predictor, or DuckDB
    decides its columns only when it runs: SHOW, PRAGMA, DESCRIBE …)."""


def placeholder_index(placeholder: exp.Placeholder, unnamed: list[int]) -> int:
    """1-based index of `$n`, or of the next `?` (counted in `unnamed`)."""
    name = placeholder.name
    if name.isdigit():
        return int(name)
    unnamed[0] += 1
    return unnamed[0]


def parameter_oids(conn: Connection, node: exp.Expr | None, given: Sequence[int]) -> list[int]:
    """OIDs of $1…$n: the client's where it gave one, else inferred from the statement (the
    one explained, for EXPLAIN)."""
    if (found := explained(node)) is not None:
        node = found[1].node if found[1] is not None else None
    unnamed = [0]
    placeholders = [] if node is None else list(node.find_all(exp.Placeholder))
    indexes = [placeholder_index(p, unnamed) for p in placeholders]
    count = max([len(given), *indexes])
    oids = [given[i] if i < len(given) else 0 for i in range(count)]
    if all(oid not in UNSPECIFIED for oid in oids):
        return oids
    columns = _Columns(conn, node) if node is not None else None
    for placeholder, index in zip(placeholders, indexes, strict=True):
        if oids[index - 1] in UNSPECIFIED and columns is not None:
            oids[index - 1] = _from_context(placeholder, columns) or 0
    return [oid if oid not in UNSPECIFIED else pgtypes.TEXT for oid in oids]


def _from_context(placeholder: exp.Placeholder, columns: _Columns) -> int | None:
    parent = placeholder.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    # x = ANY($1), list_contains($1, x) as the catalog rewrites it: an array of x's type
    # (psycopg sends a list of strings as unknown)
    element: exp.Expr | None = None
    if isinstance(parent, exp.Any) and isinstance(parent.parent, exp.Binary):
        element = parent.parent.left
    elif isinstance(parent, exp.ArrayContains) and parent.this is placeholder:
        element = parent.expression
    if element is not None:
        found = columns.type_of(element) or pgtypes.TEXT
        return pgtypes.ARRAY_OF.get(found, pgtypes.ARRAY_OF[pgtypes.TEXT])
    if isinstance(parent, exp.Cast | exp.TryCast):
        return pgtypes.oid_of_sql_type(parent.to)
    if isinstance(parent, exp.Limit | exp.Offset | exp.Fetch):
        return pgtypes.INT8
    if isinstance(parent, exp.Binary):
        other = parent.left if parent.right is placeholder else parent.right
        return columns.type_of(other)
    if isinstance(parent, exp.In | exp.Between) and parent.this is not placeholder:
        return columns.type_of(parent.this)
    if isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values):
        return columns.insert_target(parent.expressions.index(placeholder))
    return None


class _Columns:
    """Column types of the tables a statement names, looked up in DuckDB or the catalog."""

    def __init__(self, conn: Connection, node: exp.Expr):
        self.conn = conn
        self.node = node
        ctes = {cte.alias_or_name.lower() for cte in node.find_all(exp.CTE)}
        self.tables = [t for t in node.find_all(exp.Table) if t.name.lower() not in ctes]
        self._cache: dict[int, dict[str, int]] = {}

    def type_of(self, expression: exp.Expr) -> int | None:
        if isinstance(expression, exp.Cast):
            return pgtypes.oid_of_sql_type(expression.to)
        if isinstance(expression, exp.Literal):
            if expression.is_string:
                return pgtypes.TEXT
            return pgtypes.INT4 if expression.this.isdigit() else pgtypes.NUMERIC
        if isinstance(expression, exp.Boolean):
            return pgtypes.BOOL
        if not isinstance(expression, exp.Column):
            return None
        qualifier, name = expression.table.lower(), expression.name.lower()
        for table in self.tables:
            if qualifier and qualifier not in (table.alias_or_name.lower(), table.name.lower()):
                continue
            found = self._of(table).get(name)
            if found is not None:
                return found
        return None

    def insert_target(self, position: int) -> int | None:
        insert = self.node if isinstance(self.node, exp.Insert) else None
        if insert is None:
            return None
        target = insert.this
        table = target.this if isinstance(target, exp.Schema) else target
        if not isinstance(table, exp.Table):
            return None
        columns = self._of(table)
        names = (
            [c.name.lower() for c in target.expressions]
            if isinstance(target, exp.Schema)
            else list(columns)
        )
        return columns.get(names[position]) if position < len(names) else None

    def _of(self, table: exp.Table) -> dict[str, int]:
        key = id(table)
        if key not in self._cache:
            predictor = self.conn.predictor(table)
            self._cache[key] = (
                {name: oid for name, oid, _ in predictor_columns(self.conn.catalog, predictor)}
                if predictor is not None
                else self._described(table)
            )
        return self._cache[key]

    def _described(self, table: exp.Table) -> dict[str, int]:
        bare = table.copy()
        bare.set("alias", None)
        try:
            rows = self.conn.cursor.execute(f"DESCRIBE SELECT * FROM {to_sql(bare)}").fetchall()
        except Exception:  # noqa: BLE001 - no such table yet: the statement will say so
            return {}
        result = {}
        for name, duckdb_type, *_ in rows:
            try:
                result[name.lower()] = pgtypes.oid_of_sql_type(exp.DataType.build(duckdb_type))
            except Exception:  # noqa: BLE001 - a type sqlglot does not know is sent as text
                result[name.lower()] = pgtypes.TEXT
        return result


def predictor_columns(catalog: Catalog, predictor: Predictor) -> list[tuple[str, int, str]]:
    """(name, OID, DuckDB type) of a predictor's columns, as the catalog types them: the same
    in \\d, in RowDescription before and after running, for every client."""
    return [
        (name, pgtypes.oid_of(kind), types.duckdb_type(kind))
        for name, kind, _ in catalog.columns(predictor)
    ]


def result_fields(
    conn: Connection, statement: Statement, oids: Sequence[int], *, bound: bool
) -> list[Field] | None:
    """The columns a statement will return (None: none), without running it; raises
    RunToDescribe when it should run now instead. `bound`: its parameters are known (a
    portal), so it is about to run anyway and running it once now is the cheapest answer."""
    node = statement.node
    if isinstance(node, _BYOM_COMMANDS) or never_returns_rows(node):
        return None
    if (found := explained(node)) is not None:
        inner = found[1].node if found[1] is not None else None
        if inner is not None and conn.reads_predictors(inner):
            return [pgtypes.field_of(EXPLAIN_COLUMN, pa.string())]
        return [pgtypes.field_of(name, pa.string()) for name in ("explain_key", "explain_value")]
    if bound or (not oids and not isinstance(node, exp.Query)):
        raise RunToDescribe
    if node is None or not isinstance(node, exp.Query) or conn.is_ours(node):
        raise FeatureNotSupported(
            "this statement cannot be described before its parameters are bound",
            hint="run it with literal values, or through the simple query protocol",
        )
    if postgres_types.needs_rewrite(node):  # `$1::jsonb`: DuckDB's JSON
        node = postgres_types.rewrite(node)[0]
    if not conn.reads_predictors(node):
        return _fields(conn, to_sql(node) if node is not statement.node else statement.sql, oids)
    if not oids:
        raise RunToDescribe
    return _fields(conn, to_sql(_with_stand_ins(conn, node)), oids)


def _fields(conn: Connection, sql: str, oids: Sequence[int]) -> list[Field]:
    query = f"SELECT * FROM ({sql}\n) AS _described LIMIT 0"
    samples = [pgtypes.sample(o) for o in oids] or None
    with duckdb_errors(sql):
        reader = conn.cursor.execute(query, samples)
        json = json_columns(reader.description)
        schema = reader.to_arrow_reader().schema
        # the subquery renames a repeated column (t.*, p.* both with x: x, x_1); DESCRIBE
        # of the statement itself keeps the names it will run with
        names = [row[0] for row in conn.cursor.execute(f"DESCRIBE {sql}", samples).fetchall()]
    fields = pgtypes.fields_of(schema, json)
    if len(names) != len(fields):
        return fields
    return [replace(f, name=n) for f, n in zip(fields, names, strict=True)]


def _with_stand_ins(conn: Connection, node: exp.Expr) -> exp.Expr:
    """The statement with each predictor replaced by an empty relation of its columns."""

    def stand_in(table: exp.Expr) -> exp.Expr:
        if not isinstance(table, exp.Table):
            return table
        predictor = conn.predictor(table)
        if predictor is None:
            return table
        columns = [
            cast(exp.null(), duckdb_type).as_(name)
            for name, _, duckdb_type in predictor_columns(conn.catalog, predictor)
        ]
        relation = exp.select(*columns).limit(0)
        return relation.subquery(table.alias_or_name)

    return node.copy().transform(stand_in)
