"""A small model server for tests: speaks the ray_serve and MLflow contracts, records every
request, and can be told to misbehave (status, delay, short reply, HTML, invalid JSON, drop the
connection, a reply that never ends, drips, is huge, or redirects) or to reject every batch that
holds a poison value (HTTP 422). It runs on the serving core
every model server of byom_sql uses (byom_sql/serving/http.py).

The model is a formula, so tests can check every prediction: the prediction for a row is the
sum of its numeric values (strings count their length), confidence is 0.5.

    /ray/train        POST {"df": "<json>", "target": "t"}  → {"status": "ok"}
    /ray/predict      POST {"df": "<json>"} → {"prediction": [...], "confidence": [...]}
    /mlflow/invocations  POST dataframe_split|_records|inputs|instances → {"predictions": [...]}
    /mlflow/version   GET → "2.17.0" (or "1.30.0" with mlflow_major = 1: bare lists, pandas-split)
    /json/…           POST rows in any layout of format 'json', under any key path
                      → {"predictions": [...]} (…/nested: {"output": {"scores": [...]}})
    /health           GET → ok
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from byom_sql.serving.bodies import columns_of, mlflow_columns, rows_of
from byom_sql.serving.http import DROP, HttpServer, Request, Response


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
    endless: bool = False  # a reply whose body never ends
    drip: float | None = None  # a right reply, one byte every `drip` seconds
    huge: int | None = None  # a reply of this many bytes (streamed, never held)
    redirect: str | None = None  # answer 307 to this URL
    cookie: str | None = None  # a right reply that sets this cookie


@dataclass
class Recorded:
    path: str
    rows: int
    columns: list[str]
    data: list[dict[str, Any]]
    body: dict[str, Any] | list[Any]
    headers: httpx.Headers  # names in any case
    size: int = 0  # bytes of the request body
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


class ModelServer(HttpServer):
    def __init__(self, mlflow_major: int = 2):
        super().__init__(self.answer)
        self.mlflow_major = mlflow_major
        self.requests: list[Recorded] = []
        self.trained: list[Recorded] = []
        self.misbehaviour: Misbehaviour | None = None
        self.poison: dict[str, Any] = {}  # column → value: a batch holding it gets HTTP 422
        self.train_error: str | None = None
        self.train_delay = 0.0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.trained.clear()
            self.misbehaviour = None
            self.poison = {}
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

    def answer(self, request: Request) -> Response:
        path = request.path
        if request.method == "GET":
            if path.endswith("/version"):
                version = "1.30.0" if self.mlflow_major == 1 else "2.17.0"
                return Response(200, version.encode(), "text/plain")
            if path.endswith(("/health", "/ping")):
                return Response(200, b"ok", "text/plain")
            if path.endswith(("/predict", "/invocations")) or path.startswith("/json/"):
                return Response(405, b'{"detail": "Method Not Allowed"}')
            return Response(404, b'{"detail": "Not Found"}')
        try:
            body = json.loads(request.body)
        except ValueError:
            return Response(400, b'{"message": "body is not JSON"}')
        if path.endswith("/train"):
            record = _record(path, rows_of(columns_of(body["df"])), body, request.headers)
            self.trained.append(record)
            time.sleep(self.train_delay)
            if self.train_error:
                return Response(500, self.train_error.encode(), "text/plain")
            return Response(200, b'{"status": "ok"}')
        if path.endswith("/predict"):
            frame = rows_of(columns_of(body["df"]))
        elif path.endswith("/invocations"):
            frame = rows_of(mlflow_columns(request.content_type, request.body))
        elif path.startswith("/json/"):
            frame = _json_rows(body)
        else:
            return Response(404, b'{"detail": "Not Found"}')
        record = _record(path, frame, body, request.headers)
        record.size = len(request.body)
        self.requests.append(record)
        try:
            return self._reply(path, frame, self._take_misbehaviour())
        finally:
            record.finished = time.monotonic()

    def _reply(self, path: str, frame: list[dict[str, Any]], m: Misbehaviour | None) -> Response:
        for column, value in self.poison.items():
            if any(row.get(column) == value for row in frame):
                message = f"cannot score {column} = {value}"
                return Response(422, json.dumps({"detail": message}).encode())
        if m and m.delay:
            time.sleep(m.delay)
        if m and m.drop:
            return DROP
        if m and m.redirect:
            return Response(307, b"", "text/plain", {"Location": m.redirect})
        if m and m.endless:
            return Response(200, itertools.repeat(b'{"prediction": [' + b"1, " * 1000))
        if m and m.huge:
            return Response(200, _filler(m.huge), length=m.huge)
        if m and m.status:
            extra = {"Retry-After": m.retry_after} if m.retry_after else {}
            return Response(m.status, m.body or b"", m.content_type, extra)
        if m and m.body is not None:
            return Response(200, m.body, m.content_type)
        predictions = [score(row) for row in frame]
        if m and m.short:
            predictions = predictions[:-1]
        reply: Any
        if path.endswith("/predict"):
            reply = {"prediction": predictions, "confidence": [0.5] * len(predictions)}
        elif path.startswith("/json/"):
            nested = path.endswith("/nested")
            reply = {"output": {"scores": predictions}} if nested else {"predictions": predictions}
        elif self.mlflow_major == 1:
            reply = predictions
        else:
            reply = {"predictions": predictions}
        data = json.dumps(reply).encode()
        if m and m.drip:
            return Response(200, _dripped(data, m.drip), length=len(data))
        if m and m.cookie:
            return Response(200, data, headers={"Set-Cookie": f"{m.cookie}; Path=/"})
        return Response(200, data)


def _json_rows(body: Any) -> list[dict[str, Any]]:
    """Rows of any layout of format 'json', under any chain of one-key objects: records,
    split, columns, or rows as lists (named c0, c1, …)."""
    while isinstance(body, dict) and len(body) == 1:
        (inner,) = body.values()
        rows = isinstance(inner, list) and bool(inner) and isinstance(inner[0], dict | list)
        if not (isinstance(inner, dict) or rows):
            break
        body = inner
    if isinstance(body, dict) and set(body) == {"columns", "data"}:
        return [dict(zip(body["columns"], row, strict=True)) for row in body["data"]]
    if isinstance(body, dict):
        return rows_of(columns_of(body))
    return [r if isinstance(r, dict) else {f"c{i}": v for i, v in enumerate(r)} for r in body]


def _filler(size: int) -> Iterator[bytes]:
    chunk = b" " * 65536
    for _ in range(size // len(chunk)):
        yield chunk
    yield b" " * (size % len(chunk))


def _dripped(data: bytes, pause: float) -> Iterator[bytes]:
    for byte in data:
        time.sleep(pause)
        yield bytes([byte])


def _record(path: str, frame: list[dict[str, Any]], body: Any, headers: dict[str, str]) -> Recorded:
    columns = list(frame[0]) if frame else []
    return Recorded(path, len(frame), columns, frame, body, httpx.Headers(headers))
