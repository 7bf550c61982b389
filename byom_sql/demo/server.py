"""A small model server speaking the Ray Serve contract of MindsDB's BYOM (the seed), so the
demo needs nothing but this package. It trains `model.LogisticRegression` on numeric features.

    POST {prefix}/train    {"df": "<JSON of the rows>", "target": "<column>"} → {"status": "ok"}
    POST {prefix}/predict  {"df": "<JSON of the rows>"} → {"prediction": [...], "confidence": [...]}
    GET  {prefix}/health   → {"status": "ok", "trained": true|false}

The frame may be records (`[{col: value}, …]`) or columns (`{col: [values]}` or pandas'
`{col: {index: value}}`), the two layouts MindsDB sent. Bad input gets a 400 with a message.

    python -m byom_sql.demo.server --port 8000     # serve it on its own, at /my_model
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from byom_sql.demo.model import LogisticRegression

PREFIX = "/my_model"


class BadRequest(Exception):
    pass


class ModelServer:
    """The HTTP server and the one model it holds; `with ModelServer() as s:` serves on a free
    127.0.0.1 port in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, prefix: str = PREFIX):
        self.prefix = prefix
        self.model: LogisticRegression | None = None
        self.features: list[str] = []
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}{prefix}"
        self._thread: threading.Thread | None = None

    def start(self) -> ModelServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def train(self, body: Any) -> dict[str, Any]:
        target = body.get("target") if isinstance(body, dict) else None
        if isinstance(target, list) and len(target) == 1:
            target = target[0]
        if not isinstance(target, str):
            raise BadRequest("'target' must name the one column to predict")
        frame = _frame(body)
        if target not in frame:
            raise BadRequest(f"the rows have no column {target!r} (they have {', '.join(frame)})")
        labels = frame.pop(target)
        if None in labels:
            raise BadRequest(f"column {target!r} has NULLs: filter them out of the training query")
        features = sorted(frame)
        if not features or not labels:
            raise BadRequest("training needs at least one row and one feature column")
        model = LogisticRegression.fit(_matrix(frame, features), labels)
        self.model, self.features = model, features
        return {"status": "ok"}

    def predict(self, body: Any) -> dict[str, Any]:
        model, features = self.model, self.features
        if model is None:
            raise BadRequest(f"the model is not trained: POST {self.prefix}/train first")
        frame = _frame(body)
        missing = [f for f in features if f not in frame]
        if missing:
            raise BadRequest(f"the rows lack feature column(s) {', '.join(missing)}")
        labels, confidence = model.predict(_matrix(frame, features))
        return {"prediction": labels, "confidence": confidence}


def _frame(body: Any) -> dict[str, list[Any]]:
    """Columns of the `df` member, whichever layout it came in."""
    if not isinstance(body, dict) or not isinstance(body.get("df"), str):
        raise BadRequest("the body must be a JSON object with 'df', a JSON string of the rows")
    try:
        value = json.loads(body["df"])
    except ValueError as exc:
        raise BadRequest(f"'df' is not valid JSON: {exc}") from None
    if isinstance(value, list):
        if not all(isinstance(row, dict) for row in value):
            raise BadRequest("'df' as a list must hold one object per row")
        names = list(value[0]) if value else []
        return {name: [row.get(name) for row in value] for name in names}
    if isinstance(value, dict):
        return {
            name: list(cells.values()) if isinstance(cells, dict) else list(cells)
            for name, cells in value.items()
        }
    raise BadRequest("'df' must hold a list of rows or an object of columns")


def _matrix(frame: dict[str, list[Any]], features: list[str]) -> np.ndarray:
    try:
        return np.column_stack([np.asarray(frame[f], dtype=float) for f in features])
    except (TypeError, ValueError):
        raise BadRequest(
            f"this model takes numeric features only, without NULLs: {', '.join(features)}"
        ) from None


def _handler(server: ModelServer) -> type[BaseHTTPRequestHandler]:
    routes = {f"{server.prefix}/train": server.train, f"{server.prefix}/predict": server.predict}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == f"{server.prefix}/health":
                self._send(200, {"status": "ok", "trained": server.model is not None})
            else:
                self._send(404, {"error": f"no such route: GET {self.path}"})

        def do_POST(self) -> None:
            route = routes.get(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if route is None:
                self._send(404, {"error": f"no such route: POST {self.path}"})
                return
            try:
                value = json.loads(body)
            except ValueError:
                self._send(400, {"error": "the body is not valid JSON"})
                return
            try:
                self._send(200, route(value))
            except BadRequest as exc:
                self._send(400, {"error": str(exc)})
            except Exception as exc:  # a model server answers every request, it does not die
                self._send(500, {"error": f"{type(exc).__name__}: {exc}"})

        def _send(self, status: int, value: Any) -> None:
            data = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = ModelServer(args.host, args.port)
    print(f"serving {server.url}/train and {server.url}/predict; Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
