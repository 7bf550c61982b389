"""A small model server for tests: speaks the ray_serve and MLflow contracts, records every
request, and can be told to misbehave (status, delay, short reply, HTML, invalid JSON, drop the
connection).

The model is a formula, so tests can check every prediction: the prediction for a row is the
sum of its numeric values (strings count their length), confidence is 0.5.

    /ray/train        POST {"df": "<json>", "target": "t"}  → {"status": "ok"}
    /ray/predict      POST {"df": "<json>"} → {"prediction": [...], "confidence": [...]}
    /mlflow/invocations  POST dataframe_split|_records|inputs|instances → {"predictions": [...]}
    /mlflow/version   GET → "2.17.0" (or "1.30.0" with mlflow_major = 1: bare lists, pandas-split)
    /health           GET → ok
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Misbehaviour:
    status: int | None = None  # answer with this HTTP status
    body: bytes | None = None  # … and this body
    content_type: str = "application/json"
    delay: float = 0.0  # seconds before answering
    short: bool = False  # one prediction fewer than rows
    times: int | None = None  # misbehave this many times, then behave (None: always)
    drop: bool = False  # close the connection without answering
    retry_after: str | None = None


@dataclass
class Recorded:
    path: str
    rows: int
    columns: list[str]
    data: list[dict[str, Any]]
    body: dict[str, Any] | list[Any]
    headers: dict[str, str]
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None


def score(row: dict[str, Any], skip: set[str] | None = None) -> float:
    total = 0.0
    for key, value in row.items():
        if skip and key in skip:
            continue
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            total += value
        elif isinstance(value, str):
            total += len(value)
    return total


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 resets connections when many clients call at once

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that give up (cancelled or timed-out queries) are expected here: stay quiet
        rather than print to stderr, which tests of the command line read."""


class ModelServer:
    def __init__(self, mlflow_major: int = 2):
        self.mlflow_major = mlflow_major
        self.requests: list[Recorded] = []
        self.trained: list[Recorded] = []
        self.misbehaviour: Misbehaviour | None = None
        self.train_error: str | None = None
        self.train_delay = 0.0
        self._lock = threading.Lock()
        self._httpd = _HTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> ModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.trained.clear()
            self.misbehaviour = None
            self.train_error = None
            self.train_delay = 0.0

    def predict_requests(self) -> list[Recorded]:
        return [r for r in self.requests if not r.path.endswith("/train")]

    def rows_received(self) -> int:
        return sum(r.rows for r in self.predict_requests())

    def max_overlap(self) -> int:
        """Most predict requests of this test that were being answered at the same time."""
        spans = [(r.started, r.finished or time.monotonic()) for r in self.predict_requests()]
        return max((sum(1 for s, e in spans if s <= start < e) for start, _ in spans), default=0)

    def _take_misbehaviour(self) -> Misbehaviour | None:
        with self._lock:
            m = self.misbehaviour
            if m is None:
                return None
            if m.times is not None:
                if m.times <= 0:
                    return None
                m.times -= 1
            return m

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # as real servers (uvicorn, Ray Serve) do: otherwise headers and body leave in two
            # segments and the client's delayed ACK adds ~40 ms to every call
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.endswith("/version"):
                    version = "1.30.0" if server.mlflow_major == 1 else "2.17.0"
                    self._send(200, version.encode(), "text/plain")
                elif self.path.endswith(("/health", "/ping")):
                    self._send(200, b"ok", "text/plain")
                else:
                    self._send(404, b'{"detail": "Not Found"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                try:
                    self._post(self.rfile.read(length))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a cancelled or timed-out query)

            def _post(self, raw: bytes) -> None:
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(400, b'{"message": "body is not JSON"}')
                    return
                path = self.path
                if path.endswith("/train"):
                    frame = _frame(json.loads(body["df"]))
                    server.trained.append(_record(path, frame, body, self.headers))
                    time.sleep(server.train_delay)
                    if server.train_error:
                        self._send(500, server.train_error.encode(), "text/plain")
                    else:
                        self._send(200, b'{"status": "ok"}')
                    return
                if path.endswith("/predict"):
                    frame = _frame(json.loads(body["df"]))
                elif path.endswith("/invocations"):
                    frame = _mlflow_frame(body, self.headers.get("Content-Type", ""))
                else:
                    self._send(404, b'{"detail": "Not Found"}')
                    return
                record = _record(path, frame, body, self.headers)
                server.requests.append(record)
                try:
                    self._answer(path, frame, server._take_misbehaviour())
                finally:
                    record.finished = time.monotonic()

            def _answer(
                self, path: str, frame: list[dict[str, Any]], m: Misbehaviour | None
            ) -> None:
                if m and m.delay:
                    time.sleep(m.delay)
                if m and m.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if m and m.status:
                    extra = {"Retry-After": m.retry_after} if m.retry_after else {}
                    self._send(m.status, m.body or b"", m.content_type, extra)
                    return
                if m and m.body is not None:
                    self._send(200, m.body, m.content_type)
                    return
                predictions = [score(row) for row in frame]
                if m and m.short:
                    predictions = predictions[:-1]
                if path.endswith("/predict"):
                    reply: Any = {"prediction": predictions, "confidence": [0.5] * len(predictions)}
                elif server.mlflow_major == 1:
                    reply = predictions
                else:
                    reply = {"predictions": predictions}
                self._send(200, json.dumps(reply).encode())

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str = "application/json",
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _frame(value: Any) -> list[dict[str, Any]]:
    """Rows from what pandas would accept: records, or a dict of columns."""
    if isinstance(value, list):
        return value
    columns = list(value)
    cells = [list(v.values()) if isinstance(v, dict) else v for v in value.values()]
    return [dict(zip(columns, row, strict=True)) for row in zip(*cells, strict=True)]


def _mlflow_frame(body: Any, content_type: str) -> list[dict[str, Any]]:
    if "format=pandas-split" in content_type:
        return [dict(zip(body["columns"], row, strict=True)) for row in body["data"]]
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        return [dict(zip(split["columns"], row, strict=True)) for row in split["data"]]
    if "dataframe_records" in body:
        return body["dataframe_records"]
    if "instances" in body:
        return body["instances"]
    if "inputs" in body:
        return _frame(body["inputs"])
    raise ValueError("unknown MLflow body")


def _record(path: str, frame: list[dict[str, Any]], body: Any, headers: Any) -> Recorded:
    columns = list(frame[0]) if frame else []
    return Recorded(path, len(frame), columns, frame, body, dict(headers))
