"""Python models: a function, an object with `predict` / `predict_batches`, or a class built
with its artifacts. Calls run in a worker pool, so the query thread keeps preparing the next
batch and the wire server's event loop never runs user code.

What the callable receives is read once from its signature (`Feed`):

    f(df) · predict(self, data) · predict_batches(self, batch)
        one call per batch with a pandas DataFrame (a pyarrow Table or RecordBatch when the
        parameter is annotated so)
    f(x, y) · predict(self, x, y)
        one call per row, values by column name (a single parameter annotated with a scalar
        type, `f(x: float)`, is also called per row)
    f(x: np.ndarray, y: pd.Series) · predict_batches(self, x, y)
        one call per batch with whole columns by name

`predict_batches` is preferred to `predict`. What a model returns (a list, numpy array,
pandas Series or DataFrame, Arrow array or table, dict of columns, or per row a scalar, tuple
or dict) becomes plain lists for `codec.prediction_columns`.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import inspect
import logging
import os
import threading
import traceback
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from byom_sql.catalog import Predictor
from byom_sql.errors import Error, InsufficientPrivilege, InvalidOption, ModelCodeError
from byom_sql.models import codec
from byom_sql.models.artifacts import ArtifactStore
from byom_sql.models.transport import Policy
from byom_sql.types import Column

if TYPE_CHECKING:
    from byom_sql.catalog import Catalog

log = logging.getLogger(__name__)

BATCH, ROWS, COLUMNS = "batch", "rows", "columns"
_BY_TYPE: dict[Any, str] = {
    pd.DataFrame: "pandas",
    pa.Table: "arrow",
    pa.RecordBatch: "record_batch",
    np.ndarray: "numpy",
    pd.Series: "series",
    **{t: "scalar" for t in (int, float, str, bool, bytes, Decimal)},
}
_BY_NAME = {getattr(t, "__name__", ""): kind for t, kind in _BY_TYPE.items()} | {"NDArray": "numpy"}
_NAMED = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class Feed:
    """How a callable takes a batch of rows."""

    style: str  # BATCH, ROWS or COLUMNS
    params: tuple[str, ...] = ()  # ROWS, COLUMNS: the parameters fed from columns, in order
    keyword_only: int = 0  # how many of the last `params` are keyword-only
    kinds: tuple[str, ...] = ()  # BATCH: pandas|arrow|record_batch; COLUMNS: numpy|series each


def feed_of(fn: Callable[..., Any], *, batched: bool, name: str) -> Feed:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        raise InvalidOption(
            f"cannot read the parameters of {name}",
            hint="wrap it in a function with named parameters",
        ) from None
    hints = _annotations(fn)
    named = [
        p
        for p in signature.parameters.values()
        if p.kind in _NAMED or p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    fed = [p for p in named if p.default is p.empty] or named
    if not fed:
        raise InvalidOption(
            f"{name} takes no named parameters, so byom_sql cannot tell what to pass it",
            hint="give it one parameter (the batch) or one per input column",
        )
    fed.sort(key=lambda p: p.kind is inspect.Parameter.KEYWORD_ONLY)
    kinds = [_kind(hints.get(p.name)) for p in fed]
    if len(fed) == 1 and kinds[0] in (None, "pandas", "arrow", "record_batch"):
        return Feed(BATCH, kinds=(kinds[0] or "pandas",))
    if any(k in ("pandas", "arrow", "record_batch") for k in kinds):
        raise InvalidOption(f"{name}: only a function of one parameter can take the whole batch")
    names = tuple(p.name for p in fed)
    keyword_only = sum(p.kind is inspect.Parameter.KEYWORD_ONLY for p in fed)
    if batched or any(k in ("numpy", "series") for k in kinds):
        columns = tuple("series" if k == "series" else "numpy" for k in kinds)
        return Feed(COLUMNS, names, keyword_only, columns)
    return Feed(ROWS, names, keyword_only)


def _annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable names: read them as written
        return dict(getattr(fn, "__annotations__", None) or {})


def _kind(hint: Any) -> str | None:
    if hint is None:
        return None
    if isinstance(hint, str):
        return _BY_NAME.get(hint.split("[")[0].rsplit(".", 1)[-1])
    return _BY_TYPE.get(typing.get_origin(hint) or hint)


# a loaded model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PythonModel:
    """What to call, how to feed it, and the object behind it (which may have `train`)."""

    target: Any
    fn: Callable[..., Any]
    feed: Feed
    name: str  # qualified name of the callable, for DESCRIBE and errors

    @classmethod
    def of(cls, target: Any) -> PythonModel:
        """`target` is a function, or an object with predict_batches, predict or __call__."""
        if inspect.isroutine(target):
            fn, batched, name = target, False, qualified_name(target)
        else:
            found = next(
                (
                    (getattr(target, attr), attr == "predict_batches", attr)
                    for attr in ("predict_batches", "predict", "__call__")
                    if callable(getattr(target, attr, None))
                ),
                None,
            )
            if found is None:
                raise InvalidOption(
                    f"a {type(target).__name__} is not a model: give a function, or an object "
                    "with a predict or predict_batches method"
                )
            fn, batched, attr = found
            name = f"{qualified_name(type(target))}.{attr}"
        return cls(target, fn, feed_of(fn, batched=batched, name=name), name)

    @property
    def inputs(self) -> list[str] | None:
        """The columns it is fed by name; None when it takes the whole batch."""
        return list(self.feed.params) if self.feed.style != BATCH else None

    def prepare(self, batch: pa.Table) -> tuple[int, Any]:
        """The call's arguments (built in the query thread) and the number of rows."""
        feed = self.feed
        if feed.style == BATCH:
            kind = feed.kinds[0]
            if kind == "arrow":
                return batch.num_rows, batch
            if kind == "record_batch":
                chunks = [c.combine_chunks() for c in batch.columns]
                return batch.num_rows, pa.record_batch(chunks, names=batch.column_names)
            return batch.num_rows, frame(batch)
        batch = without_decimals(batch)
        by_lower = {n.lower(): n for n in batch.column_names}
        missing = [p for p in feed.params if p.lower() not in by_lower]
        if missing:
            raise Error(f"{self.name} needs column {missing[0]!r}, which the input lacks")
        columns: list[Column] = [batch.column(by_lower[p.lower()]) for p in feed.params]
        if feed.style == ROWS:
            return batch.num_rows, [c.to_pylist() for c in columns]
        values = [
            c.to_pandas().rename(p) if kind == "series" else c.to_numpy()
            for p, c, kind in zip(feed.params, columns, feed.kinds, strict=True)
        ]
        return batch.num_rows, values

    def call(self, prepared: tuple[int, Any]) -> Any:
        """Run the model on prepared arguments; plain lists or a dict of lists."""
        rows, arguments = prepared
        if rows == 0:
            return []
        if self.feed.style == BATCH:
            return plain(self.fn(arguments))
        if self.feed.style == COLUMNS:
            return plain(self._invoke(arguments))
        return [_row_value(self._invoke(values)) for values in zip(*arguments, strict=True)]

    def _invoke(self, values: Sequence[Any]) -> Any:
        """Call with `values` for `feed.params`: positionally, keyword-only ones by name."""
        split = len(values) - self.feed.keyword_only
        if split == len(values):
            return self.fn(*values)
        keywords = zip(self.feed.params[split:], values[split:], strict=True)
        return self.fn(*values[:split], **dict(keywords))


def frame(table: pa.Table) -> pd.DataFrame:
    return without_decimals(table).to_pandas()


def without_decimals(table: pa.Table) -> pa.Table:
    """DECIMAL columns as floats, as HTTP models get them: Python's Decimal does not mix with
    float arithmetic or numpy. (Models taking Arrow get the columns as they are.)"""
    for index, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.float64()))
    return table


def plain(value: Any) -> Any:
    """Lists, and dicts of lists, from what models return: numpy, pandas, Arrow, tuples."""
    if isinstance(value, pd.DataFrame):
        return {str(k): plain(column) for k, column in value.items()}
    if isinstance(value, pd.Series | pd.Index) and pd.api.types.is_string_dtype(value.dtype):
        missing = pd.isna(value).tolist()  # pandas' NaN in a text column is a NULL
        return [None if gone else v for v, gone in zip(value.tolist(), missing, strict=True)]
    if isinstance(value, pd.Series | pd.Index | np.ndarray):
        return value.tolist()
    if isinstance(value, pa.Table | pa.RecordBatch):
        return value.to_pydict()
    if isinstance(value, pa.Array | pa.ChunkedArray):
        return value.to_pylist()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_row_value(v) for v in value]
    return value


def _row_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def qualified_name(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{module}.{name}" if module and module != "builtins" else name


# building models -----------------------------------------------------------------------------


def import_target(reference: str) -> Any:
    """`pkg.mod:Name` (or `pkg.mod.Name`): the class, function or object it names."""
    module_name, _, attribute = reference.partition(":")
    if not attribute:
        module_name, _, attribute = reference.rpartition(".")
    if not module_name or not attribute:
        raise InvalidOption(
            f"module {reference!r} should name a class or function as 'package.module:Name'",
            key="module",
        )
    try:
        value: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidOption(
            f"cannot import {module_name!r}: {exc}",
            hint="the module must be importable by the program running byom_sql (PYTHONPATH)",
            key="module",
        ) from None
    except Exception as exc:  # noqa: BLE001 - importing runs the module's code
        raise code_error(f"importing {module_name}", exc, debug=False) from exc
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise InvalidOption(f"{module_name} has no attribute {attribute!r}", key="module")
        value = getattr(value, part)
    return value


def load_model(target: Any, artifacts: Mapping[str, Any] | None) -> PythonModel:
    """A function or object as is; a class built once with its artifacts."""
    if isinstance(target, type):
        return PythonModel.of(instantiate(target, artifacts))
    if artifacts is not None:
        raise not_a_class(target)
    return PythonModel.of(target)


def not_a_class(target: Any) -> InvalidOption:
    return InvalidOption(
        f"artifacts are given to a class when it is built; {qualified_name(target)} is not a class",
        key="artifacts",
    )


def instantiate(cls: type, artifacts: Mapping[str, Any] | None) -> Any:
    """Verta's `cls(artifacts)` when __init__ takes `artifacts`; else `cls(**artifacts)`."""
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]
    name = qualified_name(cls)
    try:
        if "artifacts" in parameters:
            return cls(artifacts=dict(artifacts) if artifacts is not None else None)
        return cls(**(artifacts or {}))
    except Exception as exc:  # noqa: BLE001 - user code
        raise code_error(f"creating {name}", exc, debug=False) from exc


def artifact_paths(folder: Path) -> dict[str, str]:
    """`{name: path}` for the files of an artifacts folder (or one file), as Verta passes them:
    the name is the path relative to the folder without its extension."""
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else [folder]
    base = folder if folder.is_dir() else folder.parent
    paths: dict[str, str] = {}
    for file in files:
        key = file.relative_to(base).with_suffix("").as_posix()
        if key in paths:
            raise InvalidOption(
                f"artifacts {Path(paths[key]).name} and {file.name} would both be named {key!r}",
                key="artifacts",
            )
        paths[key] = str(file)
    return paths


def code_error(label: str, exc: BaseException, *, debug: bool) -> ModelCodeError:
    """A user's exception as our error: what raised what, the traceback only when debugging."""
    if isinstance(exc, Error):
        return ModelCodeError(f"{label}: {exc.message}", hint=exc.hint)
    text = str(exc).strip() or "(no message)"
    message = f"{label} raised {type(exc).__name__}: {text}"
    log.debug("%s", message, exc_info=exc)
    if debug:
        message += "\n" + "".join(traceback.format_exception(exc)).rstrip()
    return ModelCodeError(message)


# the engine's side ---------------------------------------------------------------------------


class PythonRuntime:
    """An engine's Python models: the artifact store, each model loaded once, the workers."""

    def __init__(self, database: str, catalog: Catalog, *, enabled: bool, debug: bool):
        self.store = ArtifactStore(database)
        self.catalog = catalog
        self.enabled = enabled
        self.debug = debug
        self._models: dict[str, PythonModel] = {}
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def model(self, predictor: Predictor) -> PythonModel:
        """The predictor's model, loaded from the artifact store on first use."""
        if not self.enabled:
            raise InsufficientPrivilege(
                f"predictor {predictor.name} is a Python model, and this engine does not load "
                "Python models",
                hint="the server loads them when started with --python-models "
                "(EngineConfig(python_models=True))",
            )
        stored = predictor.options["python"]
        key = stored.get("trained") or stored["object"]
        with self._lock:
            if key not in self._models:
                self._forget_unused()
                label = f"predictor {predictor.name}"
                self._models[key] = self.build(key, stored.get("files"), label)
            return self._models[key]

    def remember(self, key: str, model: PythonModel) -> None:
        with self._lock:
            self._models[key] = model

    def build(self, key: str, files: str | None, label: str) -> PythonModel:
        """The stored `{"target", "artifacts"}` named `key` as a model: classes are built with
        their artifacts (a stored dict, or the paths of a stored folder)."""
        try:
            payload = self.store.load(key)
        except Error:
            raise
        except Exception as exc:  # noqa: BLE001 - unpickling imports and runs code
            raise ModelCodeError(
                f"{label}: cannot load its Python model: {type(exc).__name__}: {exc}",
                hint="the modules it was made from must be importable by this program "
                "(PYTHONPATH), in compatible versions",
            ) from exc
        target, artifacts = payload["target"], payload.get("artifacts")
        if files and isinstance(target, type):
            artifacts = artifact_paths(self.store.tree(files))
        return load_model(target, artifacts)

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        with self._lock:
            if self._pool is None:
                workers = min(32, (os.cpu_count() or 1) + 4)
                self._pool = concurrent.futures.ThreadPoolExecutor(workers, "byom-python")
            return self._pool.submit(fn, *args)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._models.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    def _forget_unused(self) -> None:
        """Drop models no current predictor uses (replaced or dropped ones)."""
        used = set()
        for p in self.catalog.predictors():
            stored = p.options.get("python") or {}
            used |= {stored.get("trained"), stored.get("object")}
        for key in [k for k in self._models if k not in used]:
            del self._models[key]


class PythonAdapter:
    """The executor's view: prepare in the query thread, call in the pool, decode the result."""

    def __init__(self, predictor: Predictor, runtime: PythonRuntime):
        self.predictor = predictor
        self.runtime = runtime
        self.model = runtime.model(predictor)
        self.where = f"predictor {predictor.name} (python {self.model.name})"

    def prepare(self, batch: pa.Table) -> tuple[int, Any]:
        return self.model.prepare(batch)

    def send(self, prepared: tuple[int, Any], policy: Policy) -> concurrent.futures.Future[Any]:
        return self.runtime.submit(self._call, prepared)

    def predictions(self, outcome: Any, rows: int) -> codec.Outputs:
        return codec.prediction_columns(outcome, self.predictor.targets, rows, self.where)

    def _call(self, prepared: tuple[int, Any]) -> Any:
        try:
            return self.model.call(prepared)
        except BaseException as exc:  # noqa: BLE001 - user code may raise anything, even SystemExit
            raise code_error(
                f"predictor {self.predictor.name}: {self.model.name}", exc, debug=self.runtime.debug
            ) from exc
