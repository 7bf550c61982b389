"""The wire server under load: many psycopg clients at once against a fast model endpoint,
for a fixed time, in two mixes one after the other, each on a fresh server: single-row
predictions with parameters (the online-serving case), then those alternating with 5-row JOINs.

    python bench/load.py [--clients 100] [--seconds 30] [--processes 4] [--json FILE]

Prints, per mix, queries/s, p50/p99 latency, errors and wrong rows, and the server's RSS idle
before, at the end of the load, and 10 s after every client has gone. Writes the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

import byom_sql

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from throughput import start_fast_server  # noqa: E402

SINGLE = "SELECT y FROM p WHERE a = %s AND b = %s"
JOIN = "SELECT t.a, p.y FROM t JOIN p WHERE t.a < 5 ORDER BY t.a"
JOIN_ROWS = [(a, float(a + a % 97)) for a in range(5)]
MIXES = ("single", "mixed")  # single-row predictions only; with a JOIN every other query


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_server(directory: Path, model_url: str) -> tuple[subprocess.Popen[bytes], int]:
    database = directory / "load.duckdb"
    with byom_sql.connect(str(database)) as con:
        con.sql("CREATE TABLE t AS SELECT i AS a, i % 97 AS b FROM range(1000) r(i)")
        con.sql(
            f"CREATE PREDICTOR p PREDICT y USING url.predict = '{model_url}/p/predict', "
            "format = 'ray_serve', "
            'dtype_dict = {"a": "integer", "b": "integer", "y": "float"}'
        )
    port = 55000 + os.getpid() % 1000
    command = [sys.executable, "-m", "byom_sql", "serve", "--database", str(database)]
    command += ["--port", str(port), "--max-connections", "200"]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)  # a line per connection
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=load dbname=load").close()
            return process, port
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise RuntimeError("the server did not come up")


def client(port: int, until: float, joins: bool, out: list[tuple[float, bool]]) -> None:
    """One connection until `until`: single-row predictions, with a JOIN every other query
    when `joins`."""
    with psycopg.connect(f"host=127.0.0.1 port={port} user=load dbname=load") as conn:
        conn.autocommit = True
        turn = 0
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                if not joins or turn % 2 == 0:
                    a = turn % 1000
                    rows = conn.execute(SINGLE, (a, a % 97)).fetchall()
                    right = rows == [(float(a + a % 97),)]
                else:
                    right = conn.execute(JOIN).fetchall() == JOIN_ROWS
            except psycopg.Error:
                right = False
            out.append((time.perf_counter() - started, right))
            turn += 1


def process_main(
    port: int,
    clients: int,
    until: float,
    joins: bool,
    queue: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    results: list[tuple[float, bool]] = []
    threads = [
        threading.Thread(target=client, args=(port, until, joins, results)) for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def run(mix: str, args: argparse.Namespace, model_url: str) -> dict[str, object]:
    """One mix on a fresh server: its figures."""
    with tempfile.TemporaryDirectory() as directory:
        server, port = start_server(Path(directory), model_url)
        try:
            time.sleep(1)
            idle = rss_mb(server.pid)
            until = time.monotonic() + args.seconds
            queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
            share = [args.clients // args.processes] * args.processes
            share[0] += args.clients - sum(share)
            joins = mix == "mixed"
            workers = [
                multiprocessing.Process(target=process_main, args=(port, n, until, joins, queue))
                for n in share
            ]
            for worker in workers:
                worker.start()
            results = [r for _ in workers for r in queue.get()]
            loaded = rss_mb(server.pid)
            for worker in workers:
                worker.join()
            time.sleep(10)
            after = rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait()
    latencies = sorted(seconds for seconds, _ in results)
    return {
        "queries": len(results),
        "queries_per_second": round(len(results) / args.seconds, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99)], 1),
        "failed_or_wrong": sum(not right for _, right in results),
        "rss_idle_mb": round(idle),
        "rss_loaded_mb": round(loaded),
        "rss_after_mb": round(after),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--json", default=str(HERE / "results" / "load.json"))
    args = parser.parse_args()

    model, model_url = start_fast_server()
    try:
        mixes = {mix: run(mix, args, model_url) for mix in MIXES}
    finally:
        model.kill()
    print(f"{args.clients} clients, {args.seconds:g} s per mix")
    print(f"{'':20} " + " ".join(f"{mix:>10}" for mix in mixes))
    for key in mixes["single"]:
        print(f"{key:20} " + " ".join(f"{figures[key]:>10}" for figures in mixes.values()))
    figures = {"clients": args.clients, "seconds": args.seconds, "mixes": mixes}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
