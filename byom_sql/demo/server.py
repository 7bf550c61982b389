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
from collections.abc import Callable
from typing import Any

import numpy as np

from byom_sql.demo.model import LogisticRegression
from byom_sql.serving.bodies import Columns, columns_of
from byom_sql.serving.http import BadRequest, HttpServer, Request, Response, json_response

PREFIX = "/my_model"


class ModelServer(HttpServer):
    """The HTTP server and the one model it holds; `with ModelServer() as s:` serves on a free
    127.0.0.1 port in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, prefix: str = PREFIX):
        super().__init__(self.answer, host, port)
        self.prefix = prefix
        self.model: LogisticRegression | None = None
        self.features: list[str] = []

    @property
    def url(self) -> str:
        return f"{super().url}{self.prefix}"

    def answer(self, request: Request) -> Response:
        routes: dict[tuple[str, str], Callable[[Any], dict[str, Any]]] = {
            ("POST", f"{self.prefix}/train"): self.train,
            ("POST", f"{self.prefix}/predict"): self.predict,
            ("GET", f"{self.prefix}/health"): lambda _: {
                "status": "ok",
                "trained": self.model is not None,
            },
        }
        route = routes.get((request.method, request.path))
        if route is None:
            return json_response({"error": f"no such route: {request.method} {request.path}"}, 404)
        body = request.json() if request.method == "POST" else None
        return json_response(route(body))

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


def _frame(body: Any) -> Columns:
    """Columns of the `df` member, whichever layout it came in."""
    if not isinstance(body, dict) or not isinstance(body.get("df"), str):
        raise BadRequest("the body must be a JSON object with 'df', a JSON string of the rows")
    return columns_of(body["df"])


def _matrix(frame: Columns, features: list[str]) -> np.ndarray[Any, Any]:
    try:
        return np.column_stack([np.asarray(frame[f], dtype=float) for f in features])
    except (TypeError, ValueError):
        raise BadRequest(
            f"this model takes numeric features only, without NULLs: {', '.join(features)}"
        ) from None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = ModelServer(args.host, args.port)
    print(f"serving {server.url}/train and {server.url}/predict; Ctrl-C stops", flush=True)
    server.serve_forever()
    server.stop()


if __name__ == "__main__":
    main()
