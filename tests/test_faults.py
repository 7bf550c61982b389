"""A misbehaving model endpoint gives a clear error naming the predictor, never wrong or
partial rows, and the engine keeps working for the next query."""

from __future__ import annotations

import threading
import time

import pytest

import byom_sql
from tests.conftest import create_byom
from tests.model_server import Misbehaviour, ModelServer

JOIN = "SELECT t.initial_price, p.number_of_rooms FROM home_rentals t JOIN byom p"


def _still_works(con: byom_sql.Connection, server: ModelServer) -> None:
    server.misbehaviour = None
    rows = con.sql(JOIN).fetchall()
    assert len(rows) == 1000


@pytest.mark.parametrize(
    ("misbehaviour", "error", "message"),
    [
        (
            Misbehaviour(
                status=500, body=b"Internal Server Error: model exploded", content_type="text/plain"
            ),
            byom_sql.ModelProtocolError,
            r"HTTP 500: Internal Server Error: model exploded",
        ),
        (
            Misbehaviour(status=400, body=b'{"error_code": "BAD_REQUEST", "message": "bad col"}'),
            byom_sql.ModelProtocolError,
            r"HTTP 400: bad col",
        ),
        (
            Misbehaviour(
                body=b"<html><body><h1>Welcome to nginx</h1></body></html>",
                content_type="text/html",
            ),
            byom_sql.ModelProtocolError,
            r"not JSON \(text/html\): Welcome to nginx",
        ),
        (Misbehaviour(body=b'{"prediction": [1, 2'), byom_sql.ModelProtocolError, r"not JSON"),
        (
            Misbehaviour(body=b'{"predictions": [1]}'),
            byom_sql.ModelProtocolError,
            r"'prediction' list",
        ),
        (
            Misbehaviour(short=True),
            byom_sql.ModelProtocolError,
            r"returned \d+ values of 'prediction' for \d+ rows",
        ),
        (Misbehaviour(status=503, body=b"busy"), byom_sql.ModelProtocolError, r"HTTP 503: busy"),
    ],
    ids=["500", "400-json", "html", "invalid-json", "wrong-shape", "short", "503-exhausted"],
)
def test_bad_replies(
    rentals: byom_sql.Connection,
    model_server: ModelServer,
    misbehaviour: Misbehaviour,
    error: type[Exception],
    message: str,
) -> None:
    rentals.sql(
        "CREATE OR REPLACE PREDICTOR byom PREDICT number_of_rooms USING "
        f"url.predict = '{model_server.url}/ray/predict', format = 'ray_serve', "
        "retries = 1, batch_size = 100, "
        'dtype_dict = {"number_of_rooms": "categorical", "initial_price": "integer", '
        '"rental_price": "integer"}'
    )
    model_server.misbehaviour = misbehaviour
    with pytest.raises(error, match=message) as raised:
        rentals.sql(JOIN).fetchall()
    assert "predictor byom" in str(raised.value)
    assert "/ray/predict" in str(raised.value)
    _still_works(rentals, model_server)


def test_mlflow_short_reply_names_counts(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    con.sql(
        f"CREATE MODEL m PREDICT y USING url.predict = '{model_server.url}/mlflow/invocations'"
        ", format = 'mlflow'"
    )
    model_server.misbehaviour = Misbehaviour(short=True)
    with pytest.raises(byom_sql.ModelProtocolError, match="returned 1 predictions for 2 input"):
        con.sql("SELECT y FROM m WHERE a IN (1, 2)").fetchall()


def test_endpoint_down(con: byom_sql.Connection, model_server: ModelServer) -> None:
    down = ModelServer().start()
    url = down.url
    down.stop()
    con.sql(
        f"CREATE MODEL m PREDICT y USING url.predict = '{url}/mlflow/invocations', "
        "format = 'mlflow', retries = 2, check = false"
    )
    started = time.monotonic()
    with pytest.raises(byom_sql.ModelUnavailable, match=r"cannot reach .* 3 attempts") as raised:
        con.sql("SELECT y FROM m WHERE a = 1").fetchall()
    assert raised.value.sqlstate == "39M01"
    assert time.monotonic() - started < 10
    assert con.sql("SELECT 1").fetchall() == [(1,)]


def test_timeout(rentals: byom_sql.Connection, model_server: ModelServer) -> None:
    create_byom(rentals, model_server, name="slow", extra=", timeout = 0.3, retries = 0")
    model_server.misbehaviour = Misbehaviour(delay=2, times=1)
    with pytest.raises(byom_sql.ModelUnavailable, match=r"did not answer within 0.3 s"):
        rentals.sql("SELECT * FROM slow WHERE initial_price = 1 AND rental_price = 1").fetchall()


def test_retries_on_503_honouring_retry_after(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    model_server.misbehaviour = Misbehaviour(status=503, retry_after="0.2", times=2)
    started = time.monotonic()
    rows = rentals.sql(
        "SELECT number_of_rooms FROM byom WHERE initial_price = 1 AND rental_price = 1"
    ).fetchall()
    assert rows == [(2.0,)]
    assert len(model_server.predict_requests()) == 3
    assert time.monotonic() - started >= 0.4


def test_no_retry_on_500(rentals: byom_sql.Connection, model_server: ModelServer) -> None:
    model_server.misbehaviour = Misbehaviour(status=500, body=b"boom", times=1)
    with pytest.raises(byom_sql.ModelProtocolError):
        rentals.sql("SELECT * FROM byom WHERE initial_price = 1 AND rental_price = 1").fetchall()
    assert len(model_server.predict_requests()) == 1


def test_dropped_connection_is_retried(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    model_server.misbehaviour = Misbehaviour(drop=True, times=1)
    rows = rentals.sql(
        "SELECT number_of_rooms FROM byom WHERE initial_price = 1 AND rental_price = 2"
    ).fetchall()
    assert rows == [(3.0,)]


def test_one_failing_batch_fails_the_whole_query(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    create_byom(rentals, model_server, name="batched", extra=", batch_size = 50, retries = 0")
    model_server.misbehaviour = Misbehaviour(status=500, body=b"third batch", times=1)
    with pytest.raises(byom_sql.ModelProtocolError):
        rentals.sql(
            "CREATE TABLE out AS SELECT t.*, p.number_of_rooms FROM home_rentals t JOIN batched p"
        )
    assert rentals.sql(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'out'"
    ).fetchone() == (0,)


def test_cancel_during_a_slow_call(rentals: byom_sql.Connection, model_server: ModelServer) -> None:
    model_server.misbehaviour = Misbehaviour(delay=5, times=1)
    timer = threading.Timer(0.3, rentals.interrupt)
    timer.start()
    started = time.monotonic()
    with pytest.raises(byom_sql.QueryCanceled) as raised:
        rentals.sql(JOIN).fetchall()
    assert raised.value.sqlstate == "57014"
    assert time.monotonic() - started < 3
    model_server.misbehaviour = None
    assert len(rentals.sql(JOIN).fetchall()) == 1000


def test_concurrency_is_bounded(rentals: byom_sql.Connection, model_server: ModelServer) -> None:
    create_byom(rentals, model_server, name="wide", extra=", batch_size = 10, max_concurrency = 3")
    model_server.misbehaviour = Misbehaviour(delay=0.05)
    rentals.sql(
        "SELECT count(*) FROM home_rentals t JOIN wide p WHERE t.initial_price < 2000"
    ).fetchall()
    assert model_server.max_overlap() == 3
    sizes = {r.rows for r in model_server.predict_requests()}
    assert max(sizes) == 10
