"""CREATE PREDICTOR, RETRAIN and DROP PREDICTOR: catalog changes, and training."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlglot import exp

from byom_sql.catalog import DEFAULT_PROJECT, Predictor
from byom_sql.dialect import nodes
from byom_sql.errors import InvalidOption, ModelError, UndefinedObject
from byom_sql.models import discover
from byom_sql.models.transport import Policy
from byom_sql.options import check_options, validate_predictor
from byom_sql.result import Result
from byom_sql.session import Session
from byom_sql.statements import python, training

CHECK_TIMEOUT = 10.0


def create(session: Session, node: nodes.CreatePredictor) -> Result:
    catalog = session.catalog
    project, name = name_of(node.this)
    targets = [p.name for p in node.args["predict"]]
    options = check_options((o.option_name, o.option_value) for o in node.args.get("using") or [])
    validate_predictor(options, targets)
    check_hosts(session, name, options)
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
        predictor = python.prepare(session, predictor)
    elif source is None and options.get("check", True):
        predictor = _checked(session, predictor)
    elif predictor.format == "bentoml" and "body_key" not in options:
        raise InvalidOption(
            "format 'bentoml' without the endpoint check needs body_key (the API's parameter name)",
            hint="add body_key = '<parameter>' and request_layout, or drop check = false",
            key="body_key",
        )
    predictor = catalog.add_predictor(predictor, replace_existing=bool(node.args.get("replace")))
    if source:
        training.train(session, predictor, source)
    return Result("CREATE PREDICTOR")


def retrain(session: Session, node: nodes.Retrain) -> Result:
    catalog = session.catalog
    project, name = name_of(node.this)
    current = catalog.require(name, project)
    changes = check_options((o.option_name, o.option_value) for o in node.args.get("using") or [])
    options = {**current.options, **changes}
    validate_predictor(options, current.targets)
    check_hosts(session, name, options)
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
        new = python.prepare(session, new)
    new = catalog.add_version(new)
    training.train(session, new, source)
    return Result("RETRAIN")


def drop(session: Session, node: nodes.DropPredictor) -> Result:
    project, name = name_of(node.this)
    if not session.catalog.drop_predictor(name, project) and not node.args.get("exists"):
        raise UndefinedObject(f"predictor {project}.{name} does not exist")
    return Result(f"DROP {node.args['kind']}")


def _checked(session: Session, predictor: Predictor) -> Predictor:
    """A predictor without training data is ready at once: make sure its endpoint is up, so
    the first query does not find out (MindsDB #4868), and keep what the endpoint says about
    itself (a model's tensors, a service's parameter)."""
    config = session.config
    policy = Policy(
        timeout=min(predictor.options.get("timeout", config.timeout), CHECK_TIMEOUT),
        retries=min(predictor.options.get("retries", config.retries), 1),
        label=f"predictor {predictor.name}",
        cancelled=session.cancel,
        opaque=not session.trusted,
    )
    try:
        found = discover(predictor, session.transport, session.catalog.headers(predictor), policy)
    except ModelError as error:
        skip = "USING check = false creates the predictor without this check"
        error.hint = f"{error.hint}; {skip}" if error.hint else skip
        raise
    if not found:
        return predictor
    options = {**predictor.options, **found}
    validate_predictor(options, predictor.targets)
    return dataclasses.replace(predictor, options=options)


def check_hosts(session: Session, name: str, options: dict[str, Any]) -> None:
    """Refuse endpoints this engine may not call, before anything is stored or sent."""
    for key in ("url.predict", "url.train"):
        if key in options:
            session.transport.hosts.check(options[key], f"predictor {name}: {key}")


def name_of(table: exp.Table) -> tuple[str, str]:
    """(project, name) of a predictor reference."""
    return table.db or DEFAULT_PROJECT, table.name
