"""The seed's Ray Serve model, on today's Ray Serve API: MindsDB's "bring your own model"
contract (POST /train, POST /predict) around a scikit-learn logistic regression.

    pip install -r examples/ray_serve/requirements.txt
    python examples/ray_serve/app.py                    # http://127.0.0.1:8000/my_model/…

then, in byom_sql, the seed's statements (examples/walkthrough.sql):

    CREATE PREDICTOR byom FROM … PREDICT number_of_rooms
    USING url.train = 'http://127.0.0.1:8000/my_model/train',
          url.predict = 'http://127.0.0.1:8000/my_model/predict', dtype_dict = {…},
          format = 'ray_server';

No `from __future__ import annotations` here: FastAPI must see the real `Request` type in the
replica, where Ray rebuilds this module's functions without their globals.

Routes: POST /my_model/train {"df": "<JSON rows>", "target": "<column>"} → {"status": "ok"};
POST /my_model/predict {"df": "<JSON rows>"} → {"prediction": [...], "confidence": [...]};
GET /my_model/health → {"status": "ok", "trained": …}. Ctrl-C or SIGTERM stops Ray.
"""

import os

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage reports (read at import)

import argparse  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402
from typing import Any  # noqa: E402

import pandas as pd  # noqa: E402
import ray  # noqa: E402
from fastapi import FastAPI, HTTPException, Request  # noqa: E402
from ray import serve  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

ROUTE_PREFIX = "/my_model"
app = FastAPI()


async def read_request(request: Request) -> tuple[pd.DataFrame, Any]:
    """The frame in `df` (a JSON string of records, or of columns as pandas writes them) and
    the `target` (training only)."""
    try:
        data = await request.json()
        frame = pd.DataFrame(json.loads(data["df"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise HTTPException(400, f"the body must be {{'df': '<JSON of the rows>'}}: {exc}") from exc
    return frame, data.get("target")


@serve.deployment
@serve.ingress(app)
class MyModel:
    def __init__(self) -> None:
        self.model: Pipeline | None = None
        self.features: list[str] = []

    @app.post("/train")
    async def train(self, request: Request) -> dict[str, str]:
        frame, target = await read_request(request)
        if isinstance(target, list) and len(target) == 1:
            target = target[0]
        if target not in frame.columns:
            raise HTTPException(400, f"target {target!r} is not a column of the rows sent")
        features = sorted(c for c in frame.columns if c != target)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        try:
            model.fit(frame[features], frame[target])
        except ValueError as exc:  # sklearn's word on the data: NULLs, text, one class …
            raise HTTPException(400, f"cannot train on these rows: {exc}") from exc
        self.model, self.features = model, features
        return {"status": "ok"}

    @app.post("/predict")
    async def predict(self, request: Request) -> dict[str, list[Any]]:
        if self.model is None:
            raise HTTPException(409, f"the model is not trained: POST {ROUTE_PREFIX}/train first")
        frame, _ = await read_request(request)
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise HTTPException(400, f"the rows lack feature column(s) {', '.join(missing)}")
        features = frame[self.features]
        return {
            "prediction": self.model.predict(features).tolist(),
            "confidence": self.model.predict_proba(features).max(axis=1).round(4).tolist(),
        }

    @app.get("/health")
    async def health(self) -> dict[str, Any]:
        return {"status": "ok", "trained": self.model is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the seed's model with Ray Serve.")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default: 8000)")
    args = parser.parse_args()
    # address="local": always a cluster of our own, never one some `ray start` left running;
    # node address 127.0.0.1: Ray's own traffic stays on the loopback interface
    ray.init(
        address="local",
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        configure_logging=False,
    )
    try:
        serve.start(http_options={"host": args.host, "port": args.port})
        serve.run(MyModel.bind(), route_prefix=ROUTE_PREFIX)
        url = f"http://{args.host}:{args.port}{ROUTE_PREFIX}"
        print(f"serving {url}/train and {url}/predict; Ctrl-C stops", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops us like Ctrl-C
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
