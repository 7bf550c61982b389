"""The Plans the planner makes for the walkthrough queries (snapshots), with no I/O."""

from __future__ import annotations

import pytest
from sqlglot import exp

from byom_sql.catalog import Predictor
from byom_sql.config import EngineConfig
from byom_sql.dialect import parse_one, to_sql
from byom_sql.errors import FeatureNotSupported, UndefinedColumn
from byom_sql.planning import planner
from byom_sql.planning.plan import Materialize, Plan, Predict

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


class Schema:
    """A schema of two tables; it records what the planner asked to describe."""

    def __init__(self) -> None:
        self.described: list[str] = []

    def resolve(self, table: exp.Table) -> Predictor | None:
        return BYOM if table.name == "byom" else None

    def columns(self, query: exp.Query) -> list[str]:
        sql = to_sql(query)
        self.described.append(sql)
        return ["sqft", "zip"] if "other" in sql else COLUMNS

    def is_remote(self, table: exp.Table) -> bool:
        return table.catalog == "mydb"

    def outputs(self, predictor: Predictor) -> list[str]:
        return [*predictor.targets, "number_of_rooms_confidence"]


def make_plan(sql: str, schema: Schema | None = None) -> Plan:
    return planner.plan(parse_one(sql), schema or Schema(), EngineConfig(), "q")


def plan(sql: str) -> tuple[list[str], str]:
    """Each step as `Kind name: SQL`, and the final statement."""
    made = make_plan(sql)
    steps = []
    for step in made.steps:
        query = step.query if isinstance(step, Materialize) else step.inputs
        assert query is not None
        steps.append(f"{type(step).__name__} {step.name}: {to_sql(query)}")
    return steps, to_sql(made.final)


def test_where_constants() -> None:
    made = make_plan("SELECT * FROM byom WHERE initial_price IN (3000, 4000) AND rental_price = 1")
    [step] = made.steps
    assert isinstance(step, Predict) and step.constants
    assert step.rows == ((3000, 1), (4000, 1))  # plain literals need no DuckDB query
    assert step.features == ("initial_price", "rental_price")
    assert (step.batching.batch_size, step.batching.max_concurrency) == (10_000, 2)
    assert to_sql(made.final) == (
        "SELECT * FROM __byom_pred_q_0 AS byom "
        "WHERE initial_price IN (3000, 4000) AND rental_price = 1"
    )


def test_a_preview_has_no_input_rows() -> None:
    made = make_plan("SELECT number_of_rooms FROM mindsdb.byom LIMIT 1")
    [step] = made.steps
    assert isinstance(step, Predict) and step.constants and step.rows == ()
    assert step.features == ("initial_price", "rental_price")
    assert to_sql(made.final) == "SELECT number_of_rooms FROM __byom_pred_q_0 AS byom LIMIT 1"


def test_a_plan_is_a_value_printed_as_it_will_run() -> None:
    sql = (
        "SELECT tb.number_of_rooms, t.rental_price FROM mydb.test_data.home_rentals AS t "
        "JOIN mindsdb.byom AS tb WHERE t.rental_price > 5300"
    )
    statement = parse_one(sql)
    before = to_sql(statement)
    made = planner.plan(statement, Schema(), EngineConfig(batch_size=500), "q")
    assert to_sql(statement) == before  # the caller's tree is not rewritten
    assert str(made) == (
        "Materialize __byom_src_q_0 (remote):\n"
        '    SELECT "rental_price", "initial_price" FROM mydb.test_data.home_rentals AS t '
        "WHERE t.rental_price > 5300\n"
        "Predict __byom_pred_q_1: mindsdb.byom version 1 (ray_serve None)\n"
        "    features initial_price, rental_price; batches of 500, 2 in flight, "
        "timeout 60 s, 3 retries\n"
        '    SELECT DISTINCT "t"."initial_price" AS "initial_price", '
        '"t"."rental_price" AS "rental_price" FROM __byom_src_q_0 AS t '
        "WHERE t.rental_price > 5300\n"
        "Final:\n"
        "    SELECT tb.number_of_rooms, t.rental_price FROM __byom_src_q_0 AS t, "
        "__byom_pred_q_1 AS tb WHERE t.rental_price > 5300 "
        'AND "tb"."initial_price" IS NOT DISTINCT FROM "t"."initial_price" '
        'AND "tb"."rental_price" IS NOT DISTINCT FROM "t"."rental_price"'
    )
    assert [type(s).__name__ for s in made.steps] == ["Materialize", "Predict"]
    assert made.materializations[0].remote and made.predictions[0].predictor is BYOM


def test_batching_comes_from_using_over_the_engine() -> None:
    fast = Predictor(
        "mindsdb", "byom", 1, ["number_of_rooms"], "ray_serve",
        {**BYOM.options, "batch_size": 7, "timeout": 2.5},
    )  # fmt: skip
    schema = Schema()
    schema.resolve = lambda table: fast if table.name == "byom" else None  # type: ignore[method-assign]
    [step] = make_plan("SELECT * FROM home_rentals JOIN byom", schema).predictions
    assert (step.batching.batch_size, step.batching.timeout, step.batching.retries) == (7, 2.5, 3)


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


def test_outer_scopes_are_described_without_running_inner_steps() -> None:
    """Planning creates no relation: an outer SELECT over an inner prediction is described with
    a stand-in for it (the model's outputs typed by dtype_dict, then the inputs)."""
    schema = Schema()
    make_plan(
        "SELECT * FROM (SELECT t.location, p.* FROM mydb.s.home_rentals t JOIN byom p) AS s "
        "JOIN byom q",
        schema,
    )
    outer = schema.described[-1]
    assert "__byom_" not in outer
    assert (
        'SELECT CAST(NULL AS BIGINT) AS "number_of_rooms_confidence"' not in outer
        and 'NULL AS "number_of_rooms", NULL AS "number_of_rooms_confidence"' in outer
        and "FROM mydb.s.home_rentals AS t" in outer
    )


def test_errors() -> None:
    with pytest.raises(UndefinedColumn, match="needs input column 'initial_price'"):
        plan("SELECT * FROM other t JOIN byom p")
    with pytest.raises(FeatureNotSupported):
        plan("SELECT * FROM byom a, byom b WHERE a.initial_price = 1")
