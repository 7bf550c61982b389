"""Throughput of Python models in byom_sql, side by side with hand-written equivalents, in one
run.

    python bench/python_models.py [--rows 200000] [--repeat 3] [--no-http]

Each query is `SELECT count(*), sum(p.y) FROM t JOIN m AS p` over --rows distinct rows, with
the model y = a + b written three ways (called per row, per batch with numpy columns, per batch
with a DataFrame); each is timed next to what a user would write by hand (DuckDB → pandas →
the same function, no byom_sql). With HTTP, the vectorised class is also served by
`byom-sql serve-model` and read through format ray_serve and mlflow. Prints rows/s (median of
the runs) and the ratio byom_sql/hand-written.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

import byom_sql

ROOT = Path(__file__).resolve().parent.parent
QUERY = "SELECT count(*), sum(p.y) FROM t JOIN {name} AS p"


def per_row(a: int, b: int) -> int:
    return a + b


def columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


def frame(df: pd.DataFrame) -> pd.Series:
    return df["a"] + df["b"]


class Vectorised:
    def predict_batches(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b


def by_hand(data: duckdb.DuckDBPyConnection, style: str) -> Callable[[], None]:
    """DuckDB → pandas → the function → a total, as one would write it without byom_sql."""

    def run() -> None:
        df = data.execute("SELECT DISTINCT a, b FROM t").df()
        if style == "row":
            y = [per_row(a, b) for a, b in zip(df["a"].tolist(), df["b"].tolist(), strict=True)]
        elif style == "columns":
            y = columns(df["a"].to_numpy(), df["b"].to_numpy())
        else:
            y = frame(df)
        assert len(y) == len(df)

    return run


def median_rate(run: Callable[[], None], rows: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return rows / statistics.median(times)


def serve(name: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "byom_sql", "serve-model", name, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    found = re.search(r" at (http://\S+) ", process.stdout.readline())
    assert found, "serve-model did not start"
    return process, found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    rows = args.rows
    table = f"CREATE TABLE t AS SELECT i AS a, i % 97 AS b FROM range({rows}) r(i)"
    con = byom_sql.connect()
    con.sql(table)
    hand = duckdb.connect()
    hand.execute(table)
    cases = [("row", per_row), ("columns", columns), ("frame", frame)]
    print(f"{rows} rows, median of {args.repeat}; rows/s")
    for style, model in cases:
        con.create_predictor(style, model, predict="y")
        ours = median_rate(
            lambda s=style: con.sql(QUERY.format(name=s)).fetchall(), rows, args.repeat
        )
        theirs = median_rate(by_hand(hand, style), rows, args.repeat)
        ratio = ours / theirs
        print(f"  {style:8} byom_sql {ours:12,.0f}   by hand {theirs:12,.0f}   ratio {ratio:.2f}")
    if args.no_http:
        return
    process, url = serve("bench.python_models:Vectorised")
    try:
        for fmt, path in (("ray_serve", "/predict"), ("mlflow", "/invocations")):
            con.sql(
                f"CREATE PREDICTOR http_{fmt} PREDICT y USING format = '{fmt}', "
                f"url.predict = '{url}{path}'"
            )
            rate = median_rate(
                lambda f=fmt: con.sql(QUERY.format(name=f"http_{f}")).fetchall(), rows, args.repeat
            )
            print(f"  serve-model via {fmt:9} {rate:12,.0f}")
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
