"""`mindsdb.model_calls`: the engine's call log as a table a query can read.

The log lives in memory (models/calls.py); a statement that names it reads a snapshot taken
when the statement starts, registered on the session's cursor.
"""

from __future__ import annotations

from sqlglot import exp

from byom_sql.catalog import DEFAULT_PROJECT
from byom_sql.dialect import to_sql
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.session import Session

NAME = "model_calls"
RELATION = "byom_model_calls"  # the snapshot's name on the session's cursor


def bind(session: Session, node: exp.Expr, sql: str) -> tuple[exp.Expr, str]:
    """The statement reading a snapshot of the log where it names `mindsdb.model_calls` (or
    `model_calls` alone); unchanged when it does not."""
    if not any(_names_log(table) for table in node.find_all(exp.Table)):
        return node, sql
    with duckdb_errors():
        session.cursor.register(RELATION, session.calls.table())
    node = node.copy()
    for table in list(node.find_all(exp.Table)):
        if _names_log(table):
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(NAME))
            table.replace(exp.Table(this=exp.to_identifier(RELATION), alias=alias.copy()))
    return node, to_sql(node)


def _names_log(table: exp.Table) -> bool:
    if table.name.lower() != NAME or table.catalog or not isinstance(table.this, exp.Identifier):
        return False
    return not table.db or table.db.lower() == DEFAULT_PROJECT
