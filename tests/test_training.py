"""CREATE PREDICTOR … FROM … with url.train, RETRAIN, and the status a user sees."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

import byom_sql
from tests.conftest import load_home_rentals
from tests.model_server import ModelServer


def _create(con: byom_sql.Connection, server: ModelServer, name: str = "byom") -> None:
    con.sql(
        f"CREATE PREDICTOR {name} FROM (SELECT number_of_rooms, initial_price, rental_price "
        f"FROM home_rentals) PREDICT number_of_rooms USING url.train = '{server.url}/ray/train', "
        f"url.predict = '{server.url}/ray/predict', format = 'ray_server', "
        'dtype_dict = {"number_of_rooms": "categorical", "initial_price": "integer", '
        '"rental_price": "integer"}'
    )


def test_training_sends_the_rows_and_the_target(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con, rows=300)
    _create(con, model_server)
    [train] = model_server.trained
    assert train.body["target"] == "number_of_rooms"
    assert train.rows == 300
    assert train.columns == ["number_of_rooms", "initial_price", "rental_price"]
    assert isinstance(train.body["df"], str)  # the seed's contract: a JSON string
    status = dict(con.sql("DESCRIBE byom").fetchall())
    assert status["status"] == "complete"
    assert status["training_rows"] == "300"
    assert status["from_query"].startswith("SELECT number_of_rooms")


def test_failed_training_is_recorded_and_retrainable(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con, rows=50)
    model_server.train_error = "ValueError: y contains only one class"
    with pytest.raises(byom_sql.ModelProtocolError, match="only one class") as raised:
        _create(con, model_server)
    assert "RETRAIN byom" in str(raised.value)
    row = con.sql("SELECT status, error FROM mindsdb.models WHERE name = 'byom'").fetchone()
    assert row[0] == "error" and "only one class" in row[1]
    with pytest.raises(byom_sql.Error, match="not ready .*status error"):
        con.sql("SELECT * FROM byom WHERE initial_price = 1 AND rental_price = 1")
    model_server.train_error = None
    con.sql("RETRAIN byom")
    assert con.sql("SELECT status, version FROM mindsdb.models WHERE name = 'byom'").fetchone() == (
        "complete",
        2,
    )
    assert con.sql(
        "SELECT number_of_rooms FROM byom WHERE initial_price = 1 AND rental_price = 1"
    ).fetchall() == [(2.0,)]


def test_retrain_with_new_data_and_options(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con, rows=40)
    _create(con, model_server)
    con.sql(
        "RETRAIN byom FROM (SELECT number_of_rooms, initial_price, rental_price "
        "FROM home_rentals WHERE rental_price < 2000) USING batch_size = 7"
    )
    assert model_server.trained[-1].rows == 10
    described = dict(con.sql("DESCRIBE byom").fetchall())
    assert described["version"] == "2"
    assert json.loads(described["options"]) == {"batch_size": 7}


def test_training_data_must_hold_the_target(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con, rows=5)
    with pytest.raises(byom_sql.UndefinedColumn, match="no column 'price' to predict"):
        con.sql(
            f"CREATE MODEL m FROM (SELECT sqft FROM home_rentals) PREDICT price "
            f"USING url.train = '{model_server.url}/ray/train', "
            f"url.predict = '{model_server.url}/ray/predict', format = 'ray_serve'"
        )
    assert model_server.trained == []


def test_retrain_needs_data(con: byom_sql.Connection, model_server: ModelServer) -> None:
    con.sql(
        f"CREATE MODEL m PREDICT y USING url.predict = '{model_server.url}/ray/predict', "
        "format = 'ray_serve'"
    )
    with pytest.raises(byom_sql.InvalidOption, match="RETRAIN needs FROM"):
        con.sql("RETRAIN m")


def test_mlflow_has_no_train_endpoint(con: byom_sql.Connection) -> None:
    with pytest.raises(byom_sql.SqlSyntaxError, match="no train endpoint"):
        con.sql(
            "CREATE MODEL m PREDICT y USING format = 'mlflow', "
            "url.predict = 'http://127.0.0.1:1/invocations', url.train = 'http://x/t'"
        )


def test_unknown_training_database(con: byom_sql.Connection, model_server: ModelServer) -> None:
    with pytest.raises(byom_sql.UndefinedObject, match="database nowhere"):
        con.sql(
            f"CREATE MODEL m FROM nowhere (SELECT 1) PREDICT y USING "
            f"url.predict = '{model_server.url}/ray/predict', format = 'ray_serve'"
        )


def test_a_crash_during_training_leaves_no_half_predictor(
    tmp_path, model_server: ModelServer
) -> None:
    database = tmp_path / "state.duckdb"
    model_server.train_delay = 30.0
    script = (
        "import byom_sql, sys\n"
        f"con = byom_sql.connect({str(database)!r})\n"
        "con.sql('CREATE TABLE d AS SELECT 1 AS x, 2 AS y')\n"
        f'con.sql("CREATE MODEL m FROM (SELECT * FROM d) PREDICT y USING '
        f"url.train = '{model_server.url}/ray/train', url.predict = '{model_server.url}"
        "/ray/predict', format = 'ray_serve'\")\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while not model_server.trained and time.monotonic() < deadline:
            time.sleep(0.05)
        assert model_server.trained, "the train call never arrived"
    finally:
        process.kill()
        process.wait()
    with byom_sql.connect(str(database)) as con:
        status, error = con.sql(
            "SELECT status, error FROM mindsdb.models WHERE name = 'm'"
        ).fetchone()
    assert status == "error" and "interrupted" in error
