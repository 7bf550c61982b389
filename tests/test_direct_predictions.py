"""Predictions from constants (`SELECT … FROM byom WHERE a = 1 AND b IN (2, 3)`) are answered
from the model's outputs without DuckDB, planned once per statement text: the same rows, types
and names as the general path, which still answers whenever it must."""

from __future__ import annotations

import pyarrow as pa

import byom_sql
from byom_sql.dialect import to_sql
from byom_sql.engine import parse_script
from byom_sql.execution import direct
from byom_sql.planning.plan import Plan, Template, stand_ins
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


PARAMETERS = "SELECT * FROM byom WHERE initial_price IN ($1, $2) AND rental_price = $3"


def test_parameters_are_planned_once_and_give_each_calls_rows(
    rentals: byom_sql.Connection, model_server: ModelServer, monkeypatch
) -> None:
    """A statement with parameters is planned once (with stand-ins), then each call's values
    are put in: the same rows as the statement written with those values."""
    planned: list[object] = []
    real = direct.plan
    monkeypatch.setattr(direct, "plan", lambda *a, **k: planned.append(a) or real(*a, **k))
    for values in [(1000, 2000, 3000), (1500, 2500, 3500), (1000, 4000, 2000)]:
        got = rentals.sql(PARAMETERS, list(values)).arrow().sort_by("initial_price")
        written = PARAMETERS.replace("$1", str(values[0])).replace("$2", str(values[1]))
        expected = rentals.sql(written.replace("$3", str(values[2]))).arrow()
        assert got.to_pylist() == expected.sort_by("initial_price").to_pylist()
    assert len(planned) == 2 + 3  # the first call, with its values and with stand-ins; and
    # each statement written out: the second and third calls were not planned


def test_parameters_the_template_cannot_take_are_planned_with_their_values(
    rentals: byom_sql.Connection,
) -> None:
    same = rentals.sql(PARAMETERS, [1000, 1000, 3000]).fetchall()  # one distinct row
    assert same == [(4000.0, 0.5, 1000, 3000)]
    limited = "SELECT * FROM byom WHERE initial_price = $1 AND rental_price = 3000 LIMIT $2"
    assert len(rentals.sql(limited, [1000, 1]).fetchall()) == 1
    texts = "SELECT * FROM byom WHERE initial_price = $1 AND rental_price = $2"
    assert rentals.sql(texts, ["1000", 3000]).fetchall() == [(4000.0, 0.5, 1000, 3000)]
    assert rentals.sql(texts, [1000.0, 3000]).fetchall() == [(4000.0, 0.5, 1000, 3000)]


def test_parameters_that_planning_reads_are_not_stood_in(
    rentals: byom_sql.Connection, tmp_path
) -> None:
    """A file name or a LIMIT as a parameter: planned with the call's values every time."""
    data = tmp_path / "rows.csv"
    data.write_text("initial_price,rental_price\n1000,3000\n2000,3000\n")
    query = "SELECT t.initial_price, p.number_of_rooms FROM read_csv(?) t JOIN byom p"
    for _ in range(2):
        rows = sorted(rentals.sql(query, [str(data)]).fetchall())
        assert rows == [(1000, 4000.0), (2000, 5000.0)]
    limited = (
        "SELECT p.number_of_rooms FROM (SELECT * FROM home_rentals ORDER BY initial_price "
        "LIMIT ?) t JOIN byom p"
    )
    assert len(rentals.sql(limited, [3]).fetchall()) == 3


def test_two_conditions_on_one_input_go_to_duckdb(rentals: byom_sql.Connection) -> None:
    both = (
        "SELECT * FROM byom WHERE initial_price = 1000 AND initial_price = {} "
        "AND rental_price = 3000"
    )
    assert rentals.sql(both.format(2000)).fetchall() == []
    assert rentals.sql(both.format("1000")).fetchall() == [(4000.0, 0.5, 1000, 3000)]
    assert plan_of(rentals, both.format(2000)).direct is None


def test_a_bound_templates_final_statement_holds_the_calls_values(
    rentals: byom_sql.Connection,
) -> None:
    """DuckDB runs a Direct plan's final statement when an input changed type: it must hold
    this call's values, not the stand-ins the template was planned with."""
    values = stand_ins([1000, 3000])
    assert values is not None
    sql = f"SELECT * FROM byom WHERE initial_price = {values[0]} AND rental_price = {values[1]}"
    template = Template.of(plan_of(rentals, sql), values)
    assert template is not None
    bound = template.bound([1500, 2500])
    assert bound is not None
    final = to_sql(bound.statement())
    assert "1500" in final and "2500" in final
    assert str(values[0]) not in final and str(values[1]) not in final
    assert str(values[0]) in to_sql(template.plan.statement())  # the template is unchanged
