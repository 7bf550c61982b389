"""EXPLAIN calls no model and says how many requests a query will make; EXPLAIN ANALYZE runs
it and says what the calls did. Both from the API, the command line and the wire."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psycopg
import pytest

import byom_sql
from tests.conftest import create_byom, load_home_rentals
from tests.model_server import Misbehaviour, ModelServer
from tests.test_cli import byom_sql as run_cli
from tests.wire import WireServer

JOIN = (
    "SELECT t.rental_price, p.number_of_rooms FROM home_rentals AS t JOIN byom AS p "
    "WHERE t.rental_price > 4000"
)
WHERE = "SELECT * FROM byom WHERE initial_price IN (1000, 2000, 3000) AND rental_price = 3000"


def plan_lines(con: byom_sql.Connection, sql: str) -> list[str]:
    result = con.sql(sql)
    assert result.columns == ["QUERY PLAN"]
    return [row[0] for row in result.fetchall()]


def figure(lines: list[str], name: str) -> int:
    """The number after `name:` in the plan (the first step's)."""
    for line in lines:
        if match := re.search(rf"\b{re.escape(name)}: (\d+)", line):
            return int(match.group(1))
    raise AssertionError(f"no {name!r} in {lines}")


@pytest.fixture
def batched(con: byom_sql.Connection, model_server: ModelServer) -> byom_sql.Connection:
    load_home_rentals(con)
    create_byom(con, model_server, extra=", batch_size = 40")
    return con


@pytest.mark.parametrize("sql", [JOIN, WHERE])
def test_explain_calls_no_model_and_counts_the_requests_the_query_makes(
    batched: byom_sql.Connection, model_server: ModelServer, sql: str
) -> None:
    lines = plan_lines(batched, f"EXPLAIN {sql}")
    assert model_server.requests == []
    requests, distinct = figure(lines, "requests"), figure(lines, "distinct inputs")
    batched.sql(sql).fetchall()
    assert requests == len(model_server.requests) > 0
    assert distinct == model_server.rows_received()
    assert f"bytes out: {sum(r.size for r in model_server.requests)}" in "\n".join(lines)
    assert any(line.startswith("Predict ") and "mindsdb.byom version 1" in line for line in lines)


def test_explain_shows_input_rows_filters_and_an_estimate_once_calls_are_seen(
    batched: byom_sql.Connection, model_server: ModelServer
) -> None:
    first = plan_lines(batched, f"EXPLAIN {JOIN}")
    text = "\n".join(first)
    rows = batched.sql("SELECT count(*) FROM home_rentals WHERE rental_price > 4000").fetchone()
    assert rows is not None and figure(first, "input rows") == rows[0]
    assert "WHERE t.rental_price > 4000" in text  # the filter runs before the model
    assert "estimated time: unknown" in text
    batched.sql(JOIN).fetchall()
    again = "\n".join(plan_lines(batched, f"EXPLAIN {JOIN}"))
    assert re.search(r"estimated time: [\d.]+ m?s \(from \d+ observed call", again)


def test_explain_analyze_reports_requests_retries_and_429s(
    batched: byom_sql.Connection, model_server: ModelServer
) -> None:
    model_server.misbehaviour = Misbehaviour(status=429, retry_after="0", times=2)
    lines = plan_lines(batched, f"EXPLAIN ANALYZE {JOIN}")
    text = "\n".join(lines)
    served = model_server.predict_requests()
    successful = len(served) - 2
    assert figure(lines, "requests") == successful
    assert figure(lines, "retries") == 2 and figure(lines, "429s") == 2
    assert re.search(r"latency: p50 [\d.]+ ms, p99 [\d.]+ ms", text)
    assert figure(lines, "bytes out") == sum(r.size for r in served)
    assert figure(lines, "rows sent") == model_server.rows_received() - sum(
        r.rows for r in served[:2]
    )
    assert re.search(r"rows/s: \d+", text)
    assert re.search(r"run: \d+ row\(s\)", lines[0])


def test_explain_analyze_counts_cache_hits(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    load_home_rentals(con)
    create_byom(con, model_server, extra=", cache = true")
    con.sql(JOIN).fetchall()
    lines = plan_lines(con, f"EXPLAIN ANALYZE {JOIN}")
    assert figure(lines, "from cache") == figure(lines, "distinct inputs") > 0
    assert figure(lines, "requests") == 0


def test_plain_duckdb_explain_still_works(con: byom_sql.Connection) -> None:
    con.sql("CREATE TABLE t AS SELECT range AS a FROM range(10)")
    result = con.sql("EXPLAIN SELECT a FROM t WHERE a > 3")
    assert result.columns == ["explain_key", "explain_value"]
    assert "SEQ_SCAN" in result.fetchall()[0][1]
    analyzed = con.sql("EXPLAIN ANALYZE SELECT count(*) FROM t").fetchall()
    assert "Total Time" in analyzed[0][1]


def test_explain_takes_postgres_option_lists(
    batched: byom_sql.Connection, model_server: ModelServer
) -> None:
    lines = plan_lines(batched, f"EXPLAIN (ANALYZE, FORMAT TEXT) {WHERE}")
    assert "run:" in lines[0] and len(model_server.requests) == 1
    assert plan_lines(batched, f"explain (analyze false) {WHERE}")[0].startswith("byom_sql plan:")


def test_explain_of_our_own_statement_is_a_clear_error(batched: byom_sql.Connection) -> None:
    with pytest.raises(byom_sql.Error, match="EXPLAIN takes one query"):
        batched.sql("EXPLAIN DROP PREDICTOR byom")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[WireServer]:
    wire = WireServer(tmp_path)
    yield wire
    wire.stop()


def test_explain_over_the_wire(server: WireServer, model_server: ModelServer) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE home_rentals AS SELECT 1000 + range AS initial_price, "
            "3000 AS rental_price FROM range(50)"
        )
        conn.execute(
            f"CREATE PREDICTOR byom PREDICT number_of_rooms USING format = 'ray_serve', "
            f"url.predict = '{model_server.url}/ray/predict', batch_size = 20"
        )
        cursor = conn.execute("EXPLAIN SELECT p.number_of_rooms FROM home_rentals t JOIN byom p")
        assert cursor.description is not None and cursor.description[0].name == "QUERY PLAN"
        lines = [row[0] for row in cursor.fetchall()]
        assert model_server.requests == [] and figure(lines, "requests") == 3
        analyzed = conn.execute(
            "EXPLAIN ANALYZE SELECT p.number_of_rooms FROM home_rentals t JOIN byom p"
        ).fetchall()
        assert figure([r[0] for r in analyzed], "requests") == len(model_server.requests) == 3
        bound = conn.execute("EXPLAIN SELECT * FROM byom WHERE initial_price = %s", [5])
        assert figure([r[0] for r in bound.fetchall()], "distinct inputs") == 1

    async def prepared() -> list[str]:  # asyncpg describes a statement before binding it
        client = await asyncpg.connect(host="127.0.0.1", port=server.port, user="a", database="d")
        try:
            rows = await client.fetch(
                "EXPLAIN ANALYZE SELECT * FROM byom WHERE initial_price = $1", "7"
            )
        finally:
            await client.close()
        return [row["QUERY PLAN"] for row in rows]

    model_server.reset()
    assert figure(asyncio.run(prepared()), "requests") == len(model_server.requests) == 1


def test_explain_from_the_command_line(tmp_path: Path, model_server: ModelServer) -> None:
    database = str(tmp_path / "e.duckdb")
    with byom_sql.connect(database) as con:
        load_home_rentals(con)
        create_byom(con, model_server)
    done = run_cli("--database", database, "-c", f"EXPLAIN {WHERE}")
    assert done.returncode == 0, done.stderr
    assert "requests: 1" in done.stdout and model_server.requests == []


NESTED = (
    "WITH s AS (SELECT t.initial_price, t.rental_price, p.number_of_rooms AS first "
    "FROM home_rentals t JOIN byom p WHERE t.rental_price > 6000) "
    "SELECT s.first, q.number_of_rooms FROM s JOIN byom q"
)


def test_explain_of_a_step_that_reads_another(
    batched: byom_sql.Connection, model_server: ModelServer
) -> None:
    """The second predictor reads the first one's rows: EXPLAIN stands in for them."""
    lines = plan_lines(batched, f"EXPLAIN {NESTED}")
    assert model_server.requests == []
    planned = sum(int(n) for n in re.findall(r"^  requests: (\d+)", "\n".join(lines), re.M))
    rows = batched.sql(NESTED).fetchall()
    assert rows and all(first == second for first, second in rows)
    assert planned == len(model_server.requests)
