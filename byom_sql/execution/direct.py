"""Statements DuckDB runs as written, and queries that may read predictors: the one entry
point statement handlers and the engine use to run a query."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from byom_sql.config import ROWS_PER_BATCH
from byom_sql.databases.sources import bind_sources
from byom_sql.dialect import parse, to_sql
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.errors import Error
from byom_sql.execution import call_log, local, postgres_types
from byom_sql.execution import explain as explaining
from byom_sql.planning.binding import Params, bind_parameters, reads_predictors
from byom_sql.planning.plan import Plan, Template, stand_ins
from byom_sql.planning.planner import plan
from byom_sql.result import Result, command_of, json_columns, returns_rows
from byom_sql.session import Session


def run_sql(
    cursor: duckdb.DuckDBPyConnection,
    sql: str,
    params: Params = None,
    node: exp.Expr | None = None,
) -> Result:
    """Run a statement in DuckDB as written."""
    with duckdb_errors(sql):
        cursor.execute(sql, params) if params else cursor.execute(sql)
        description = cursor.description
        command = command_of(node, sql)
        if returns_rows(node, description):
            reader = cursor.to_arrow_reader(ROWS_PER_BATCH)
            json = json_columns(description)
            return Result(command, reader=reader, on_close=reader.close, json_columns=json)
        row = cursor.fetchone() if description else None
    count = row[0] if row and isinstance(row[0], int) else None
    return Result(command, rowcount=count)


def run(session: Session, node: exp.Expr, sql: str, params: Params = None) -> Result:
    """A statement that is not one of ours: planned and run when it reads predictors, else
    handed to DuckDB as written."""
    text = sql
    cached = session.plans.get(text) if params is None else _templated(session, sql, params)
    if cached is not None:
        return local.run(session, cached)
    original = node
    node, sql, planned = _prepare(session, node, sql, params)
    if planned is not None:
        if params is None:
            session.plans.keep(text, planned)
        else:
            _keep_template(session, original, text, params, planned)
        return local.run(session, planned)
    return run_sql(session.cursor, sql, params, node)


def _templated(session: Session, sql: str, params: Params) -> Plan | None:
    """The plan of a statement with positional parameters from its template, if it has one
    and these values fit it."""
    positional = _positional(params)
    if positional is None:
        return None
    found = session.plans.template(sql, positional)
    return found.bound(positional) if isinstance(found, Template) else None


def _keep_template(
    session: Session, node: exp.Expr, sql: str, params: Params, planned: Plan
) -> None:
    """After a statement with parameters was planned with its values: when the plan is a
    Direct one, plan it once more with stand-in values, so later calls need no planning."""
    positional = _positional(params)
    if positional is None or session.plans.template(sql, positional) is not False:
        return  # named parameters; or made already (or found impossible), and these did not fit
    values = stand_ins(positional) if planned.direct is not None else None
    template = None
    if values is not None:
        try:
            stood_in = _prepare(session, node, sql, values)[2]
            template = Template.of(stood_in, values) if stood_in is not None else None
        except Error:  # stand-ins where a value matters to planning (a file name, a LIMIT)
            template = None
    session.plans.keep_template(sql, positional, template)


def _positional(params: Params) -> Sequence[Any] | None:
    return params if isinstance(params, Sequence) and not isinstance(params, str) else None


def explain(
    session: Session, node: exp.Expr, sql: str, params: Params = None, *, analyze: bool = False
) -> Result:
    """EXPLAIN [ANALYZE] of a statement: ours when it reads predictors, else DuckDB's."""
    node, sql, planned = _prepare(session, node, sql, params)
    if planned is None:
        return run_sql(session.cursor, f"EXPLAIN {'ANALYZE ' * analyze}{sql}", params)
    return explaining.analyze(session, planned) if analyze else explaining.explain(session, planned)


def _prepare(
    session: Session, node: exp.Expr, sql: str, params: Params
) -> tuple[exp.Expr, str, Plan | None]:
    """The statement as DuckDB must run it, and its plan when it reads predictors."""
    node, sql = bind_sources(session.catalog, session.attachments, node, sql)
    node, sql = call_log.bind(session, node, sql)
    if postgres_types.needs_rewrite(node):
        node, sequences = postgres_types.rewrite(node)
        for sequence in sequences:
            run_sql(session.cursor, sequence)
        sql = to_sql(node)
    if not reads_predictors(session.catalog, node, session.schema.resolve):
        return node, sql, None
    bound = bind_parameters(node.copy(), params)
    return node, sql, plan(bound, session.schema, session.config, _prefix())


def query_table(session: Session, sql: str) -> pa.Table:
    """All rows of one query (which may read predictors), for the engine's own use: training."""
    statements = parse(sql, lenient=True)
    if len(statements) != 1:
        raise Error(f"expected one query, got {len(statements)} statements")
    node, text = statements[0].node, statements[0].sql
    result = run_sql(session.cursor, text) if node is None else run(session, node, text)
    return result.arrow()


def _prefix() -> str:
    return secrets.token_hex(3)
