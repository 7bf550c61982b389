"""Registering Python predictors, from the embedding program (`Connection.create_predictor`) or
from SQL (`USING format = 'python', module = 'pkg.mod:Name'`), and training them.

A predictor's options keep `python = {"object": <hash>, "callable": <qualified name>,
"files": <hash of an artifacts folder>, "trained": <hash>}`; the hashes name entries of the
artifact store. Importing a module named in SQL and loading a pickle both run code, so only a
trusted session (the embedding program, never a network client) of an engine configured with
`python_models` may create or retrain one.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa

from byom_sql.catalog import DEFAULT_PROJECT, Predictor
from byom_sql.errors import InsufficientPrivilege, InvalidOption
from byom_sql.models.python import PythonModel, code_error, frame, import_target, not_a_class
from byom_sql.options import check_options, validate_predictor
from byom_sql.result import Result
from byom_sql.session import Session


def check_trusted(session: Session, what: str) -> None:
    if not session.trusted:
        raise InsufficientPrivilege(
            f"{what}: Python predictors can only be created or retrained by the program "
            "embedding byom_sql, not over the network",
            hint="register it in that program with Connection.create_predictor, then use it "
            "from any session",
        )
    if not session.config.python_models:
        raise InsufficientPrivilege(
            f"{what}: this engine is not configured to run Python models",
            hint="EngineConfig(python_models=True); for the server, byom-sql serve --python-models",
        )


def create(
    session: Session,
    name: str,
    model: Any,
    *,
    predict: str | Sequence[str],
    dtype_dict: Mapping[str, str] | None,
    artifacts: Mapping[str, Any] | None,
    replace_existing: bool,
    options: Mapping[str, Any],
) -> Result:
    """The embedding program's registration of a function, object or class."""
    check_trusted(session, f"predictor {name}")
    project, _, short = name.rpartition(".")
    if not short or "." in project:
        raise InvalidOption(f"predictor name {name!r} should be 'name' or 'project.name'")
    targets = [predict] if isinstance(predict, str) else list(predict)
    if not targets or not all(isinstance(t, str) and t for t in targets):
        raise InvalidOption(f"predict should name the column(s) to predict, not {predict!r}")
    pairs = [("format", "python"), *(options.items())]
    checked = check_options(pairs + ([("dtype_dict", dict(dtype_dict))] if dtype_dict else []))
    if "module" in checked:
        raise InvalidOption("module is for SQL: pass the class or function itself", key="module")
    predictor = Predictor(project or DEFAULT_PROJECT, short, 1, targets, "python", checked)
    payload = {"target": model, "artifacts": dict(artifacts) if artifacts is not None else None}
    predictor = _register(session, predictor, payload, files=None)
    session.catalog.add_predictor(predictor, replace_existing=replace_existing)
    return Result("CREATE PREDICTOR")


def prepare(session: Session, predictor: Predictor) -> Predictor:
    """CREATE PREDICTOR or RETRAIN with format python: import `module`, copy `artifacts` into the
    store, build the model once. A predictor the program registered keeps its object."""
    check_trusted(session, f"predictor {predictor.name}")
    options = predictor.options
    if "module" not in options:
        return predictor
    target = import_target(options["module"])
    files = None
    if "artifacts" in options:
        if not isinstance(target, type):
            raise not_a_class(target)
        files = session.python.store.save_tree(options["artifacts"])
    return _register(session, predictor, {"target": target, "artifacts": None}, files)


def _register(
    session: Session, predictor: Predictor, payload: dict[str, Any], files: str | None
) -> Predictor:
    """Store the payload, build the model from the stored copy (so what runs now is what runs
    after a restart), check its inputs against the options."""
    runtime = session.python
    try:
        key = runtime.store.save(payload)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidOption(
            f"predictor {predictor.name}: the model cannot be saved: {exc}",
            hint="models must be picklable (cloudpickle); keep open files, sockets and locks "
            "out of its attributes, or build them in __init__ from artifacts",
        ) from None
    model = runtime.build(key, files, f"predictor {predictor.name}")
    runtime.remember(key, model)
    _check_inputs(predictor, model)
    stored = {"object": key, "callable": model.name} | ({"files": files} if files else {})
    options = {**predictor.options, "python": stored}
    validate_predictor(options, predictor.targets)
    return replace(predictor, options=options, columns=model.inputs)


def _check_inputs(predictor: Predictor, model: PythonModel) -> None:
    targets = {t.lower() for t in predictor.targets}
    declared = {k.lower() for k in predictor.dtype_dict}
    for name in model.inputs or []:
        if name.lower() in targets:
            raise InvalidOption(
                f"{model.name} takes {name!r}, which is also a PREDICT column",
                hint="name the prediction differently (predict=[…] or PREDICT …)",
            )
        if declared and name.lower() not in declared:
            raise InvalidOption(
                f"{model.name} takes {name!r}, but dtype_dict has no such column",
                key="dtype_dict",
            )


def train(
    session: Session, predictor: Predictor, data: pa.Table
) -> tuple[dict[str, Any] | None, list[str] | None]:
    """Train a fresh copy of the stored model on `data` when it has `train(df, target)` (the
    ray_serve contract); the new options (with the trained copy) and the model's inputs."""
    runtime = session.python
    stored = predictor.options["python"]
    fresh = runtime.build(stored["object"], stored.get("files"), f"predictor {predictor.name}")
    trainer = getattr(fresh.target, "train", None)
    if not callable(trainer):
        return None, fresh.inputs
    targets = predictor.targets
    try:
        trainer(frame(data), targets[0] if len(targets) == 1 else targets)
    except BaseException as exc:  # noqa: BLE001 - user code
        label = f"predictor {predictor.name}: {fresh.name.rsplit('.', 1)[0]}.train"
        raise code_error(label, exc, debug=runtime.debug) from exc
    key = runtime.store.save({"target": fresh.target, "artifacts": None})
    runtime.remember(key, fresh)
    return {**predictor.options, "python": {**stored, "trained": key}}, fresh.inputs
