"""USING cache = true: a repeated query makes no model call, an overlapping one calls only for
the new rows; the cache survives a restart and is emptied by RETRAIN, DROP and a changed
endpoint; errors are never cached."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import byom_sql
from tests.conftest import create_byom, load_home_rentals
from tests.model_server import ModelServer, score

JOIN = "SELECT t.initial_price, t.rental_price, p.number_of_rooms FROM home_rentals t JOIN byom p"


def join(con: byom_sql.Connection, where: str = "") -> list[tuple[int, int, float]]:
    return sorted(con.sql(f"{JOIN} {where}").fetchall())


def expected(rows: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """What the test server predicts: the sum of the inputs."""
    return [(a, b, score({"a": a, "b": b})) for a, b, _ in rows]


@pytest.fixture
def cached(con: byom_sql.Connection, model_server: ModelServer) -> byom_sql.Connection:
    load_home_rentals(con)
    create_byom(con, model_server, extra=", cache = true, batch_size = 100")
    return con


def test_a_repeated_query_makes_no_model_call(
    cached: byom_sql.Connection, model_server: ModelServer
) -> None:
    first = join(cached)
    assert model_server.requests
    model_server.reset()
    assert join(cached) == first == expected(first)
    assert model_server.requests == []
    single = "SELECT number_of_rooms FROM byom WHERE initial_price = 1000 AND rental_price = 1000"
    assert cached.sql(single).fetchall() == [(2000.0,)]  # one of the joined rows
    assert model_server.requests == []


def test_an_overlapping_query_calls_only_for_new_rows(
    cached: byom_sql.Connection, model_server: ModelServer
) -> None:
    join(cached, "WHERE t.rental_price < 3000")
    model_server.reset()
    rows = join(cached, "WHERE t.rental_price < 5000")
    assert rows == expected(rows)
    new = cached.sql(
        "SELECT count(*) FROM (SELECT DISTINCT initial_price, rental_price FROM home_rentals "
        "WHERE rental_price >= 3000 AND rental_price < 5000)"
    ).fetchone()
    assert new is not None and model_server.rows_received() == new[0]
    assert all(r.data[0]["rental_price"] >= 3000 for r in model_server.requests)


def test_the_cache_survives_a_restart(tmp_path: Path, model_server: ModelServer) -> None:
    database = str(tmp_path / "c.duckdb")
    with byom_sql.connect(database) as con:
        load_home_rentals(con)
        create_byom(con, model_server, extra=", cache = true")
        first = join(con)
    model_server.reset()
    with byom_sql.connect(database) as con:
        assert join(con) == first
    assert model_server.requests == []


def test_retrain_drop_and_a_new_endpoint_invalidate_it(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con, rows=20)
    train = f"url.train = '{model_server.url}/ray/train', url.predict = '{model_server.url}"
    con.sql(
        "CREATE PREDICTOR byom FROM (SELECT * FROM home_rentals) PREDICT number_of_rooms USING "
        f"{train}/ray/predict', format = 'ray_serve', cache = true"
    )
    calls = len(model_server.predict_requests())
    join(con)
    join(con)
    assert len(model_server.predict_requests()) == calls + 1
    con.sql("RETRAIN byom")  # version 2: its own predictions
    join(con)
    assert len(model_server.predict_requests()) == calls + 2
    join(con)
    assert len(model_server.predict_requests()) == calls + 2
    second = ModelServer().start()
    try:  # the same name and version, another endpoint
        con.sql(
            "CREATE OR REPLACE PREDICTOR byom PREDICT number_of_rooms USING "
            f"url.predict = '{second.url}/ray/predict', format = 'ray_serve', cache = true"
        )
        join(con)
        assert len(second.predict_requests()) == 1
    finally:
        second.stop()
    con.sql("DROP PREDICTOR byom")
    create_byom(con, model_server, extra=", cache = true")
    before = len(model_server.predict_requests())
    join(con)
    assert len(model_server.predict_requests()) == before + 1


def test_failed_rows_are_not_cached_and_are_retried(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con)
    create_byom(con, model_server, extra=", cache = true, on_error = 'null'")
    model_server.poison = {"rental_price": 1500}
    result = con.sql(f"{JOIN}")
    failed = [r for r in result.fetchall() if r[2] is None]
    assert failed and all(r[1] == 1500 for r in failed)
    model_server.reset()  # the model is fixed
    rows = join(con)
    assert rows == expected(rows)
    assert {r["rental_price"] for q in model_server.requests for r in q.data} == {1500}


def test_a_failed_query_caches_nothing_wrong(
    cached: byom_sql.Connection, model_server: ModelServer
) -> None:
    model_server.poison = {"rental_price": 1500}
    with pytest.raises(byom_sql.ModelProtocolError):
        join(cached)
    model_server.reset()
    rows = join(cached)
    assert rows == expected(rows)


def test_entries_expire_after_cache_ttl(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con, rows=10)
    create_byom(con, model_server, extra=", cache = true, cache_ttl = 0.5")
    join(con)
    join(con)
    assert len(model_server.requests) == 1
    time.sleep(0.6)
    join(con)
    assert len(model_server.requests) == 2


def test_the_cache_is_bounded_oldest_first(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con, rows=30)  # 30 distinct input rows
    create_byom(con, model_server, extra=", cache = true, cache_max_rows = 10")
    one = "SELECT number_of_rooms FROM byom WHERE initial_price = {} AND rental_price = 1000"
    con.sql(one.format(1000)).fetchall()  # the oldest entry
    join(con)
    stored = con.sql("SELECT count(*) FROM byom.prediction_cache WHERE name = 'byom'").fetchone()
    assert stored == (10,)
    model_server.reset()
    con.sql(one.format(1000)).fetchall()
    assert model_server.rows_received() == 1  # evicted: called again


def test_cache_options_are_checked(con: byom_sql.Connection) -> None:
    for bad, message in [
        ("cache = 'perhaps'", "cache must be true or false"),
        ("cache_ttl = 0", "cache_ttl must be a positive number"),
        ("cache_max_rows = -1", "cache_max_rows must be a positive integer"),
    ]:
        with pytest.raises(byom_sql.Error, match=message):
            con.sql(
                "CREATE PREDICTOR p PREDICT y USING format = 'ray_serve', "
                f"url.predict = 'http://127.0.0.1:9/p', check = false, {bad}"
            )
