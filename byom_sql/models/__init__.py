"""Model formats. An adapter turns a batch of input rows into a pending call and its outcome
into columns; HTTP formats are pure encoders and decoders over the shared transport, the
python format calls user code in the engine's worker pool. `adapter_for` picks one by the
predictor's format."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Protocol

import pyarrow as pa

from byom_sql.catalog import Predictor
from byom_sql.errors import FeatureNotSupported, ModelError
from byom_sql.models import mlflow
from byom_sql.models.python import PythonAdapter, PythonRuntime
from byom_sql.models.ray_serve import RayServe
from byom_sql.models.transport import Policy, Request, Transport


class Adapter(Protocol):
    """`prepare` encodes (in the query's thread, while earlier calls are in flight), `send`
    starts the call, `predictions` decodes its outcome."""

    where: str  # names the predictor and endpoint in errors

    def prepare(self, batch: pa.Table) -> Any: ...
    def send(self, prepared: Any, policy: Policy) -> Future[Any]: ...
    def predictions(self, outcome: Any, rows: int) -> dict[str, list[Any]]: ...


_mlflow_versions: dict[str, int] = {}
_lock = threading.Lock()


def adapter_for(
    predictor: Predictor, transport: Transport, python: PythonRuntime, headers: dict[str, str]
) -> Adapter:
    """`headers`: the predictor's HTTP headers with their secrets resolved."""
    if predictor.format == "python":
        return PythonAdapter(predictor, python)
    if predictor.format == "ray_serve":
        return RayServe(predictor, transport, headers)
    if predictor.format == "mlflow":
        version = _mlflow_version(predictor, transport, headers)
        return mlflow.MLflow(predictor, transport, version, headers)
    raise FeatureNotSupported(f"predictor {predictor.name}: unknown format {predictor.format!r}")


def trainer_for(predictor: Predictor, transport: Transport, headers: dict[str, str]) -> RayServe:
    if predictor.format != "ray_serve":
        raise FeatureNotSupported(
            f"predictor {predictor.name}: format {predictor.format!r} has no train endpoint"
        )
    return RayServe(predictor, transport, headers)


def _mlflow_version(predictor: Predictor, transport: Transport, headers: dict[str, str]) -> int:
    chosen = predictor.options.get("mlflow_version", "auto")
    if chosen != "auto":
        return int(chosen)
    url = mlflow.version_url(predictor.options["url.predict"])
    with _lock:
        if url in _mlflow_versions:
            return _mlflow_versions[url]
    try:
        reply = transport.call(Request("GET", url, headers=headers), Policy(timeout=5.0, retries=0))
    except ModelError:
        return 2  # the predict call will say what is wrong with the endpoint
    version = mlflow.parse_version(reply)
    with _lock:
        _mlflow_versions[url] = version
    return version
