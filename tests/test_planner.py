"""The DuckDB SQL the planner emits for the walkthrough queries (snapshots), with no I/O."""

from __future__ import annotations

import pytest

from byom_sql import planner
from byom_sql.catalog import Predictor
from byom_sql.dialect import parse_one, to_sql
from byom_sql.errors import FeatureNotSupported, UndefinedColumn

BYOM = Predictor(
    "mindsdb",
    "byom",
    1,
    ["number_of_rooms"],
    "ray_serve",
    {
        "dtype_dict": {
            "number_of_rooms": "categorical",
            "initial_price": "integer",
            "rental_price": "integer",
        }
    },
)
COLUMNS = ["number_of_rooms", "initial_price", "rental_price", "location"]


class Context:
    def resolve(self, table):
        return BYOM if table.name == "byom" else None

    def columns(self, sql: str) -> list[str]:
        return ["sqft", "zip"] if "other" in sql else COLUMNS

    def is_remote(self, table) -> bool:
        return table.catalog == "mydb"


def plan(sql: str) -> tuple[list[str], str]:
    node = parse_one(sql)
    namer = planner.Namer("q")
    steps = []
    for select, refs in planner.predictor_scopes(node, Context().resolve):
        for action in planner.plan_scope(select, refs, Context(), namer):
            sql_text = action.sql if isinstance(action, planner.Materialize) else action.input_sql
            steps.append(f"{type(action).__name__} {action.name}: {sql_text}")
    return steps, to_sql(node)


def test_where_constants() -> None:
    node = parse_one("SELECT * FROM byom WHERE initial_price IN (3000, 4000) AND rental_price = 1")
    [(select, refs)] = planner.predictor_scopes(node, Context().resolve)
    [step] = planner.plan_scope(select, refs, Context(), planner.Namer("q"))
    assert step.rows == [(3000, 1), (4000, 1)]  # plain literals need no DuckDB query
    assert to_sql(node) == (
        "SELECT * FROM __byom_pred_q_0 AS byom "
        "WHERE initial_price IN (3000, 4000) AND rental_price = 1"
    )


def test_where_expressions_go_through_duckdb() -> None:
    steps, _ = plan("SELECT * FROM byom WHERE initial_price = 1 + 2 AND rental_price = 1")
    assert steps == [
        "Predict __byom_pred_q_0: SELECT DISTINCT * FROM (VALUES (1 + 2)) AS __byom_v_q_1"
        "(initial_price) CROSS JOIN (VALUES (1)) AS __byom_v_q_2(rental_price)"
    ]


def test_seed_join_on_a_remote_table() -> None:
    steps, final = plan(
        "SELECT tb.number_of_rooms, t.rental_price FROM mydb.test_data.home_rentals AS t "
        "JOIN mindsdb.byom AS tb WHERE t.rental_price > 5300"
    )
    assert steps == [
        'Materialize __byom_src_q_0: SELECT "rental_price", "initial_price" '
        "FROM mydb.test_data.home_rentals AS t WHERE t.rental_price > 5300",
        'Predict __byom_pred_q_1: SELECT DISTINCT "t"."initial_price" AS "initial_price", '
        '"t"."rental_price" AS "rental_price" FROM __byom_src_q_0 AS t '
        "WHERE t.rental_price > 5300",
    ]
    assert final == (
        "SELECT tb.number_of_rooms, t.rental_price FROM __byom_src_q_0 AS t, "
        "__byom_pred_q_1 AS tb WHERE t.rental_price > 5300 "
        'AND "tb"."initial_price" IS NOT DISTINCT FROM "t"."initial_price" '
        'AND "tb"."rental_price" IS NOT DISTINCT FROM "t"."rental_price"'
    )


def test_local_join_with_on_rename_and_limit() -> None:
    steps, final = plan(
        "SELECT * FROM home_rentals t JOIN byom p ON t.location = p.initial_price "
        "ORDER BY t.rental_price LIMIT 10"
    )
    assert steps == [
        "Materialize __byom_src_q_0: SELECT * FROM home_rentals AS t "
        "ORDER BY t.rental_price LIMIT 10",
        'Predict __byom_pred_q_1: SELECT DISTINCT t.location AS "initial_price", '
        '"t"."rental_price" AS "rental_price" FROM __byom_src_q_0 AS t',
    ]
    assert final == (
        'SELECT t.*, p.* EXCLUDE ("initial_price", "rental_price") FROM __byom_src_q_0 AS t, '
        "__byom_pred_q_1 AS p WHERE t.location = p.initial_price "
        'AND "p"."initial_price" IS NOT DISTINCT FROM t.location '
        'AND "p"."rental_price" IS NOT DISTINCT FROM "t"."rental_price" '
        "ORDER BY t.rental_price LIMIT 10"
    )


def test_unqualified_columns_are_qualified_and_or_is_relaxed() -> None:
    steps, final = plan(
        "SELECT location, number_of_rooms_confidence FROM home_rentals JOIN byom "
        "WHERE (rental_price > 1 AND number_of_rooms_confidence > 2) OR initial_price < 5"
    )
    assert steps[0].endswith(
        "FROM home_rentals WHERE home_rentals.rental_price > 1 OR home_rentals.initial_price < 5"
    )
    assert final.startswith(
        "SELECT home_rentals.location, byom.number_of_rooms_confidence FROM home_rentals, "
        "__byom_pred_q_0 AS byom WHERE ((home_rentals.rental_price > 1 AND "
        "byom.number_of_rooms_confidence > 2) OR home_rentals.initial_price < 5) AND"
    )


def test_nested_scopes_plan_innermost_first() -> None:
    steps, final = plan(
        "WITH s AS (SELECT t.*, p.number_of_rooms AS guess FROM home_rentals t JOIN byom p) "
        "SELECT count(*) FROM s JOIN byom q"
    )
    assert [s.split(":")[0] for s in steps] == [
        "Predict __byom_pred_q_0",
        "Predict __byom_pred_q_1",
    ]
    assert steps[1].split(": ", 1)[1].startswith("WITH s AS (SELECT t.*, p.number_of_rooms")
    assert "__byom_pred_q_0 AS p" in final and "__byom_pred_q_1 AS q" in final


def test_errors() -> None:
    with pytest.raises(UndefinedColumn, match="needs input column 'initial_price'"):
        plan("SELECT * FROM other t JOIN byom p")
    with pytest.raises(FeatureNotSupported):
        plan("SELECT * FROM byom a, byom b WHERE a.initial_price = 1")
