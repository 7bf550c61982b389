"""What answering a client's metadata query costs: pgcatalog.intercept (parse, rewrite) and
running the rewritten SQL in DuckDB, for the statements psql, SQLAlchemy, asyncpg and pgjdbc
send (tests/fixtures/pgclients), on an engine with `--tables` tables of 8 columns and a predictor.
Side by side in one run: the same engine answering a plain `SELECT 1`.

    PYTHONPATH=. python bench/pgcatalog_latency.py [--tables 50] [--iterations 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import byom_sql
from byom_sql.engine import parse_script
from byom_sql.server import pgcatalog
from byom_sql.server.state import SessionState
from tests.test_pgcatalog import parameters

FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures" / "pgclients"
STATEMENTS = [
    ("psql", r"\dt", 0),
    ("psql", r"\d home_rentals", 0),
    ("psql", r"\d home_rentals", 2),
    ("sqlalchemy", "psycopg get_table_names", 0),
    ("sqlalchemy", "psycopg get_columns", 0),
    ("asyncpg", "introspection", 2),
    ("pgjdbc", "getTables", 0),
    ("pgjdbc", "getColumns", 0),
]


def median_ms(run: Callable[[], object], iterations: int) -> float:
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=50)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    con = byom_sql.connect()
    for n in range(args.tables):
        columns = ", ".join(f"c{i} {t}" for i, t in enumerate(["INTEGER", "VARCHAR"] * 4))
        con.sql(f"CREATE TABLE t{n} ({columns})")
    con.sql("CREATE TABLE home_rentals (number_of_rooms INTEGER, initial_price BIGINT)")
    con.sql(
        "CREATE PREDICTOR byom PREDICT number_of_rooms USING format = 'ray_serve', "
        "url.predict = 'http://127.0.0.1:9/p', dtype_dict = "
        '{"number_of_rooms": "integer", "initial_price": "integer"}'
    )
    state = SessionState(con, "bench", "bench", backend_pid=1)
    print(f"{args.tables + 1} tables, median of {args.iterations} runs (ms)")
    print(f"{'statement':42} {'intercept':>10} {'+ DuckDB':>10}")
    baseline = median_ms(lambda: con.sql("SELECT 1").fetchall(), args.iterations)
    print(f"{'SELECT 1 (engine only)':42} {'':>10} {baseline:10.1f}")
    for sql in (
        "SELECT * FROM home_rentals WHERE number_of_rooms = 3",
        "SELECT name, version FROM mindsdb.models",
    ):
        alone = median_ms(lambda sql=sql: pgcatalog.intercept(state, sql), args.iterations)
        print(f"{'untouched: ' + sql[:31]:42} {alone:10.3f}")
    for client, key, index in STATEMENTS:
        text = (FIXTURES / f"{client}.json").read_text().replace("{schema}", "main")
        exchange = json.loads(text)[key][index]
        sql = exchange["sql"]
        answer = pgcatalog.intercept(state, sql)
        params = parameters(exchange) if answer is not None and answer.sql else None

        def answered(sql: str = sql, params: list | None = params) -> object:
            answer = pgcatalog.intercept(state, sql)
            if answer is not None and answer.sql is not None:
                result = con.run(parse_script(answer.sql)[0], params)
                return result.fetchall()
            return answer

        alone = median_ms(lambda sql=sql: pgcatalog.intercept(state, sql), args.iterations)
        total = median_ms(answered, args.iterations) if answer is not None else alone
        print(f"{client + ' ' + key + f' #{index}':42} {alone:10.1f} {total:10.1f}")


if __name__ == "__main__":
    main()
