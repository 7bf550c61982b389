"""The predictor and database statements: catalog changes, training, SHOW and DESCRIBE."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from byom_sql import databases, python_predictors, training
from byom_sql.catalog import DEFAULT_PROJECT, Predictor
from byom_sql.dialect import is_byom_statement, nodes, to_sql
from byom_sql.errors import InvalidOption, UndefinedObject
from byom_sql.executor import resolve_predictor
from byom_sql.options import check_options, public_options, validate_predictor
from byom_sql.result import Result

if TYPE_CHECKING:
    from byom_sql.engine import Connection, Params


def handles(conn: Connection, node: exp.Expression) -> bool:
    if is_byom_statement(node):
        return True
    return isinstance(node, exp.Describe) and _described_predictor(conn, node) is not None


def execute(conn: Connection, node: exp.Expression, params: Params = None) -> Result:
    if isinstance(node, nodes.CreatePredictor):
        return create_predictor(conn, node)
    if isinstance(node, nodes.Retrain):
        return retrain(conn, node)
    if isinstance(node, nodes.DropPredictor):
        return drop_predictor(conn, node)
    if isinstance(node, nodes.DescribePredictor):
        project, name = _name(node.this)
        return describe(conn.engine.catalog.require(name, project))
    if isinstance(node, exp.Describe):
        predictor = _described_predictor(conn, node)
        assert predictor is not None
        return describe(predictor)
    if isinstance(node, nodes.ShowPredictors):
        return show_predictors(conn, node)
    if isinstance(node, nodes.CreateDatabase):
        return databases.create(conn, node)
    if isinstance(node, nodes.DropDatabase):
        return databases.drop(conn, node)
    if isinstance(node, nodes.ShowDatabases):
        return databases.show(conn, node)
    raise AssertionError(f"not a byom statement: {node!r}")


def create_predictor(conn: Connection, node: nodes.CreatePredictor) -> Result:
    catalog = conn.engine.catalog
    project, name = _name(node.this)
    targets = [p.name for p in node.args["predict"]]
    options = check_options((o.option_name, o.option_value) for o in node.args.get("using") or [])
    validate_predictor(options, targets)
    if node.args.get("exists") and catalog.latest(name, project) is not None:
        return Result("CREATE PREDICTOR")
    source = training.Source.of(node)
    predictor = Predictor(
        project=project,
        name=name,
        version=1,
        targets=targets,
        format=options["format"],
        options=options,
        from_database=source.database if source else None,
        from_query=source.text if source else None,
        status="training" if source else "complete",
    )
    if predictor.format == "python":
        predictor = python_predictors.prepare(conn, predictor)
    predictor = catalog.add_predictor(predictor, replace_existing=bool(node.args.get("replace")))
    if source:
        training.train(conn, predictor, source)
    return Result("CREATE PREDICTOR")


def retrain(conn: Connection, node: nodes.Retrain) -> Result:
    catalog = conn.engine.catalog
    project, name = _name(node.this)
    current = catalog.require(name, project)
    changes = check_options((o.option_name, o.option_value) for o in node.args.get("using") or [])
    options = {**current.options, **changes}
    validate_predictor(options, current.targets)
    source = training.Source.of(node) or training.Source.stored(current)
    if source is None:
        raise InvalidOption(
            f"predictor {name} was created without training data: RETRAIN needs FROM",
            hint=f"RETRAIN {name} FROM (SELECT …) or FROM <database> (SELECT …)",
        )
    new = Predictor(
        project=current.project,
        name=current.name,
        version=0,
        targets=current.targets,
        format=options["format"],
        options=options,
        from_database=source.database,
        from_query=source.text,
        status="training",
    )
    if new.format == "python":
        new = python_predictors.prepare(conn, new)
    new = catalog.add_version(new)
    training.train(conn, new, source)
    return Result("RETRAIN")


def drop_predictor(conn: Connection, node: nodes.DropPredictor) -> Result:
    project, name = _name(node.this)
    if not conn.engine.catalog.drop_predictor(name, project) and not node.args.get("exists"):
        raise UndefinedObject(f"predictor {project}.{name} does not exist")
    return Result(f"DROP {node.args['kind']}")


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


def show_predictors(conn: Connection, node: nodes.ShowPredictors) -> Result:
    query = exp.select("*").from_("mindsdb.models").order_by("project", "name")
    if node.args.get("project"):
        query = query.where(exp.column("project").eq(exp.Literal.string(node.args["project"].name)))
    if node.args.get("like"):
        query = query.where(exp.ILike(this=exp.column("name"), expression=node.args["like"].copy()))
    if node.args.get("where"):
        query = query.where(node.args["where"].this.copy())
    return conn.passthrough(to_sql(query), node=query)


def _name(table: exp.Table) -> tuple[str, str]:
    return table.db or DEFAULT_PROJECT, table.name


def _described_predictor(conn: Connection, node: exp.Describe) -> Predictor | None:
    target = node.this
    return resolve_predictor(conn, target) if isinstance(target, exp.Table) else None
