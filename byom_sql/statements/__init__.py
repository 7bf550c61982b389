"""Our statements: predictors (predictors.py), databases (databases.py), SHOW and DESCRIBE
(inspect.py); training and Python models are what CREATE PREDICTOR and RETRAIN call.

Each handler takes the statement and a `Session`, and returns a Result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from byom_sql.catalog import Predictor
from byom_sql.dialect import is_byom_statement, nodes
from byom_sql.result import Result
from byom_sql.session import Session
from byom_sql.statements import databases, inspect, predictors, secrets


def handles(session: Session, node: exp.Expr) -> bool:
    if is_byom_statement(node):
        return True
    return isinstance(node, exp.Describe) and _described(session, node) is not None


HANDLERS: dict[type[exp.Expr], Callable[[Session, Any], Result]] = {
    nodes.CreatePredictor: predictors.create,
    nodes.Retrain: predictors.retrain,
    nodes.DropPredictor: predictors.drop,
    nodes.ShowPredictors: inspect.show_predictors,
    nodes.CreateDatabase: databases.create,
    nodes.DropDatabase: databases.drop,
    nodes.ShowDatabases: databases.show,
    nodes.CreateSecret: secrets.create,
    nodes.DropSecret: secrets.drop,
    nodes.ShowSecrets: secrets.show,
}


def execute(session: Session, node: exp.Expr) -> Result:
    handler = HANDLERS.get(type(node))
    if handler is not None:
        return handler(session, node)
    if isinstance(node, nodes.DescribePredictor):
        project, name = predictors.name_of(node.this)
        # resolve understands versions (byom.2); require() names the missing one
        found = session.schema.resolve(node.this)
        return inspect.describe(found or session.catalog.require(name, project))
    predictor = _described(session, node) if isinstance(node, exp.Describe) else None
    if predictor is None:
        raise AssertionError(f"not a byom statement: {node!r}")
    return inspect.describe(predictor)


def _described(session: Session, node: exp.Describe) -> Predictor | None:
    target = node.this
    return session.schema.resolve(target) if isinstance(target, exp.Table) else None
