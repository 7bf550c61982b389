"""Model wire formats. Each adapter is pure: Arrow rows → Request, Reply → columns; the
transport does the I/O. `adapter_for` picks one by the predictor's format."""

from __future__ import annotations

import threading
from typing import Any, Protocol

import pyarrow as pa

from byom_sql.catalog import Predictor
from byom_sql.errors import FeatureNotSupported, ModelError
from byom_sql.models import mlflow
from byom_sql.models.ray_serve import RayServe
from byom_sql.models.transport import Policy, Reply, Request, Transport


class Adapter(Protocol):
    def predict_request(self, table: pa.Table) -> Request: ...
    def predictions(self, reply: Reply, rows: int, where: str) -> dict[str, list[Any]]: ...


_mlflow_versions: dict[str, int] = {}
_lock = threading.Lock()


def adapter_for(predictor: Predictor, transport: Transport) -> Adapter:
    if predictor.format == "ray_serve":
        return RayServe(predictor)
    if predictor.format == "mlflow":
        return mlflow.MLflow(predictor, _mlflow_version(predictor, transport))
    raise FeatureNotSupported(f"predictor {predictor.name}: unknown format {predictor.format!r}")


def trainer_for(predictor: Predictor) -> RayServe:
    if predictor.format != "ray_serve":
        raise FeatureNotSupported(
            f"predictor {predictor.name}: format {predictor.format!r} has no train endpoint"
        )
    return RayServe(predictor)


def _mlflow_version(predictor: Predictor, transport: Transport) -> int:
    chosen = predictor.options.get("mlflow_version", "auto")
    if chosen != "auto":
        return int(chosen)
    url = mlflow.version_url(predictor.options["url.predict"])
    with _lock:
        if url in _mlflow_versions:
            return _mlflow_versions[url]
    try:
        reply = transport.call(Request("GET", url), Policy(timeout=5.0, retries=0))
    except ModelError:
        return 2  # the predict call will say what is wrong with the endpoint
    version = mlflow.parse_version(reply)
    with _lock:
        _mlflow_versions[url] = version
    return version
