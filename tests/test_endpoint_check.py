"""CREATE PREDICTOR without FROM checks that the endpoint answers, and fails fast with a clear
error when it does not (nothing is stored); USING check = false skips the check."""

from __future__ import annotations

import time

import pytest

import byom_sql
from byom_sql.engine import Engine
from byom_sql.serving.http import HttpServer, Response
from tests.model_server import ModelServer


def create(con: byom_sql.Connection, url: str, fmt: str, extra: str = "") -> None:
    con.sql(f"CREATE PREDICTOR p PREDICT y USING format = '{fmt}', url.predict = '{url}'{extra}")


@pytest.fixture
def down_url() -> str:
    down = ModelServer().start()
    url = down.url
    down.stop()
    return url


@pytest.mark.parametrize(("fmt", "path"), [("mlflow", "/invocations"), ("ray_serve", "/predict")])
def test_a_server_that_is_down_fails_fast(
    con: byom_sql.Connection, down_url: str, fmt: str, path: str
) -> None:
    started = time.monotonic()
    with pytest.raises(byom_sql.ModelUnavailable, match="cannot reach") as raised:
        create(con, f"{down_url}{path}", fmt)
    assert time.monotonic() - started < 5
    assert raised.value.sqlstate == "39M01"
    assert raised.value.hint is not None and "check = false" in raised.value.hint
    assert con.sql("SHOW PREDICTORS").fetchall() == []


def test_check_false_creates_it_anyway(con: byom_sql.Connection, down_url: str) -> None:
    create(con, f"{down_url}/predict", "ray_serve", ", check = false")
    assert [r[0] for r in con.sql("SHOW PREDICTORS").fetchall()] == ["p"]


def test_a_running_server_passes(con: byom_sql.Connection, model_server: ModelServer) -> None:
    create(con, f"{model_server.url}/mlflow/invocations", "mlflow")
    con.sql("DROP PREDICTOR p")
    create(con, f"{model_server.url}/ray/predict", "ray_serve")
    assert model_server.requests == []  # the check sends no rows


def test_a_route_that_does_not_exist_fails(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    with pytest.raises(byom_sql.ModelUnavailable, match=r"GET .*/nowhere gave HTTP 404"):
        create(con, f"{model_server.url}/nowhere", "ray_serve")
    elsewhere = HttpServer(lambda request: Response(404, b"no such page")).start()
    try:  # a web server, but not MLflow's
        with pytest.raises(byom_sql.ModelUnavailable, match=r"/ping gave HTTP 404"):
            create(con, f"{elsewhere.url}/invocations", "mlflow")
    finally:
        elsewhere.stop()


def test_a_predictor_with_training_data_is_not_checked_twice(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    con.sql("CREATE TABLE d AS SELECT 1 AS x, 2 AS y")
    con.sql(
        f"CREATE PREDICTOR p FROM (SELECT * FROM d) PREDICT y USING format = 'ray_serve', "
        f"url.train = '{model_server.url}/ray/train', "
        f"url.predict = '{model_server.url}/ray/predict'"
    )
    assert len(model_server.trained) == 1


def test_a_network_client_learns_nothing_of_what_answers(model_server: ModelServer) -> None:
    with Engine(":memory:") as engine:
        untrusted = engine.connect(trusted=False)
        with pytest.raises(byom_sql.ModelUnavailable) as raised:
            create(untrusted, f"{model_server.url}/nowhere", "ray_serve")
    assert str(raised.value).startswith("predictor p: the model endpoint failed")
    assert "404" not in str(raised.value) and "nowhere" not in str(raised.value)
