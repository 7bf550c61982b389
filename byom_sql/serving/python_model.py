"""One Python model behind HTTP, speaking both contracts byom_sql's remote formats use, so the
same class can back a `ray_serve` or an `mlflow` predictor of another engine
(`byom-sql serve-model pkg.mod:MyModel`).

    POST /predict      {"df": "<JSON of the rows>"} → {"prediction": [...], <other outputs>}
    POST /train        {"df": "<JSON of the rows>", "target": "y"} → {"status": "ok"}
                       (only when the model has a `train(df, target)` method)
    POST /invocations  MLflow: dataframe_split, dataframe_records, inputs, instances, text/csv,
                       MLflow 1 bare bodies → {"predictions": [...]}
    GET  /ping, /health → 200 · GET /version → "byom-sql <version>"

On the serving core (http.py): a thread per connection, in which the model runs. A bad request
gets 400, an exception in the model 500, both as `{"error_code": …, "message": …}`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from byom_sql import __version__
from byom_sql.errors import Error
from byom_sql.models.codec import dumps
from byom_sql.models.python import PythonModel, code_error
from byom_sql.serving.bodies import Columns, columns_of, mlflow_columns, rows_of
from byom_sql.serving.http import BadRequest, HttpServer, Request, Response, json_response

log = logging.getLogger(__name__)


@dataclass
class App:
    """Requests to answers, without sockets."""

    model: PythonModel
    prefix: str = ""  # mount the routes under /<prefix>, as Ray Serve's route_prefix does
    debug: bool = False
    _training: threading.Lock = field(default_factory=threading.Lock)

    @property
    def trainable(self) -> bool:
        return callable(getattr(self.model.target, "train", None))

    def routes(self) -> dict[str, str]:
        routes = {"/predict": "POST", "/invocations": "POST", "/ping": "GET", "/health": "GET"}
        routes["/version"] = "GET"
        if self.trainable:
            routes["/train"] = "POST"
        return {f"{self.prefix}{path}": method for path, method in routes.items()}

    def handle(self, request: Request) -> Response:
        path, routes = request.path, self.routes()
        if path not in routes:
            return _error(404, "NOT_FOUND", f"no route {path}; routes: {', '.join(routes)}")
        if request.method != routes[path]:
            return _error(405, "METHOD_NOT_ALLOWED", f"{path} takes {routes[path]}")
        route = path[len(self.prefix) :]
        try:
            if route in ("/ping", "/health"):
                return Response(200, b"\n", "text/plain")
            if route == "/version":
                return Response(200, f"byom-sql {__version__}".encode(), "text/plain")
            if route == "/invocations":
                rows = mlflow_columns(request.content_type, request.body)
                return _json({"predictions": _records(self._predict(rows))})
            document = request.json()
            if not isinstance(document, dict):
                raise BadRequest("the body should be a JSON object")
            rows = columns_of(document.get("df"))
            if route == "/train":
                return self._train(rows, document.get("target"))
            return _json(_ray_reply(self._predict(rows)))
        except BadRequest as exc:
            return _error(400, "BAD_REQUEST", str(exc))
        except Error as exc:
            return _error(500, "INTERNAL_ERROR", exc.message)
        except Exception as exc:  # noqa: BLE001 - an output we cannot write: keep serving
            log.exception("%s %s failed", request.method, path)
            return _error(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")

    def _predict(self, columns: Columns) -> Any:
        try:
            prepared = self.model.prepare(_table(columns))
        except Error as exc:
            raise BadRequest(exc.message) from None
        try:
            return self.model.call(prepared)
        except Exception as exc:  # noqa: BLE001 - user code
            raise code_error(self.model.name, exc, debug=self.debug) from exc

    def _train(self, columns: Columns, target: Any) -> Response:
        if not isinstance(target, str | list):
            raise BadRequest('the body needs "target": the column (or columns) to predict')
        trainer = self.model.target.train
        with self._training:
            try:
                trainer(_table(columns).to_pandas(), target)
            except Exception as exc:  # noqa: BLE001 - user code
                label = f"{self.model.name.rsplit('.', 1)[0]}.train"
                raise code_error(label, exc, debug=self.debug) from exc
        return _json({"status": "ok"})


def _table(columns: Columns) -> pa.Table:
    try:
        return pa.table(columns)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise BadRequest(f"cannot read the rows: {exc}") from None


def _ray_reply(value: Any) -> dict[str, Any]:
    """`{"prediction": [...], <extra outputs>}`: the first output is the prediction unless
    one is named so."""
    if not isinstance(value, dict):
        return {"prediction": value}
    if "prediction" in value or not value:
        return value
    first = next(iter(value))
    return {"prediction": value[first]} | {k: v for k, v in value.items() if k != first}


def _records(value: Any) -> Any:
    """A DataFrame-like output as MLflow writes one: a list of row objects."""
    return rows_of(value) if isinstance(value, dict) else value


def _json(value: Any) -> Response:
    return json_response(value, dumps=dumps)


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"error_code": code, "message": message}, status, dumps)


class Server(HttpServer):
    """The app on a socket: `with Server(app, host, port) as s:` serves in a thread."""

    def __init__(self, app: App, host: str, port: int):
        super().__init__(app.handle, host, port)
        self.app = app

    @property
    def url(self) -> str:
        return f"{super().url}{self.app.prefix}"
