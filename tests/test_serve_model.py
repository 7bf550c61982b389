"""`byom-sql serve-model`: a Python class as an HTTP endpoint, answered by byom_sql predictors
of format ray_serve and mlflow (Verta's "deploy a class model")."""

from __future__ import annotations

import re
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest

import byom_sql
from byom_sql.models.python import load_model
from byom_sql.serving import App
from byom_sql.serving.http import Request, Response
from tests import pymodels

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def serve_model(*args: str) -> Iterator[str]:
    """Run `byom-sql serve-model … --port 0`; the URL it prints once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "byom_sql", "serve-model", *args, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _first_line(process, timeout=60)
        found = re.search(r" at (http://\S+) ", line)
        assert found, f"unexpected first line {line!r}: {process.stderr.read()}"  # type: ignore[union-attr]
        url = found.group(1)
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=10)


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                return process.stdout.readline()
            if process.poll() is not None:
                break
    stderr = process.stderr.read() if process.stderr and process.poll() is not None else ""
    raise AssertionError(f"serve-model did not start: {stderr}")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("artifacts")
    np.save(folder / "weights.npy", np.array([3.0, 1.0]))
    return folder


@pytest.fixture(scope="module")
def verta_url(artifacts: Path) -> Iterator[str]:
    with serve_model("tests.pymodels:VertaModel", "--artifacts", str(artifacts)) as url:
        yield url


def test_a_ray_serve_predictor_answered_by_serve_model(
    con: byom_sql.Connection, verta_url: str
) -> None:
    con.sql(
        f"CREATE PREDICTOR remote PREDICT y USING format = 'ray_serve', "
        f"url.predict = '{verta_url}/predict'"
    )
    con.sql("CREATE TABLE t AS SELECT range::DOUBLE AS x FROM range(3)")
    rows = con.sql("SELECT t.x, r.y, r.y_confidence FROM t JOIN remote AS r ORDER BY t.x")
    assert rows.fetchall() == [(0.0, 1.0, 0.9), (1.0, 4.0, 0.9), (2.0, 7.0, 0.9)]


def test_an_mlflow_predictor_answered_by_serve_model(
    con: byom_sql.Connection, verta_url: str
) -> None:
    for layout in ("dataframe_split", "dataframe_records", "inputs", "instances"):
        con.sql(
            f"CREATE OR REPLACE PREDICTOR remote PREDICT y USING format = 'mlflow', "
            f"url.predict = '{verta_url}/invocations', request_format = '{layout}'"
        )
        assert con.sql("SELECT y, y_confidence FROM remote WHERE x = 10").fetchall() == [
            (31.0, 0.9)
        ], layout
    reply = httpx.post(
        f"{verta_url}/invocations",
        content=b"x\n1\n2\n",
        headers={"Content-Type": "text/csv"},
    )
    assert reply.json() == {
        "predictions": [
            {"prediction": 4.0, "confidence": 0.9},
            {"prediction": 7.0, "confidence": 0.9},
        ]
    }
    assert httpx.get(f"{verta_url}/version").text.startswith("byom-sql ")


def test_train_through_the_ray_serve_contract(con: byom_sql.Connection, artifacts: Path) -> None:
    with serve_model(
        "tests.pymodels:VertaModel", "--artifacts", str(artifacts), "--route-prefix", "my_model"
    ) as url:
        assert url.endswith("/my_model")
        con.sql("CREATE TABLE d AS SELECT range::DOUBLE AS x, 5.0 * range - 1 AS y FROM range(8)")
        con.sql(
            "CREATE PREDICTOR trained FROM (SELECT x, y FROM d) PREDICT y USING "
            f"format = 'ray_serve', url.predict = '{url}/predict', url.train = '{url}/train'"
        )
        assert con.sql("SELECT y FROM trained WHERE x = 100").fetchone()[0] == pytest.approx(499)


def test_errors_in_the_model_reach_the_predictor(con: byom_sql.Connection) -> None:
    with serve_model("tests.pymodels:Failing") as url:
        con.sql(
            f"CREATE PREDICTOR failing PREDICT y USING format = 'ray_serve', "
            f"url.predict = '{url}/predict'"
        )
        assert con.sql("SELECT y FROM failing WHERE x = 1").fetchone() == (1,)
        with pytest.raises(byom_sql.ModelProtocolError) as caught:
            con.sql("SELECT y FROM failing WHERE x = 5").fetchall()
        assert "HTTP 500" in str(caught.value)
        assert "Failing.predict raised ValueError: x = 5 is out of range" in str(caught.value)
        assert "Traceback" not in str(caught.value)
        assert httpx.post(f"{url}/train", json={}).status_code == 404  # no train method
        bad = httpx.post(f"{url}/predict", content=b"{not json")
        assert bad.status_code == 400 and "not JSON" in bad.json()["message"]


def test_serve_model_refuses_what_it_cannot_load(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "byom_sql", "serve-model", "tests.pymodels:Nope", "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: tests.pymodels has no attribute 'Nope'")
    assert "Traceback" not in result.stderr


def test_request_layouts_without_sockets() -> None:
    app = App(load_model(pymodels.my_model, None))

    def answer(method: str, path: str, content_type: str, body: bytes) -> Response:
        return app.handle(Request(method, path, {"content-type": content_type}, body))

    records = b'{"df": "[{\\"x\\": 1, \\"y\\": 2}, {\\"x\\": 3, \\"y\\": 4}]"}'
    assert answer("POST", "/predict", "application/json", records).body == (b'{"prediction":[3,7]}')
    to_dict = b'{"df": "{\\"x\\": {\\"0\\": 1}, \\"y\\": {\\"0\\": 5}}"}'  # MindsDB 2022
    assert answer("POST", "/predict", "application/json", to_dict).body == b'{"prediction":[6]}'
    split_v1 = b'{"columns": ["x", "y"], "data": [[1, 1]]}'
    content_type = "application/json; format=pandas-split"
    assert answer("POST", "/invocations", content_type, split_v1).body == b'{"predictions":[2]}'
    assert answer("GET", "/predict", "", b"").status == 405
    assert answer("POST", "/nowhere", "", b"").status == 404
    missing = answer("POST", "/predict", "application/json", b'{"df": [{"x": 1}]}')
    assert missing.status == 400 and b"needs column 'y'" in bytes(missing.body)  # type: ignore[arg-type]
