"""A fast model endpoint for benchmarks, on the package's HTTP core: the ray_serve predict
contract and MLflow's /invocations (dataframe_split).

    python bench/fast_model_server.py [--port 0]     prints "PORT <n>" once listening

The "model" is the sum of each row's numeric values, so the server's own cost is JSON decoding
and a vectorised sum: the benchmark measures the client, not the model.
"""

from __future__ import annotations

import argparse

import numpy as np
import orjson

from byom_sql.serving.http import BadRequest, HttpServer, Request, Response

NUMPY = orjson.OPT_SERIALIZE_NUMPY


def predict(request: Request) -> Response:
    if request.method == "GET":
        return Response(body=b"2.17.0", content_type="text/plain")
    try:
        payload = orjson.loads(request.body)
        if request.path.endswith("/invocations"):
            values = np.asarray(payload["dataframe_split"]["data"], dtype=np.float64)
            return Response(body=orjson.dumps({"predictions": values.sum(axis=1)}, option=NUMPY))
        frame = orjson.loads(payload["df"])
        if isinstance(frame, dict):  # columns layout
            values = np.column_stack([np.asarray(v, dtype=np.float64) for v in frame.values()])
        else:
            values = np.asarray([list(row.values()) for row in frame], dtype=np.float64)
        return Response(body=orjson.dumps({"prediction": values.sum(axis=1)}, option=NUMPY))
    except (KeyError, ValueError, TypeError) as exc:
        raise BadRequest(str(exc)) from None


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    server = HttpServer(predict, port=parser.parse_args().port)
    print("PORT", server.port, flush=True)
    server.serve_forever()
