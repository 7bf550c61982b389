"""mindsdb.model_calls: one row per model call, matching what the model server saw, bounded,
without secrets, readable by wire clients; and the Prometheus metrics fed from it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

import byom_sql
from byom_sql.config import EngineConfig
from byom_sql.engine import Engine
from tests.conftest import create_byom, load_home_rentals
from tests.model_server import Misbehaviour, ModelServer
from tests.wire import WireServer, free_port

JOIN = "SELECT t.rental_price, p.number_of_rooms FROM home_rentals t JOIN byom p"
TOKEN = "Bearer s3cr3t-call-log-token"


def calls(con: byom_sql.Connection) -> list[dict[str, object]]:
    return con.sql("SELECT * FROM mindsdb.model_calls ORDER BY time").arrow().to_pylist()


def test_each_call_is_logged_as_the_server_saw_it(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con)
    create_byom(con, model_server, extra=", batch_size = 100")
    con.sql(JOIN).fetchall()
    logged = calls(con)
    served = model_server.predict_requests()
    assert len(logged) == len(served) > 1
    assert sorted(c["rows"] for c in logged) == sorted(r.rows for r in served)
    assert sorted(c["bytes_out"] for c in logged) == sorted(r.size for r in served)
    for call in logged:
        assert call["predictor"] == "mindsdb.byom" and call["version"] == 1
        assert call["http_status"] == 200 and call["attempts"] == 1 and call["error"] is None
        assert isinstance(call["latency_ms"], float) and call["latency_ms"] > 0
        assert isinstance(call["bytes_in"], int) and call["bytes_in"] > 0


def test_retries_and_failures_are_logged(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con, rows=10)
    create_byom(con, model_server)
    model_server.misbehaviour = Misbehaviour(status=503, retry_after="0", times=1)
    con.sql(JOIN).fetchall()
    model_server.misbehaviour = Misbehaviour(status=400, body=b'{"detail": "bad"}')
    with pytest.raises(byom_sql.ModelProtocolError):
        con.sql(JOIN).fetchall()
    retried, failed = calls(con)
    assert (retried["attempts"], retried["http_status"], retried["error"]) == (2, 200, None)
    assert retried["bytes_out"] == sum(r.size for r in model_server.requests[:2])
    assert failed["http_status"] == 400 and "HTTP 400: bad" in str(failed["error"])
    assert con.sql("SELECT count(*) FROM model_calls WHERE error IS NOT NULL").fetchone() == (1,)


def test_python_model_batches_are_logged(con: byom_sql.Connection) -> None:
    con.create_predictor("double", lambda x: x * 2, predict="y", batch_size=2)
    con.sql("CREATE TABLE xs AS SELECT range::DOUBLE AS x FROM range(5)")
    con.sql("SELECT p.y FROM xs t JOIN double p").fetchall()
    logged = calls(con)
    assert [c["rows"] for c in logged] == [2, 2, 1]
    assert all(c["bytes_out"] is None and c["http_status"] is None for c in logged)


def test_the_log_is_a_bounded_ring(tmp_path: Path, model_server: ModelServer) -> None:
    with Engine(":memory:", EngineConfig(call_log_size=3)) as engine:
        con = engine.connect()
        load_home_rentals(con)
        create_byom(con, model_server, extra=", batch_size = 50")
        con.sql(JOIN).fetchall()
        assert len(model_server.requests) > 3
        logged = calls(con)
        assert len(logged) == 3
        newest = sorted(model_server.requests, key=lambda r: r.started)[-3:]
        assert sorted(c["rows"] for c in logged) == sorted(r.rows for r in newest)


def test_no_secret_reaches_the_log(con: byom_sql.Connection, model_server: ModelServer) -> None:
    load_home_rentals(con, rows=10)
    create_byom(con, model_server, extra=f', headers = {{"Authorization": "{TOKEN}"}}')
    model_server.misbehaviour = Misbehaviour(status=500, body=b"boom", content_type="text/plain")
    with pytest.raises(byom_sql.ModelProtocolError):
        con.sql(JOIN).fetchall()
    assert model_server.requests[0].headers["authorization"] == TOKEN
    text = str(con.sql("SELECT * FROM mindsdb.model_calls").fetchall())
    assert "s3cr3t" not in text


def metrics(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def test_wire_clients_read_the_log_and_metrics_count_everything(
    tmp_path: Path, model_server: ModelServer
) -> None:
    port = free_port()
    server = WireServer(tmp_path, "--metrics-port", str(port))
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                metrics(port)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE home_rentals AS SELECT 1000 + range AS initial_price, "
                "range AS rental_price FROM range(30)"
            )
            conn.execute(
                "CREATE PREDICTOR byom PREDICT number_of_rooms USING format = 'ray_serve', "
                f"url.predict = '{model_server.url}/ray/predict', batch_size = 10"
            )
            conn.execute(JOIN).fetchall()
            logged = conn.execute(
                "SELECT predictor, rows, http_status FROM mindsdb.model_calls"
            ).fetchall()
            assert logged == [("mindsdb.byom", 10, 200)] * 3
            seen = metrics(port)
            assert seen["byom_wire_connections{}"] == 1
        label = "predictor=mindsdb.byom"
        assert seen[f"byom_model_requests_total{{outcome=ok,{label}}}"] == 3
        assert seen[f"byom_model_rows_total{{{label}}}"] == 30
        assert seen[f"byom_model_latency_seconds_count{{{label}}}"] == 3
        assert seen["byom_wire_connections_opened_total{}"] >= 1
        assert seen["byom_wire_queries_total{}"] >= 4
        time.sleep(0.3)
        assert metrics(port)["byom_wire_connections{}"] == 0
    finally:
        server.stop()
