"""Scoring throughput of a JOIN through byom_sql, side by side with the alternatives, in one run.

    python bench/throughput.py [--rows 100000] [--repeat 5] [--no-mlflow] [--rss-rows 10000000]
                               [--sweep] [--rss-steps 1000000,3000000,10000000] [--json FILE]

For each endpoint — our fast model server (bench/fast_model_server.py) and a real MLflow scoring
server (`mlflow models serve`, if mlflow and scikit-learn are installed) — it times, interleaved:
  byom_sql     SELECT count(*), sum(p.y) FROM t JOIN m AS p   (batch 10 000, 2 in flight)
  capacity     an optimal client: bodies encoded beforehand, 2 requests in flight
  handwritten  what a user would write: DuckDB → pandas → to_json per chunk → httpx, in a loop
and prints rows/s (median of the runs) and the ratios byom_sql/capacity, byom_sql/handwritten.
Then the peak RSS of a process scoring --rss-rows rows with CREATE TABLE … AS SELECT … JOIN
(or each of --rss-steps). With --sweep, byom_sql and the capacity client on the fast server
for batch sizes 1 000 … 50 000 and 1, 2, 4 requests in flight. Everything printed is written
as JSON too (bench/results/throughput.json), which bench/plots.py draws.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx
import orjson
from common import venv_on_path, write_results

import byom_sql

HERE = Path(__file__).parent
BATCH = 10_000
TABLE_SQL = "CREATE TABLE t AS SELECT i AS a, i % 97 AS b FROM range({rows}) r(i)"


def wait_http(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def start_fast_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "fast_model_server.py")], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    port = int(process.stdout.readline().split()[1])
    return process, f"http://127.0.0.1:{port}"


def start_mlflow(workdir: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    try:
        import mlflow.sklearn
        import numpy as np
        from sklearn.linear_model import LinearRegression
    except ImportError:
        return None
    features = np.array([[i, i % 97] for i in range(1000)], dtype=float)
    model = LinearRegression().fit(features, features.sum(axis=1))
    path = workdir / "model"
    mlflow.sklearn.save_model(model, str(path))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mlflow_cli = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
    process = subprocess.Popen(
        [
            mlflow_cli,
            "models",
            "serve",
            "-m",
            str(path),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/ping")
    return process, url


class Endpoint:
    def __init__(self, name: str, fmt: str, url: str):
        self.name, self.format, self.url = name, fmt, url

    def body(self, rows: list[dict[str, int]]) -> bytes:
        if self.format == "mlflow":
            return orjson.dumps(
                {
                    "dataframe_split": {
                        "columns": ["a", "b"],
                        "data": [[r["a"], r["b"]] for r in rows],
                    }
                }
            )
        return b'{"df":' + orjson.dumps(orjson.dumps(rows).decode()) + b"}"

    def values(self, reply: bytes) -> list[float]:
        payload = orjson.loads(reply)
        return payload["predictions" if self.format == "mlflow" else "prediction"]


def run_byom(con: byom_sql.Connection, rows: int) -> None:
    count, _ = con.sql("SELECT count(*), sum(p.y) FROM t JOIN m AS p").fetchone()
    assert count == rows


def run_capacity(endpoint: Endpoint, bodies: list[bytes], rows: int, concurrency: int) -> None:
    async def main() -> int:
        async with httpx.AsyncClient(timeout=300) as client:
            semaphore = asyncio.Semaphore(concurrency)

            async def one(body: bytes) -> int:
                async with semaphore:
                    reply = await client.post(
                        endpoint.url, content=body, headers={"Content-Type": "application/json"}
                    )
                    return len(endpoint.values(reply.content))

            return sum(await asyncio.gather(*(one(b) for b in bodies)))

    assert asyncio.run(main()) == rows


def run_handwritten(endpoint: Endpoint, database: str, rows: int) -> None:
    frame = duckdb.connect(database).sql("SELECT a, b FROM t").df()
    predictions: list[float] = []
    with httpx.Client(timeout=300) as client:
        for start in range(0, len(frame), BATCH):
            chunk = frame.iloc[start : start + BATCH]
            if endpoint.format == "mlflow":
                payload = {"dataframe_split": chunk.to_dict(orient="split", index=False)}
            else:
                payload = {"df": chunk.to_json(orient="records")}
            reply = client.post(endpoint.url, json=payload)
            predictions.extend(endpoint.values(reply.content))
    frame["y"] = predictions
    assert len(frame) == rows


def measure(
    endpoint: Endpoint,
    database: str,
    rows: int,
    repeat: int,
    batch: int = BATCH,
    concurrency: int = 2,
    handwritten: bool = True,
) -> dict[str, float]:
    con = byom_sql.connect(database)
    con.sql(
        f"CREATE OR REPLACE PREDICTOR m PREDICT y USING url.predict = '{endpoint.url}', "
        f"format = '{endpoint.format}', batch_size = {batch}, max_concurrency = {concurrency}, "
        'dtype_dict = {"a": "integer", "b": "integer", "y": "float"}'
    )
    table = duckdb.connect(database).sql("SELECT a, b FROM t").to_arrow_table()
    records = table.to_pylist()
    bodies = [endpoint.body(records[i : i + batch]) for i in range(0, rows, batch)]
    methods: dict[str, Callable[[], None]] = {
        "byom_sql": lambda: run_byom(con, rows),
        "capacity": lambda: run_capacity(endpoint, bodies, rows, concurrency),
    }
    if handwritten:
        methods["handwritten"] = lambda: run_handwritten(endpoint, database, rows)
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeat):
        for name, method in methods.items():
            started = time.perf_counter()
            method()
            times[name].append(time.perf_counter() - started)
    con.close()
    return {name: rows / statistics.median(values) for name, values in times.items()}


def report(endpoint: Endpoint, rates: dict[str, float]) -> None:
    print(f"\n{endpoint.name} ({endpoint.url})")
    for name, rate in rates.items():
        print(f"  {name:<12} {rate:>12,.0f} rows/s")
    print(f"  byom_sql / capacity    = {rates['byom_sql'] / rates['capacity']:.2f}  (target ≥ 0.9)")
    print(
        f"  byom_sql / handwritten = {rates['byom_sql'] / rates['handwritten']:.2f}  (target ≥ 3)"
    )


def peak_rss(url: str, rows: int) -> None:
    """Child process: score `rows` rows into a table; print the peak RSS."""
    con = byom_sql.connect()
    con.sql(TABLE_SQL.format(rows=rows))
    con.sql(
        f"CREATE PREDICTOR m PREDICT y USING url.predict = '{url}/predict', "
        f"format = 'ray_serve', batch_size = {BATCH}, "
        'dtype_dict = {"a": "integer", "b": "integer", "y": "float"}'
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    con.sql("CREATE TABLE scored AS SELECT t.a, p.y FROM t JOIN m AS p")
    elapsed = time.perf_counter() - started
    assert con.sql("SELECT count(*) FROM scored").fetchone() == (rows,)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"RSS {before / 1024:.0f} {after / 1024:.0f} {elapsed:.1f}")


def sweep(endpoint: Endpoint, database: str, rows: int, repeat: int) -> list[dict[str, float]]:
    points = []
    for concurrency in (1, 2, 4):
        for batch in (1_000, 5_000, 10_000, 50_000):
            rates = measure(endpoint, database, rows, repeat, batch, concurrency, False)
            points.append({"batch_size": batch, "max_concurrency": concurrency, **rates})
            print(
                f"  batch {batch:>6,}  {concurrency} in flight  byom_sql "
                f"{rates['byom_sql']:>10,.0f}  capacity {rates['capacity']:>10,.0f} rows/s"
            )
    return points


def rss_run(url: str, rows: int) -> dict[str, float]:
    child = subprocess.run(
        [sys.executable, __file__, "--rss-child", url, str(rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after, elapsed = child.stdout.split()[1:]
    return {
        "rows": rows,
        "rss_before_mb": float(before),
        "rss_peak_mb": float(after),
        "seconds": float(elapsed),
    }


def main() -> None:
    venv_on_path()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument(
        "--rss-rows", type=int, default=10_000_000, help="rows for the peak-memory run (0 to skip)"
    )
    parser.add_argument(
        "--rss-steps", help="comma-separated row counts: peak RSS of each (RSS vs rows scored)"
    )
    parser.add_argument("--sweep", action="store_true", help="batch size × concurrency sweep")
    parser.add_argument("--json", help="where to write the results (default bench/results/)")
    parser.add_argument("--rss-child", nargs=2, metavar=("URL", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        peak_rss(args.rss_child[0], int(args.rss_child[1]))
        return
    workdir = Path(tempfile.mkdtemp(prefix="byom-bench-"))
    database = str(workdir / "bench.duckdb")
    with duckdb.connect(database) as con:
        con.execute(TABLE_SQL.format(rows=args.rows))
    print(
        f"byom_sql throughput: {args.rows:,} distinct rows, batch {BATCH:,}, "
        f"{args.repeat} interleaved runs, {os.cpu_count()} CPUs"
    )
    fast, fast_url = start_fast_server()
    servers: list[subprocess.Popen] = [fast]
    results: dict[str, object] = {"rows": args.rows, "repeat": args.repeat, "cpus": os.cpu_count()}
    try:
        endpoint = Endpoint(
            "fast model server (ray_serve contract)", "ray_serve", f"{fast_url}/predict"
        )
        results["fast"] = measure(endpoint, database, args.rows, args.repeat)
        report(endpoint, results["fast"])  # type: ignore[arg-type]
        if args.sweep:
            print("\nsweep on the fast server")
            results["sweep"] = sweep(endpoint, database, args.rows, args.repeat)
        mlflow = None if args.no_mlflow else start_mlflow(workdir)
        if mlflow is None and not args.no_mlflow:
            print("\nMLflow: skipped (pip install mlflow-skinny scikit-learn skops)")
        if mlflow is not None:
            servers.append(mlflow[0])
            endpoint = Endpoint(
                "real MLflow scoring server (dataframe_split)", "mlflow", f"{mlflow[1]}/invocations"
            )
            results["mlflow"] = measure(endpoint, database, args.rows, args.repeat)
            report(endpoint, results["mlflow"])  # type: ignore[arg-type]
        steps = [int(n) for n in args.rss_steps.split(",")] if args.rss_steps else []
        steps = steps or ([args.rss_rows] if args.rss_rows else [])
        results["rss"] = []
        for rows in steps:
            run = rss_run(fast_url, rows)
            results["rss"].append(run)  # type: ignore[attr-defined]
            print(
                f"\npeak RSS scoring {rows:,} rows into a table: {run['rss_peak_mb']:.0f} MB "
                f"({run['rss_before_mb']:.0f} MB after loading the table; {run['seconds']} s)"
            )
        write_results("throughput", results, args.json)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
