"""SHOW PREDICTORS and DESCRIBE: what a user needs to understand and debug a predictor."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from sqlglot import exp

from byom_sql.catalog import Predictor
from byom_sql.dialect import nodes, to_sql
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.execution.direct import run_sql
from byom_sql.options import public_options
from byom_sql.result import Result
from byom_sql.session import Session


def describe(predictor: Predictor) -> Result:
    """One row per attribute: what a user needs to understand and debug the predictor."""
    options = public_options(predictor.options)
    attributes: list[tuple[str, Any]] = [
        ("name", predictor.name),
        ("project", predictor.project),
        ("version", predictor.version),
        ("status", predictor.status),
        ("error", predictor.error),
        ("format", predictor.format),
        ("predict", ", ".join(predictor.targets)),
        ("features", ", ".join(predictor.features() or [])),
        ("url.predict", options.get("url.predict")),
        ("url.train", options.get("url.train")),
        ("callable", (options.get("python") or {}).get("callable")),
        ("dtype_dict", json.dumps(options["dtype_dict"]) if "dtype_dict" in options else None),
        (
            "options",
            json.dumps(
                {
                    k: v
                    for k, v in options.items()
                    if k not in ("format", "url.predict", "url.train", "dtype_dict", "python")
                }
            ),
        ),
        ("from_database", predictor.from_database),
        ("from_query", predictor.from_query),
        ("training_rows", predictor.training_rows),
        ("created_at", predictor.created_at),
        ("updated_at", predictor.updated_at),
    ]
    table = pa.table(
        {
            "attribute": [a for a, _ in attributes],
            "value": [None if v is None else str(v) for _, v in attributes],
        }
    )
    return Result("DESCRIBE", table=table)


def shown(session: Session, table: pa.Table, node: exp.Expr) -> Result:
    """A SHOW statement's rows, filtered by its LIKE 'pattern' (on name) or WHERE."""
    with duckdb_errors():
        relation = session.cursor.from_arrow(table)
        if node.args.get("like"):
            relation = relation.filter(f"name ILIKE {to_sql(node.args['like'])}")
        if node.args.get("where"):
            relation = relation.filter(to_sql(node.args["where"].this))
        reader = relation.arrow()
    return Result("SELECT", reader=reader)


def show_predictors(session: Session, node: nodes.ShowPredictors) -> Result:
    query = exp.select("*").from_("mindsdb.models").order_by("project", "name")
    if node.args.get("project"):
        query = query.where(exp.column("project").eq(exp.Literal.string(node.args["project"].name)))
    if node.args.get("like"):
        query = query.where(exp.ILike(this=exp.column("name"), expression=node.args["like"].copy()))
    if node.args.get("where"):
        query = query.where(node.args["where"].this.copy())
    return run_sql(session.cursor, to_sql(query), node=query)
