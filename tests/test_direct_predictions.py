"""Predictions from constants (`SELECT … FROM byom WHERE a = 1 AND b IN (2, 3)`) are answered
from the model's outputs without DuckDB, planned once per statement text: the same rows, types
and names as the general path, which still answers whenever it must."""

from __future__ import annotations

import pyarrow as pa

import byom_sql
from byom_sql.engine import parse_script
from byom_sql.planning.plan import Plan
from byom_sql.planning.planner import plan
from tests.conftest import create_byom
from tests.model_server import ModelServer

WHERE = "SELECT * FROM byom WHERE initial_price IN (1000, 2000) AND rental_price = 3000"


def test_the_answer_is_the_general_paths(rentals: byom_sql.Connection) -> None:
    direct = rentals.sql(WHERE).arrow()
    general = rentals.sql(f"{WHERE} ORDER BY initial_price").arrow()  # DuckDB sorts it
    assert direct.schema == general.schema
    assert direct.sort_by("initial_price").to_pylist() == general.to_pylist()
    assert plan_of(rentals, WHERE).direct is not None
    assert plan_of(rentals, f"{WHERE} ORDER BY initial_price").direct is None


def test_columns_aliases_and_case(rentals: byom_sql.Connection) -> None:
    query = (
        "SELECT Number_Of_Rooms AS n, byom.initial_price, Rental_Price FROM byom "
        "WHERE initial_price = 1000 AND rental_price = 3000"
    )
    result = rentals.sql(query)
    assert result.columns == ["n", "initial_price", "rental_price"]
    assert result.fetchall() == [(4000.0, 1000, 3000)]
    assert plan_of(rentals, query).direct is not None


def test_a_constant_that_changes_type_is_compared_by_duckdb(
    rentals: byom_sql.Connection,
) -> None:
    """'1000' becomes the integer 1000: DuckDB, not Python, says whether `= '1000'` holds."""
    query = "SELECT * FROM byom WHERE initial_price = '1000' AND rental_price = 3000.0"
    assert rentals.sql(query).fetchall() == [(4000.0, 0.5, 1000, 3000)]


def test_filters_on_predictions_go_to_duckdb(rentals: byom_sql.Connection) -> None:
    query = f"{WHERE} AND number_of_rooms > 4500"
    assert plan_of(rentals, query).direct is None
    assert rentals.sql(query).fetchall() == [(5000.0, 0.5, 2000, 3000)]


def test_a_replaced_predictor_is_planned_again(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    rentals.sql(WHERE).fetchall()
    second = ModelServer().start()
    try:
        rentals.sql(
            "CREATE OR REPLACE PREDICTOR byom PREDICT number_of_rooms USING "
            f"url.predict = '{second.url}/ray/predict', format = 'ray_serve'"
        )
        assert len(rentals.sql(WHERE).fetchall()) == 2
        assert len(second.predict_requests()) == 1
    finally:
        second.stop()
    create_byom(rentals, model_server, name="other")
    before = len(model_server.predict_requests())
    rentals.sql(WHERE.replace("byom", "other")).fetchall()
    assert len(model_server.predict_requests()) == before + 1


def plan_of(con: byom_sql.Connection, sql: str) -> Plan:
    (statement,) = parse_script(sql)
    assert statement.node is not None
    return plan(statement.node, con.schema, con.config, "t")


def test_types_survive_as_arrow(rentals: byom_sql.Connection) -> None:
    table = rentals.sql(WHERE).arrow()
    assert table.schema.field("initial_price").type == pa.int64()
