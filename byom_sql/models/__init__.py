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
from byom_sql.errors import (
    FeatureNotSupported,
    InvalidOption,
    ModelError,
    ModelProtocolError,
    ModelUnavailable,
)
from byom_sql.models import codec, json_api, mlflow, tensors
from byom_sql.models.json_api import JsonApi
from byom_sql.models.python import PythonAdapter, PythonRuntime
from byom_sql.models.ray_serve import RayServe
from byom_sql.models.tensors import OpenInference
from byom_sql.models.transport import Policy, Request, Transport


class Adapter(Protocol):
    """`prepare` encodes (in the query's thread, while earlier calls are in flight), `send`
    starts the call, `predictions` decodes its outcome."""

    where: str  # names the predictor and endpoint in errors

    def prepare(self, batch: pa.Table) -> Any: ...
    def send(self, prepared: Any, policy: Policy) -> Future[Any]: ...
    def predictions(self, outcome: Any, rows: int) -> codec.Outputs: ...


_mlflow_versions: dict[str, int] = {}
_lock = threading.Lock()


def adapter_for(
    predictor: Predictor,
    transport: Transport,
    python: PythonRuntime,
    headers: dict[str, str],
    *,
    probe: bool = True,
) -> Adapter:
    """`headers`: the predictor's HTTP headers with their secrets resolved. Without `probe`,
    an MLflow server's generation is not asked for (EXPLAIN calls no endpoint): the one seen
    before, else 2."""
    if predictor.format == "python":
        return PythonAdapter(predictor, python)
    if predictor.format == "ray_serve":
        return RayServe(predictor, transport, headers)
    if predictor.format == "mlflow":
        version = _mlflow_version(predictor, transport, headers, probe)
        return mlflow.MLflow(predictor, transport, version, headers)
    if predictor.format == "oip":
        return OpenInference(predictor, transport, headers)
    if predictor.format in ("json", "bentoml"):
        return JsonApi(predictor, transport, headers)
    raise FeatureNotSupported(f"predictor {predictor.name}: unknown format {predictor.format!r}")


def trainer_for(predictor: Predictor, transport: Transport, headers: dict[str, str]) -> RayServe:
    if predictor.format != "ray_serve":
        raise FeatureNotSupported(
            f"predictor {predictor.name}: format {predictor.format!r} has no train endpoint"
        )
    return RayServe(predictor, transport, headers)


PROBE_FAILURES = frozenset({404, 502, 503, 504})


def check_endpoint(
    predictor: Predictor, transport: Transport, headers: dict[str, str], policy: Policy
) -> None:
    """Fail unless the predictor's endpoint answers: MLflow's GET /ping must say 200; for
    other formats a GET of the predict URL must get an HTTP answer that is not 404 (no such
    route) or a gateway's 502-504 (nothing behind it). No rows are sent."""
    url = predictor.options["url.predict"]
    if predictor.format == "mlflow":
        probe = mlflow.beside(url, "ping")
        reply = transport.call(Request("GET", probe, headers=headers), policy)
        good = 200 <= reply.status < 300
    else:
        probe = url
        reply = transport.call(Request("GET", probe, headers=headers), policy)
        good = reply.status not in PROBE_FAILURES
    if not good and policy.opaque:  # a network client learns nothing of what answers there
        raise ModelUnavailable(f"{policy.label}: the model endpoint failed")
    if not good:
        raise ModelUnavailable(
            f"{policy.label}: the endpoint does not answer: GET {probe} gave HTTP {reply.status}",
            hint="check url.predict and that the model server is up",
        )


def discover(
    predictor: Predictor, transport: Transport, headers: dict[str, str], policy: Policy
) -> dict[str, Any]:
    """Options read from the endpoint at CREATE PREDICTOR (this is also its check): an Open
    Inference server's model metadata, a BentoML service's parameter name and layout."""
    url = predictor.options["url.predict"]
    if predictor.format == "oip":
        metadata = tensors.model_url(url)
        assert metadata is not None  # validate_predictor checked the route
        model = _get_json(metadata, transport, headers, policy, "the model's metadata")
        try:
            server = _get_json(tensors.server_url(url), transport, headers, policy, "")
        except ModelError:
            server = None  # only tells whether binary tensors are read
        try:
            return tensors.discovered(predictor.options, predictor.targets, model, server)
        except ModelProtocolError:
            if policy.opaque:  # the metadata's content stays on the server
                raise ModelUnavailable(f"{policy.label}: the model endpoint failed") from None
            raise
    if predictor.format == "bentoml" and "body_key" not in predictor.options:
        document = _get_json(json_api.docs_url(url), transport, headers, policy, "")
        found = json_api.bentoml_options(document, url)
        if not found:
            raise InvalidOption(
                f"predictor {predictor.name}: the service's API document does not describe "
                f"{url} as an API with one parameter",
                hint="give body_key (the API's parameter name) and request_layout",
                key="body_key",
            )
        return found
    check_endpoint(predictor, transport, headers, policy)
    return {}


def _get_json(
    url: str, transport: Transport, headers: dict[str, str], policy: Policy, what: str
) -> dict[str, Any]:
    """A JSON object from the endpoint; a network client learns only that it failed."""
    reply = transport.call(Request("GET", url, headers=headers), policy)
    try:
        if reply.status != 200:
            raise ModelUnavailable(
                f"{policy.label}: GET {url} gave HTTP {reply.status}: {codec.error_text(reply)}",
                hint=f"check url.predict{' (it names the model)' if what else ''} and that "
                "the model server is up",
            )
        value = codec.parse_reply(reply, policy.label)
        if not isinstance(value, dict):
            raise ModelProtocolError(f"{policy.label}: GET {url} did not answer a JSON object")
    except ModelError:
        if policy.opaque:
            raise ModelUnavailable(f"{policy.label}: the model endpoint failed") from None
        raise
    return value


def _mlflow_version(
    predictor: Predictor, transport: Transport, headers: dict[str, str], probe: bool
) -> int:
    chosen = predictor.options.get("mlflow_version", "auto")
    if chosen != "auto":
        return int(chosen)
    url = mlflow.version_url(predictor.options["url.predict"])
    with _lock:
        if url in _mlflow_versions or not probe:
            return _mlflow_versions.get(url, 2)
    try:
        reply = transport.call(Request("GET", url, headers=headers), Policy(timeout=5.0, retries=0))
    except ModelError:
        return 2  # the predict call will say what is wrong with the endpoint
    version = mlflow.parse_version(reply)
    with _lock:
        _mlflow_versions[url] = version
    return version
