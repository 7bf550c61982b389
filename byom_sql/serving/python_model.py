"""One Python model behind HTTP, speaking both contracts byom_sql's remote formats use, so the
same class can back a `ray_serve` or an `mlflow` predictor of another engine
(`byom-sql serve-model pkg.mod:MyModel`).

    POST /predict      {"df": "<JSON of the rows>"} → {"prediction": [...], <other outputs>}
    POST /train        {"df": "<JSON of the rows>", "target": "y"} → {"status": "ok"}
                       (only when the model has a `train(df, target)` method)
    POST /invocations  MLflow: dataframe_split, dataframe_records, inputs, instances, text/csv,
                       MLflow 1 bare bodies → {"predictions": [...]}
    GET  /ping, /health → 200 · GET /version → "byom-sql <version>"

Standard library HTTP: a thread per connection, in which the model runs. A bad request gets
400, an exception in the model 500, both as `{"error_code": …, "message": …}`.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pyarrow as pa

from byom_sql import __version__
from byom_sql.errors import Error
from byom_sql.models.codec import dumps
from byom_sql.models.python import PythonModel, code_error

log = logging.getLogger(__name__)

Answer = tuple[int, str, bytes]
JSON = "application/json"


class BadRequest(Exception):
    pass


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

    def handle(self, method: str, target: str, content_type: str, body: bytes) -> Answer:
        path = urlsplit(target).path.rstrip("/") or "/"
        routes = self.routes()
        if path not in routes:
            return _error(404, "NOT_FOUND", f"no route {path}; routes: {', '.join(routes)}")
        if method != routes[path]:
            return _error(405, "METHOD_NOT_ALLOWED", f"{path} takes {routes[path]}")
        route = path[len(self.prefix) :]
        try:
            if route in ("/ping", "/health"):
                return 200, "text/plain", b"\n"
            if route == "/version":
                return 200, "text/plain", f"byom-sql {__version__}".encode()
            if route == "/invocations":
                return _json(
                    {"predictions": _records(self._predict(_mlflow_rows(content_type, body)))}
                )
            document = _json_body(body)
            rows = _frame(document.get("df"))
            if route == "/train":
                return self._train(rows, document.get("target"))
            return _json(_ray_reply(self._predict(rows)))
        except BadRequest as exc:
            return _error(400, "BAD_REQUEST", str(exc))
        except Error as exc:
            return _error(500, "INTERNAL_ERROR", exc.message)
        except Exception as exc:  # noqa: BLE001 - an output we cannot write: keep serving
            log.exception("%s %s failed", method, path)
            return _error(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")

    def _predict(self, rows: pa.Table) -> Any:
        try:
            prepared = self.model.prepare(rows)
        except Error as exc:
            raise BadRequest(exc.message) from None
        try:
            return self.model.call(prepared)
        except Exception as exc:  # noqa: BLE001 - user code
            raise code_error(self.model.name, exc, debug=self.debug) from exc

    def _train(self, rows: pa.Table, target: Any) -> Answer:
        if not isinstance(target, str | list):
            raise BadRequest('the body needs "target": the column (or columns) to predict')
        trainer = self.model.target.train
        with self._training:
            try:
                trainer(rows.to_pandas(), target)
            except Exception as exc:  # noqa: BLE001 - user code
                label = f"{self.model.name.rsplit('.', 1)[0]}.train"
                raise code_error(label, exc, debug=self.debug) from exc
        return _json({"status": "ok"})


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body or b"null")
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadRequest("the body should be a JSON object")
    return document


def _frame(value: Any, columns: list[str] | None = None) -> pa.Table:
    """Rows from any layout pandas reads: records, columns, {column: {index: value}}, or a
    JSON string of one of those (the ray_serve contract nests the frame as a string)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise BadRequest(f'"df" is not a JSON string of the rows: {exc}') from None
    if value is None:
        raise BadRequest('the body needs "df": the rows to predict')
    try:
        frame = pd.DataFrame(value, columns=columns)
        frame.columns = [str(c) for c in frame.columns]
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (ValueError, TypeError, pa.ArrowException) as exc:
        raise BadRequest(f"cannot read the rows: {exc}") from None


def _mlflow_rows(content_type: str, body: bytes) -> pa.Table:
    """Every body `mlflow models serve` accepts, MLflow 1's bare ones included."""
    if content_type.split(";")[0].strip().lower() == "text/csv":
        try:
            return pa.Table.from_pandas(pd.read_csv(io.BytesIO(body)), preserve_index=False)
        except (ValueError, pa.ArrowException) as exc:
            raise BadRequest(f"cannot read the CSV body: {exc}") from None
    try:
        document = json.loads(body or b"null")
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if isinstance(document, dict):
        for key in ("dataframe_split", "dataframe_records", "inputs", "instances"):
            if key in document:
                document = document[key]
                break
    if isinstance(document, dict) and "data" in document:  # split: {"columns", "data"}
        return _frame(document["data"], document.get("columns"))
    return _frame(document)


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
    if not isinstance(value, dict):
        return value
    names = list(value)
    return [dict(zip(names, row, strict=True)) for row in zip(*value.values(), strict=True)]


def _json(value: Any) -> Answer:
    return 200, JSON, dumps(value)


def _error(status: int, code: str, message: str) -> Answer:
    return status, JSON, dumps({"error_code": code, "message": message})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as model clients expect
    server: Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._answer("POST")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, content_type, data = self.server.app.handle(
            method, self.path, self.headers.get("Content-Type", ""), body
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the parent's name
        log.info("%s %s", self.address_string(), format % args)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: App, host: str, port: int):
        super().__init__((host, port), _Handler)
        self.app = app

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{self.app.prefix}"
