"""Latency of one single-row WHERE prediction through the Postgres wire (psycopg → byom-sql
serve → model server) against the same model call made directly with httpx, side by side in
one run (interleaved), plus the embedded Python API as a middle point.

    PYTHONPATH=. python bench/wire_latency.py [--iterations 500] [--json FILE]

Writes every sample as JSON too (bench/results/wire_latency.json) for bench/plots.py.

Targets: p50 overhead over the direct call ≤ 1 ms embedded, ≤ 2 ms through psycopg
(prepared, with parameters).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
from common import venv_on_path, write_results

import byom_sql
from tests.model_server import ModelServer
from tests.wire import SEED_QUERY, WireServer, create_seed_predictor

PREPARED = "SELECT * FROM byom WHERE initial_price = %s AND rental_price = %s"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    venv_on_path()
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--json", help="where to write the results (default bench/results/)")
    args = parser.parse_args()
    model = ModelServer().start()
    with tempfile.TemporaryDirectory() as directory:
        server = WireServer(Path(directory))
        try:
            samples = run(model, server, args.iterations)
            write_results(
                "wire_latency", {"iterations": args.iterations, "samples_ms": samples}, args.json
            )
        finally:
            server.stop()
            model.stop()


def run(model: ModelServer, server: WireServer, iterations: int) -> dict[str, list[float]]:
    body = json.dumps(
        {"df": json.dumps({"initial_price": {"0": 3000}, "rental_price": {"0": 3000}})}
    )
    http = httpx.Client()
    wire = psycopg.connect(server.dsn, autocommit=True)
    embedded = byom_sql.connect()
    for statement in create_seed_predictor(model):
        wire.execute(statement)
        embedded.sql(statement)

    def direct() -> object:
        response = http.post(f"{model.url}/ray/predict", content=body)
        return response.json()

    paths: dict[str, Callable[[], object]] = {
        "direct HTTP call to the model": direct,
        "embedded Python API": lambda: embedded.sql(SEED_QUERY).fetchall(),
        "psycopg over the wire": lambda: wire.execute(SEED_QUERY).fetchall(),
        "psycopg, prepared with parameters": lambda: wire.execute(
            PREPARED, (3000, 3000), prepare=True
        ).fetchall(),
    }
    for call in paths.values():  # warm up connections and caches
        for _ in range(20):
            call()
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(iterations):
        for name, call in paths.items():
            samples[name].append(timed(call))
    print(f"{iterations} iterations, single-row WHERE prediction, milliseconds")
    print(f"{'path':34} {'p50':>7} {'p99':>7} {'mean':>7}")
    for name, values in samples.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(f"{name:34} {p50:7.2f} {p99:7.2f} {statistics.fmean(values):7.2f}")
    base = samples["direct HTTP call to the model"]
    for name in ("psycopg over the wire", "psycopg, prepared with parameters"):
        overhead = percentile(samples[name], 0.5) - percentile(base, 0.5)
        verdict = "meets" if overhead <= 2.0 else "misses"
        print(f"{name}: p50 overhead {overhead:.2f} ms ({verdict} the 2 ms target)")
    engine = percentile(samples["embedded Python API"], 0.5) - percentile(base, 0.5)
    print(f"  of which the engine (planner, DuckDB, transport): {engine:.2f} ms")
    print(f"  of which the wire (protocol, session, socket): {overhead - engine:.2f} ms")
    print(f"embedded p50 overhead: {engine:.2f} ms (target 1 ms)")
    wire.close()
    embedded.close()
    http.close()
    return samples


if __name__ == "__main__":
    main()
