"""USING on_error = 'null': the rows a model rejects get NULL and `<target>_error` says why,
every other row its prediction, and the statement says how many failed; without it the same
query fails as before."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

import byom_sql
from tests.conftest import create_byom, load_home_rentals
from tests.model_server import Misbehaviour, ModelServer, score
from tests.test_cli import byom_sql as run_cli
from tests.wire import WireServer

JOIN = (
    "SELECT t.initial_price, t.rental_price, p.number_of_rooms, p.number_of_rooms_error "
    "FROM home_rentals t JOIN byom p"
)
POISON = 1500


@pytest.fixture
def tolerant(con: byom_sql.Connection, model_server: ModelServer) -> byom_sql.Connection:
    load_home_rentals(con)
    create_byom(con, model_server, extra=", on_error = 'null', batch_size = 64")
    model_server.poison = {"rental_price": POISON}
    return con


def test_exactly_the_poisoned_rows_are_null_with_their_reason(
    tolerant: byom_sql.Connection,
) -> None:
    result = tolerant.sql(JOIN)
    rows = result.fetchall()
    assert len(rows) == 1000
    for initial, rental, prediction, error in rows:
        if rental == POISON:
            assert prediction is None
            assert error == f"HTTP 422: cannot score rental_price = {POISON}"
        else:
            assert prediction == score({"a": initial, "b": rental}) and error is None
    distinct = tolerant.sql(
        f"SELECT count(DISTINCT initial_price) FROM home_rentals WHERE rental_price = {POISON}"
    ).fetchone()
    assert distinct is not None
    message = f"predictor byom: {distinct[0]} of "
    assert any(w.startswith(message) for w in result.warnings)
    assert f"{distinct[0]} of" in result.status and "failed" in result.status


def test_the_same_query_without_on_error_fails(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con)
    create_byom(con, model_server)
    model_server.poison = {"rental_price": POISON}
    with pytest.raises(byom_sql.ModelProtocolError, match="HTTP 422: cannot score") as raised:
        con.sql(JOIN.replace(", p.number_of_rooms_error", "")).fetchall()
    assert raised.value.sqlstate == "39M02"


def test_constants_with_a_failing_row(tolerant: byom_sql.Connection) -> None:
    rows = tolerant.sql(
        f"SELECT rental_price, number_of_rooms, number_of_rooms_error FROM byom "
        f"WHERE initial_price = 1000 AND rental_price IN (1000, {POISON})"
    ).fetchall()
    assert sorted(rows) == [
        (1000, 2000.0, None),
        (POISON, None, f"HTTP 422: cannot score rental_price = {POISON}"),
    ]


def test_the_search_for_failing_rows_is_bounded(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con)
    create_byom(con, model_server, extra=", on_error = 'null', batch_size = 10000")
    model_server.misbehaviour = Misbehaviour(status=400, body=b'{"detail": "no"}')
    rows = con.sql(JOIN).fetchall()
    assert all(r[2] is None and r[3] == "HTTP 400: no" for r in rows)
    assert len(model_server.requests) <= 1 + 256


def test_an_unreachable_endpoint_still_fails_the_query(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    down = ModelServer().start()
    url = down.url
    down.stop()
    load_home_rentals(con, rows=10)
    con.sql(
        f"CREATE PREDICTOR byom PREDICT number_of_rooms USING url.predict = '{url}/ray/predict', "
        "format = 'ray_serve', on_error = 'null', retries = 0, check = false"
    )
    with pytest.raises(byom_sql.ModelUnavailable):
        con.sql(JOIN).fetchall()


def test_a_python_model_raising_for_some_rows(con: byom_sql.Connection) -> None:
    def model(x: float) -> float:
        if x < 0:
            raise ValueError(f"negative {x}")
        return x * 2

    con.create_predictor("double", model, predict="y", on_error="null")
    con.sql("CREATE TABLE xs AS SELECT unnest([1.0, -1.0, 3.0]) AS x")
    rows = con.sql("SELECT t.x, p.y, p.y_error FROM xs t JOIN double p ORDER BY t.x").fetchall()
    assert rows[0][:2] == (-1.0, None) and "negative -1.0" in rows[0][2]
    assert rows[1:] == [(1.0, 2.0, None), (3.0, 6.0, None)]


def test_batches_that_fail_whole_take_the_type_of_the_others(con: byom_sql.Connection) -> None:
    """Without a dtype, a batch whose every row failed has no type of its own for the
    prediction: it takes the other batches' (it was text, which integers cannot join)."""

    def model(x: int) -> int:
        if x < 0:
            raise ValueError(f"negative {x}")
        return x * 2

    con.create_predictor("double", model, predict="y", on_error="null", batch_size=10)
    con.sql("CREATE TABLE xs AS SELECT i - 20 AS x FROM range(300) r(i)")
    rows = con.sql("SELECT t.x, p.y, p.y_error FROM xs t JOIN double p ORDER BY t.x").fetchall()
    assert [r[1] for r in rows] == [None] * 20 + [2 * x for x in range(280)]
    assert all("negative" in r[2] for r in rows[:20]) and rows[20][2] is None


def test_the_error_column_is_described(tolerant: byom_sql.Connection) -> None:
    columns = tolerant.sql(
        "SELECT * FROM byom WHERE initial_price = 1000 AND rental_price = 1000"
    ).columns
    assert "number_of_rooms_error" in columns


def test_a_wire_client_gets_a_notice(tmp_path: Path, model_server: ModelServer) -> None:
    server = WireServer(tmp_path)
    notices: list[str] = []
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
            conn.execute(
                "CREATE TABLE home_rentals AS SELECT 1000 AS initial_price, "
                f"unnest([1000, {POISON}, 2000]) AS rental_price"
            )
            create = ", ".join(
                [
                    "CREATE PREDICTOR byom PREDICT number_of_rooms USING format = 'ray_serve'",
                    f"url.predict = '{model_server.url}/ray/predict'",
                    "on_error = 'null'",
                ]
            )
            conn.execute(create)
            model_server.poison = {"rental_price": POISON}
            rows = conn.execute(JOIN).fetchall()
        assert sorted(r[3] is None for r in rows) == [False, True, True]
        assert any("1 of 3 input rows failed" in n for n in notices), notices
    finally:
        server.stop()


def test_the_command_line_warns(tmp_path: Path, model_server: ModelServer) -> None:
    database = str(tmp_path / "w.duckdb")
    with byom_sql.connect(database) as con:
        load_home_rentals(con, rows=20)
        create_byom(con, model_server, extra=", on_error = 'null'")
    model_server.poison = {"rental_price": 1500}
    done = run_cli("--database", database, "-c", JOIN)
    assert done.returncode == 0, done.stderr
    assert "WARNING:" in done.stderr and "input rows failed" in done.stderr
    assert "HTTP 422" in done.stdout
