"""Query semantics of predictions: SELECT … WHERE and JOIN against predictors, end to end
against the recording test server (prediction = sum of the values sent, confidence 0.5)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

import byom_sql
from byom_sql.execution import local
from tests import pymodels
from tests.conftest import create_byom, load_home_rentals
from tests.model_server import ModelServer


def test_where_constants_make_one_input_row(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    result = rentals.sql("SELECT * FROM byom WHERE initial_price = 3000 AND rental_price = 3000")
    table = result.arrow()
    assert table.to_pylist() == [
        {
            "number_of_rooms": 6000.0,
            "number_of_rooms_confidence": 0.5,
            "initial_price": 3000,
            "rental_price": 3000,
        }
    ]
    assert table.schema.field("initial_price").type == pa.int64()  # typed by dtype_dict
    [request] = model_server.predict_requests()
    assert request.data == [{"initial_price": 3000, "rental_price": 3000}]


def test_in_lists_give_one_row_per_combination(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    rows = rentals.sql(
        "SELECT initial_price, rental_price, number_of_rooms FROM mindsdb.byom "
        "WHERE initial_price IN (1, 2) AND rental_price IN (10, 20, 30) ORDER BY 1, 2"
    ).fetchall()
    assert rows == [(i, r, float(i + r)) for i in (1, 2) for r in (10, 20, 30)]
    assert model_server.rows_received() == 6


def test_where_values_are_cast_to_declared_types(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    rows = rentals.sql(
        "SELECT number_of_rooms FROM byom WHERE initial_price = '3000' AND rental_price = 1.0"
    ).fetchall()
    assert rows == [(3001.0,)]
    assert model_server.predict_requests()[0].data == [{"initial_price": 3000, "rental_price": 1}]


def test_bound_parameters(rentals: byom_sql.Connection) -> None:
    assert rentals.sql(
        "SELECT number_of_rooms FROM byom WHERE initial_price = $1 AND rental_price = $2", [5, 6]
    ).fetchall() == [(11.0,)]
    assert rentals.sql(
        "SELECT number_of_rooms FROM byom WHERE initial_price = ? AND rental_price = ?", [1, 2]
    ).fetchall() == [(3.0,)]


def test_filters_on_predictions_apply_after_the_call(rentals: byom_sql.Connection) -> None:
    rows = rentals.sql(
        "SELECT rental_price FROM byom WHERE initial_price = 100 AND rental_price IN (1, 50) "
        "AND number_of_rooms > 120"
    ).fetchall()
    assert rows == [(50,)]


def test_missing_and_unknown_inputs_are_clear_errors(rentals: byom_sql.Connection) -> None:
    with pytest.raises(byom_sql.UndefinedColumn, match="needs a value for rental_price"):
        rentals.sql("SELECT * FROM byom WHERE initial_price = 1")
    with pytest.raises(byom_sql.UndefinedColumn, match="no input column 'sqft'"):
        rentals.sql("SELECT * FROM byom WHERE initial_price = 1 AND rental_price = 1 AND sqft = 3")
    with pytest.raises(byom_sql.DataError, match="'abc'"):
        rentals.sql("SELECT * FROM byom WHERE initial_price = 'abc' AND rental_price = 1")


def test_join_scores_every_surviving_row(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    table = rentals.sql(
        "SELECT tb.number_of_rooms, t.rental_price, t.initial_price "
        "FROM home_rentals AS t JOIN mindsdb.byom AS tb WHERE t.rental_price > 5300"
    ).arrow()
    expected = rentals.sql(
        "SELECT count(*) FROM home_rentals WHERE rental_price > 5300"
    ).fetchone()[0]
    assert table.num_rows == expected > 0
    for row in table.to_pylist():
        assert row["number_of_rooms"] == row["rental_price"] + row["initial_price"]
    sent = [row for request in model_server.predict_requests() for row in request.data]
    assert all(row["rental_price"] > 5300 for row in sent)  # the filter ran before the call
    assert {tuple(row) for row in sent} == {("initial_price", "rental_price")}  # features only
    distinct = rentals.sql(
        "SELECT count(*) FROM (SELECT DISTINCT initial_price, rental_price FROM home_rentals "
        "WHERE rental_price > 5300)"
    ).fetchone()[0]
    assert len(sent) == distinct < expected  # each distinct input once


def test_select_star_shows_data_then_predictions(rentals: byom_sql.Connection) -> None:
    result = rentals.sql("SELECT * FROM home_rentals t JOIN byom p LIMIT 3")
    assert result.columns == [
        "number_of_rooms",
        "number_of_bathrooms",
        "sqft",
        "location",
        "days_on_market",
        "initial_price",
        "neighborhood",
        "rental_price",
        "number_of_rooms",
        "number_of_rooms_confidence",
    ]
    assert len(result.fetchall()) == 3


def test_limit_runs_before_the_model(con: byom_sql.Connection, model_server: ModelServer) -> None:
    con.sql(
        "CREATE TABLE big AS SELECT i AS initial_price, i % 97 AS rental_price "
        "FROM range(2000000) r(i)"
    )
    create_byom(con, model_server)
    rows = con.sql(
        "SELECT t.initial_price, p.number_of_rooms FROM big t JOIN byom p "
        "ORDER BY t.initial_price DESC LIMIT 10 OFFSET 5"
    ).fetchall()
    assert [r[0] for r in rows] == list(range(1999994, 1999984, -1))
    assert model_server.rows_received() == 15


def test_limit_waits_when_a_filter_needs_predictions(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    rows = rentals.sql(
        "SELECT t.rental_price FROM home_rentals t JOIN byom p "
        "WHERE p.number_of_rooms > 9000 LIMIT 5"
    ).fetchall()
    assert len(rows) == 5 and all(r[0] + 1 > 0 for r in rows)
    assert model_server.rows_received() > 5


def test_filters_under_or_are_pushed(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    rows = rentals.sql(
        "SELECT count(*) FROM home_rentals t JOIN byom p "
        "WHERE (t.rental_price = 1000 AND p.number_of_rooms > 0) OR t.initial_price = 1100"
    ).fetchone()
    expected = rentals.sql(
        "SELECT count(*) FROM home_rentals WHERE rental_price = 1000 OR initial_price = 1100"
    ).fetchone()
    assert rows == expected
    sent = [row for request in model_server.predict_requests() for row in request.data]
    assert all(r["rental_price"] == 1000 or r["initial_price"] == 1100 for r in sent)


def test_on_renames_and_where_constants_feed_features(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    rows = rentals.sql(
        "SELECT t.sqft, p.number_of_rooms FROM home_rentals t JOIN byom p "
        "ON t.sqft = p.initial_price WHERE p.rental_price = 7 AND t.sqft < 600 ORDER BY 1"
    ).fetchall()
    assert rows and all(pred == sqft + 7 for sqft, pred in rows)
    sent = [row for request in model_server.predict_requests() for row in request.data]
    assert all(r["rental_price"] == 7 and r["initial_price"] < 600 for r in sent)


def test_aggregates_and_order_run_on_the_merged_result(rentals: byom_sql.Connection) -> None:
    rows = rentals.sql(
        "SELECT t.location, count(*) AS n, max(p.number_of_rooms) AS top "
        "FROM home_rentals t JOIN byom p GROUP BY t.location ORDER BY t.location"
    ).fetchall()
    expected = rentals.sql(
        "SELECT location, count(*), max(initial_price + rental_price) FROM home_rentals "
        "GROUP BY location ORDER BY location"
    ).fetchall()
    assert rows == [(loc, n, float(top)) for loc, n, top in expected]


def test_ctes_subqueries_and_several_predictors(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    create_byom(rentals, model_server, name="other")
    rows = rentals.sql(
        """
        WITH cheap AS (SELECT * FROM home_rentals WHERE initial_price < 1300),
             scored AS (SELECT c.initial_price, c.rental_price, a.number_of_rooms AS first
                        FROM cheap c JOIN byom a)
        SELECT s.first, b.number_of_rooms AS second, x.n
        FROM scored s JOIN other b
        JOIN (SELECT count(*) AS n FROM home_rentals h JOIN byom q
              WHERE q.number_of_rooms > 0) x ON TRUE
        ORDER BY 1 LIMIT 3
        """
    ).fetchall()
    assert rows and all(first == second for first, second, _ in rows)
    assert rows[0][2] == 1000


def test_two_predictors_joined_to_the_same_rows(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    create_byom(rentals, model_server, name="other")
    rows = rentals.sql(
        "SELECT a.number_of_rooms = b.number_of_rooms FROM home_rentals t "
        "JOIN byom a JOIN other b ON t.rental_price = b.rental_price"
    ).fetchall()
    assert len(rows) == 1000 and all(r[0] for r in rows)


def test_scoring_into_a_table(rentals: byom_sql.Connection) -> None:
    assert rentals.sql(
        "CREATE TABLE scored AS SELECT t.*, p.number_of_rooms AS predicted "
        "FROM home_rentals t JOIN byom p"
    ).status.startswith("CREATE")
    assert rentals.sql("SELECT count(*) FROM scored").fetchone() == (1000,)
    result = rentals.sql(
        "INSERT INTO scored SELECT t.*, p.number_of_rooms FROM home_rentals t "
        "JOIN byom p WHERE t.initial_price = 1000"
    )
    assert result.status == "INSERT 0 20"
    assert rentals.sql("SELECT count(*) FROM scored").fetchone() == (1020,)


def test_a_table_named_like_a_predictor_wins(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    rentals.sql("CREATE TABLE byom AS SELECT 1 AS x")
    assert rentals.sql("SELECT * FROM byom").fetchall() == [(1,)]
    assert rentals.sql(
        "SELECT number_of_rooms FROM mindsdb.byom WHERE initial_price = 1 AND rental_price = 1"
    ).fetchall() == [(2.0,)]
    assert model_server.rows_received() == 1


def test_a_cte_named_like_a_predictor_wins(rentals: byom_sql.Connection) -> None:
    assert rentals.sql("WITH byom AS (SELECT 2 AS x) SELECT * FROM byom").fetchall() == [(2,)]


def test_versions(con: byom_sql.Connection, model_server: ModelServer) -> None:
    load_home_rentals(con, rows=10)
    con.sql(
        "CREATE PREDICTOR v FROM (SELECT initial_price, rental_price, number_of_rooms "
        f"FROM home_rentals) PREDICT number_of_rooms USING url.train = '{model_server.url}"
        f"/ray/train', url.predict = '{model_server.url}/ray/predict', format = 'ray_serve'"
    )
    con.sql("RETRAIN v")
    assert con.sql(
        "SELECT version, active FROM mindsdb.models_versions WHERE name = 'v' ORDER BY version"
    ).fetchall() == [(1, False), (2, True)]
    query = "SELECT number_of_rooms FROM {} WHERE initial_price = 1 AND rental_price = 2"
    assert con.sql(query.format("v.2")).fetchall() == [(3.0,)]
    assert con.sql(query.format("mindsdb.v.1")).fetchall() == [(3.0,)]
    with pytest.raises(byom_sql.UndefinedObject, match="no version 7"):
        con.sql(query.format("v.7"))


def test_features_come_from_training_columns(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con, rows=10)
    con.sql(
        "CREATE PREDICTOR t2 FROM (SELECT sqft, days_on_market, rental_price FROM home_rentals) "
        f"PREDICT rental_price USING url.train = '{model_server.url}/ray/train', "
        f"url.predict = '{model_server.url}/ray/predict', format = 'ray_serve'"
    )
    model_server.requests.clear()
    con.sql("SELECT * FROM home_rentals h JOIN t2 LIMIT 2").fetchall()
    assert {tuple(r) for req in model_server.predict_requests() for r in req.data} == {
        ("sqft", "days_on_market")
    }


def test_predictor_without_known_features_gets_what_the_query_gives(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    con.sql(
        f"CREATE MODEL m PREDICT y USING url.predict = '{model_server.url}/mlflow/invocations',"
        " format = 'mlflow'"
    )
    assert con.sql("SELECT y FROM m WHERE a = 2 AND b = 4").fetchall() == [(6,)]
    con.sql("CREATE TABLE d AS SELECT 1 AS a, 'xy' AS b")
    assert con.sql("SELECT m.y FROM d JOIN m").fetchall() == [(3,)]


def test_empty_input_calls_nothing(rentals: byom_sql.Connection, model_server: ModelServer) -> None:
    result = rentals.sql(
        "SELECT p.number_of_rooms FROM home_rentals t JOIN byom p WHERE t.rental_price < 0"
    )
    assert result.fetchall() == []
    assert model_server.requests == []


def test_nulls_join_back(con: byom_sql.Connection, model_server: ModelServer) -> None:
    create_byom(con, model_server)
    con.sql(
        "CREATE TABLE n AS SELECT * FROM (VALUES (1, 2), (NULL, 3), (NULL, 3)) "
        "v(initial_price, rental_price)"
    )
    rows = con.sql(
        "SELECT t.initial_price, p.number_of_rooms FROM n t JOIN byom p ORDER BY 1 NULLS FIRST"
    ).fetchall()
    assert rows == [(None, 3.0), (None, 3.0), (1, 3.0)]
    assert model_server.rows_received() == 2


def test_progress_is_reported(rentals: byom_sql.Connection) -> None:
    seen: list[tuple[int, int]] = []
    rentals.on_progress = lambda p: seen.append((p.rows_done, p.rows_total))
    rentals.sql("SELECT count(*) FROM home_rentals t JOIN byom p").fetchall()
    assert seen and seen[-1][0] == seen[-1][1] > 0


def test_or_of_constant_groups(rentals: byom_sql.Connection, model_server: ModelServer) -> None:
    rows = rentals.sql(
        "SELECT initial_price, rental_price, number_of_rooms FROM byom "
        "WHERE (initial_price = 1 AND rental_price = 2) OR (initial_price = 10 AND "
        "rental_price IN (20, 30)) ORDER BY 1, 2"
    ).fetchall()
    assert rows == [(1, 2, 3.0), (10, 20, 30.0), (10, 30, 40.0)]
    assert model_server.rows_received() == 3
    with pytest.raises(byom_sql.UndefinedColumn, match="needs a value for rental_price"):
        rentals.sql(
            "SELECT * FROM byom WHERE (initial_price = 1 AND rental_price = 2) OR initial_price = 3"
        )


def test_predictor_first_in_from(rentals: byom_sql.Connection, model_server: ModelServer) -> None:
    rows = rentals.sql(
        "SELECT t.sqft, p.number_of_rooms FROM byom p JOIN home_rentals t "
        "ON t.sqft = p.initial_price AND t.location = 'good' WHERE p.rental_price = 7 "
        "AND t.sqft < 600 ORDER BY 1"
    ).fetchall()
    assert rows and all(pred == sqft + 7 for sqft, pred in rows)
    sent = [row for request in model_server.predict_requests() for row in request.data]
    assert all(r["initial_price"] < 600 for r in sent)


def test_join_using_and_values(rentals: byom_sql.Connection) -> None:
    assert rentals.sql(
        "SELECT t.sqft, p.number_of_rooms FROM home_rentals t JOIN byom p "
        "USING (initial_price, rental_price) ORDER BY t.sqft LIMIT 1"
    ).fetchall() == [(500, 2000.0)]
    assert rentals.sql(
        "SELECT * FROM (VALUES (1, 2)) v(initial_price, rental_price) CROSS JOIN byom p"
    ).fetchall() == [(1, 2, 3.0, 0.5)]


def test_constant_expressions_and_mixed_kinds(rentals: byom_sql.Connection) -> None:
    assert rentals.sql(
        "SELECT number_of_rooms FROM byom WHERE initial_price = 1 + 2 "
        "AND rental_price IN (1, '2') ORDER BY 1"
    ).fetchall() == [(4.0,), (5.0,)]


def test_a_preview_without_inputs_gives_no_rows_and_the_columns(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    before = len(model_server.requests)
    res = rentals.sql("SELECT * FROM mindsdb.byom LIMIT 1")
    assert res.fetchall() == []
    assert res.columns == ["number_of_rooms", "initial_price", "rental_price"]
    assert [str(t) for t in res.schema.types][1:] == ["int64", "int64"]
    assert rentals.sql("SELECT count(*) FROM byom").fetchall() == [(0,)]
    assert len(model_server.requests) == before  # no model call for no rows


def test_outputs_are_written_away_a_window_at_a_time(
    con: byom_sql.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large step's inputs are read, and its outputs written into DuckDB, a window at a
    time: rows stay in order across windows, and an output NULL in the first window and text
    in a later one is widened."""
    monkeypatch.setattr(local, "WINDOW_ROWS", 25)
    con.create_predictor("noted", pymodels.noted, predict="y", batch_size=10)
    con.sql("CREATE TABLE t AS SELECT (i * 7919) % 1000 AS a FROM range(1000) r(i)")
    rows = con.sql("SELECT t.a, p.y, p.y_note FROM t JOIN noted AS p").fetchall()
    assert len(rows) == 1000
    assert all(y == 2 * a and note == (None if a < 30 else f"n{a}") for a, y, note in rows)


def test_the_spool_widens_and_adds_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows of outputs whose columns change: a type widened, a column first seen late."""
    monkeypatch.setattr(local, "WINDOW_ROWS", 2)
    cursor = duckdb.connect()
    temporary = local.Temporaries(cursor)
    spool = local.Spool(temporary, "out")
    spool.add(pa.table({"y": [1, 2], "note": pa.nulls(2)}))
    spool.add(pa.table({"y": [3.5, 4.5], "note": ["c", "d"]}))
    spool.add(pa.table({"y": [5, 6], "note": ["e", None], "late": [True, False]}))
    spool.flush()
    assert spool.columns == ["y", "note", "late"]
    rows = cursor.execute("SELECT * FROM temp.out").fetchall()
    assert rows == [
        (1.0, None, None),
        (2.0, None, None),
        (3.5, "c", None),
        (4.5, "d", None),
        (5.0, "e", True),
        (6.0, None, False),
    ]
    temporary.drop()
    assert cursor.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)
