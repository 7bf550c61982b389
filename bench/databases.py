"""Reading a PostgreSQL table through CREATE DATABASE, side by side in one run.

    python bench/databases.py [--rows 200000] [--repeat 5]

Needs the PostgreSQL of BYOM_TEST_PG_DSN (default postgresql://postgres@127.0.0.1:5432/test);
makes a schema of its own and drops it. Prints the median of the runs for:
  open         a new engine on a file whose catalog holds the database (extension + ATTACH)
  pushed       SELECT count(*), sum(initial_price) … WHERE rental_price > 7800  (filter runs in
               PostgreSQL: ~1/70 of the rows travel)
  not pushed   the same with WHERE rental_price + 0 > 7800 (every row travels, DuckDB filters)
  raw          the same through FROM mydb (SELECT … WHERE …), PostgreSQL's own SQL
  full scan    SELECT count(*), sum(initial_price) over every row
and the ratio not pushed / pushed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import byom_sql

ROWS_SQL = """
CREATE TABLE mydb.{schema}.home_rentals AS
SELECT (i % 4) + 1 AS number_of_rooms, 500 + (i * 37) % 1500 AS sqft,
       1000 + (i % 50) * 100 AS initial_price, 1000 + (i % 70) * 100 AS rental_price
FROM range({rows}) r(i)
"""


def parameters(**changes: object) -> dict[str, object]:
    url = urlparse(os.environ.get("BYOM_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"))
    found = {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "database": url.path.lstrip("/") or "test",
        "user": url.username or "postgres",
        "password": url.password,
    }
    return {k: v for k, v in {**found, **changes}.items() if v is not None}


def create(con: byom_sql.Connection, **changes: object) -> None:
    con.sql(
        "CREATE OR REPLACE DATABASE mydb WITH ENGINE = 'postgres', "
        f"PARAMETERS = {json.dumps(parameters(**changes))}"
    )


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(path: str, schema: str, repeat: int) -> dict[str, float]:
    def opened() -> None:
        with byom_sql.connect(path) as other:
            other.sql("SELECT 1")

    samples: dict[str, list[float]] = {"open": [timed(opened) for _ in range(repeat)]}
    table = f"mydb.{schema}.home_rentals"
    queries = {
        "pushed": f"SELECT count(*), sum(initial_price) FROM {table} WHERE rental_price > 7800",
        "not pushed": f"SELECT count(*), sum(initial_price) FROM {table} "
        "WHERE rental_price + 0 > 7800",
        "raw": "SELECT count(*), sum(initial_price) FROM mydb (SELECT initial_price "
        f"FROM {schema}.home_rentals WHERE rental_price > 7800)",
        "full scan": f"SELECT count(*), sum(initial_price) FROM {table}",
    }
    with byom_sql.connect(path) as con:
        answers = {name: con.sql(sql).fetchone() for name, sql in queries.items()}
        assert answers["pushed"] == answers["not pushed"] == answers["raw"], answers
        for _ in range(repeat):  # interleaved, so drift hits every query alike
            for name, sql in queries.items():
                samples.setdefault(name, []).append(timed(lambda s=sql: con.sql(s).fetchone()))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    schema = f"byom_bench_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "state.duckdb")
        with byom_sql.connect(path) as con:
            create(con, read_only=False)
            con.sql(f"CALL postgres_execute('mydb', 'CREATE SCHEMA {schema}')")
            con.sql(ROWS_SQL.format(schema=schema, rows=args.rows))
            create(con)  # read-only, as users get it
        try:
            figures = measure(path, schema, args.repeat)
        finally:
            with byom_sql.connect(path) as con:
                create(con, read_only=False)
                con.sql(f"CALL postgres_execute('mydb', 'DROP SCHEMA {schema} CASCADE')")
    print(f"PostgreSQL, {args.rows} rows, median of {args.repeat} runs")
    for name, seconds in figures.items():
        rows = "" if name == "open" else f"  {args.rows / seconds:12,.0f} rows/s"
        print(f"  {name:<11} {seconds * 1000:9.1f} ms{rows}")
    print(f"  not pushed / pushed: {figures['not pushed'] / figures['pushed']:.1f}x")


if __name__ == "__main__":
    main()
