"""Scoring throughput of a JOIN through byom_sql, side by side with the alternatives, in one run.

    python bench/throughput.py [--rows 100000] [--repeat 5] [--no-mlflow] [--no-oip]
                               [--rss-rows 10000000] [--sweep] [--rss-steps 1000000,3000000]
                               [--memory-limit 400MB] [--busy] [--json FILE]

For each endpoint — our fast model server (bench/fast_model_server.py) and a real MLflow scoring
server (`mlflow models serve`, if mlflow and scikit-learn are installed) — it times, interleaved:
  byom_sql     SELECT count(*), sum(p.y) FROM t JOIN m AS p   (batch 10 000, 2 in flight)
  capacity     an optimal client: bodies encoded beforehand, 2 requests in flight
  handwritten  what a user would write: DuckDB → pandas → to_json per chunk → httpx, in a loop
and prints rows/s (median of the runs) and the ratios byom_sql/capacity, byom_sql/handwritten.
Open Inference Protocol servers (examples/mlserver and examples/kserve, in the venvs the tests
make under .venv-servers/): MLServer's scikit-learn model (one 2-D tensor, JSON) and KServe's
model (one tensor per column) with JSON and with binary tensors, byom_sql against capacity.
Then the peak RSS of a process scoring --rss-rows rows with CREATE TABLE … AS SELECT … JOIN
(or each of --rss-steps). With --sweep, byom_sql and the capacity client on the fast server
for batch sizes 1 000 … 50 000 and 1, 2, 4 requests in flight. Everything printed is written
as JSON too (bench/results/throughput.json), which bench/plots.py draws.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
import numpy as np
import orjson
from common import venv_on_path, write_results

import byom_sql

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))  # tests/stacks.py starts the example model servers
from tests import stacks  # noqa: E402 - after the path

OIP_TABLE = (
    "CREATE TABLE o AS SELECT 1000 + i % 5000 AS initial_price, i % 5 AS number_of_rooms, "
    "300 + i AS sqft, i % 90 AS days_on_market FROM range({rows}) r(i)"
)
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


class Tensors:
    """An Open Inference Protocol endpoint, and an optimal client's bodies for it."""

    def __init__(self, name: str, url: str, inputs: list[str], layout: str, binary: bool):
        self.name, self.url, self.inputs, self.layout, self.binary = (
            name, url, inputs, layout, binary
        )  # fmt: skip
        self.headers = {"Accept-Encoding": "identity", "Content-Type": "application/json"}

    def body(self, table: dict[str, np.ndarray]) -> bytes:
        rows = len(table[self.inputs[0]])
        if self.layout == "tensor":
            stacked = np.column_stack([table[n].astype(np.float64) for n in self.inputs])
            tensors = [("features", "FP64", [rows, len(self.inputs)], stacked.ravel())]
        else:
            tensors = [(n, "INT64", [rows], table[n].astype(np.int64)) for n in self.inputs]
        if not self.binary:
            inputs = [{"name": n, "datatype": d, "shape": s, "data": v} for n, d, s, v in tensors]
            return orjson.dumps({"inputs": inputs}, option=orjson.OPT_SERIALIZE_NUMPY)
        heads = [
            {"name": n, "datatype": d, "shape": s, "parameters": {"binary_data_size": v.nbytes}}
            for n, d, s, v in tensors
        ]
        head = orjson.dumps({"inputs": heads, "parameters": {"binary_data_output": True}})
        self.headers = {
            "Accept-Encoding": "identity",
            "Content-Type": "application/octet-stream",
            "Inference-Header-Content-Length": str(len(head)),  # the same for every batch size
        }
        return head + b"".join(v.tobytes() for *_, v in tensors)

    def values(self, reply: bytes) -> list[float]:
        if self.binary:
            return [0.0] * (len(reply) // 8)  # approximately: the JSON head is counted too
        return orjson.loads(reply)["outputs"][0]["data"]


def run_byom(con: byom_sql.Connection, rows: int, table: str = "t", target: str = "y") -> None:
    count, _ = con.sql(f"SELECT count(*), sum(p.{target}) FROM {table} JOIN m AS p").fetchone()
    assert count == rows


def run_capacity(
    endpoint: Endpoint | Tensors, bodies: list[bytes], rows: int, concurrency: int
) -> None:
    headers = getattr(endpoint, "headers", {"Content-Type": "application/json"})

    async def main() -> int:
        async with httpx.AsyncClient(timeout=300) as client:
            semaphore = asyncio.Semaphore(concurrency)

            async def one(body: bytes) -> int:
                async with semaphore:
                    reply = await client.post(endpoint.url, content=body, headers=headers)
                    reply.raise_for_status()
                    return len(endpoint.values(reply.content))

            return sum(await asyncio.gather(*(one(b) for b in bodies)))

    done = asyncio.run(main())
    assert done >= rows, (done, rows)


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


def interleaved(methods: dict[str, Callable[[], None]], rows: int, repeat: int) -> dict[str, float]:
    """Rows/s of each method, the median of `repeat` runs taken in turn."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeat):
        for name, method in methods.items():
            started = time.perf_counter()
            method()
            times[name].append(time.perf_counter() - started)
    return {name: rows / statistics.median(values) for name, values in times.items()}


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
    try:
        return interleaved(methods, rows, repeat)
    finally:
        con.close()


def measure_tensors(
    endpoint: Tensors, database: str, rows: int, repeat: int, batch: int
) -> dict[str, float]:
    con = byom_sql.connect(database)
    target = "rental_price"
    dtypes = ", ".join(f'"{n}": "integer"' for n in endpoint.inputs)
    con.sql(
        f"CREATE OR REPLACE PREDICTOR m PREDICT {target} USING url.predict = '{endpoint.url}', "
        f"format = 'oip', batch_size = {batch}, binary = {str(endpoint.binary).lower()}, "
        f'dtype_dict = {{{dtypes}, "{target}": "float"}}'
    )
    table = duckdb.connect(database).sql(f"SELECT {', '.join(endpoint.inputs)} FROM o")
    columns = {n: np.asarray(c) for n, c in table.fetchnumpy().items()}
    bodies = [
        endpoint.body({n: c[i : i + batch] for n, c in columns.items()})
        for i in range(0, rows, batch)
    ]
    methods: dict[str, Callable[[], None]] = {
        "byom_sql": lambda: run_byom(con, rows, "o", target),
        "capacity": lambda: run_capacity(endpoint, bodies, rows, 2),
    }
    try:
        return interleaved(methods, rows, repeat)
    finally:
        con.close()


def oip(
    database: str, workdir: Path, rows: int, repeat: int, batch: int
) -> dict[str, dict[str, float]]:
    """MLServer (JSON) and KServe (JSON, binary), each against its own capacity."""
    with duckdb.connect(database) as con:
        con.execute(OIP_TABLE.format(rows=rows))
    results: dict[str, dict[str, float]] = {}
    ml_port, ks_port = stacks.free_port(), stacks.free_port()
    (workdir / "mlserver").mkdir()
    servers = [
        ("mlserver", stacks.mlserver_command(workdir / "mlserver", ml_port), ml_port),
        ("kserve", stacks.kserve_command(ks_port), ks_port),
    ]
    with contextlib.ExitStack() as stack:
        for name, command, port in servers:
            stack.enter_context(
                stacks.Served(name, command, port, "/v2/health/ready", workdir / f"{name}.log")
            )
        sklearn = ["number_of_rooms", "sqft", "days_on_market"]
        kserve = ["initial_price", "number_of_rooms", "sqft"]
        endpoints = [
            ("mlserver_json", Tensors("MLServer, scikit-learn (tensor, JSON)",
                                      f"http://127.0.0.1:{ml_port}/v2/models/rent/infer",
                                      sklearn, "tensor", False)),
            ("kserve_json", Tensors("KServe (columns, JSON)",
                                    f"http://127.0.0.1:{ks_port}/v2/models/rent/infer",
                                    kserve, "columns", False)),
            ("kserve_binary", Tensors("KServe (columns, binary)",
                                      f"http://127.0.0.1:{ks_port}/v2/models/rent/infer",
                                      kserve, "columns", True)),
        ]  # fmt: skip
        for key, endpoint in endpoints:
            results[key] = measure_tensors(endpoint, database, rows, repeat, batch)
            report(endpoint, results[key])
    return results


def report(endpoint: Endpoint | Tensors, rates: dict[str, float]) -> None:
    print(f"\n{endpoint.name} ({endpoint.url})")
    for name, rate in rates.items():
        print(f"  {name:<12} {rate:>12,.0f} rows/s")
    print(f"  byom_sql / capacity    = {rates['byom_sql'] / rates['capacity']:.2f}")
    if "handwritten" in rates:
        print(f"  byom_sql / handwritten = {rates['byom_sql'] / rates['handwritten']:.2f}")


def peak_rss(url: str, rows: int, memory_limit: str) -> None:
    """Child process: score `rows` rows into a table; print the peak RSS."""
    con = byom_sql.connect(**({"memory_limit": memory_limit} if memory_limit != "-" else {}))
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


def rss_run(url: str, rows: int, memory_limit: str) -> dict[str, float | str]:
    child = subprocess.run(
        [sys.executable, __file__, "--rss-child", url, str(rows), memory_limit],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after, elapsed = child.stdout.split()[1:]
    return {
        "rows": rows,
        "memory_limit": memory_limit,
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
    parser.add_argument("--no-oip", action="store_true", help="skip MLServer and KServe")
    parser.add_argument(
        "--busy", action="store_true", help="another process keeps one core busy throughout"
    )
    parser.add_argument(
        "--oip-batch", type=int, default=BATCH, help="rows per request to MLServer and KServe"
    )
    parser.add_argument(
        "--rss-rows", type=int, default=10_000_000, help="rows for the peak-memory run (0 to skip)"
    )
    parser.add_argument(
        "--rss-steps", help="comma-separated row counts: peak RSS of each (RSS vs rows scored)"
    )
    parser.add_argument("--sweep", action="store_true", help="batch size × concurrency sweep")
    parser.add_argument("--json", help="where to write the results (default bench/results/)")
    parser.add_argument(
        "--memory-limit",
        default="400MB",
        help="the engine's memory_limit in the peak-memory runs ('-': DuckDB's default)",
    )
    parser.add_argument("--rss-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        peak_rss(args.rss_child[0], int(args.rss_child[1]), args.rss_child[2])
        return
    workdir = Path(tempfile.mkdtemp(prefix="byom-bench-"))
    database = str(workdir / "bench.duckdb")
    with duckdb.connect(database) as con:
        con.execute(TABLE_SQL.format(rows=args.rows))
    print(
        f"byom_sql throughput: {args.rows:,} distinct rows, batch {BATCH:,}, "
        f"{args.repeat} interleaved runs, {os.cpu_count()} CPUs"
        + (", one of them kept busy by another process" if args.busy else "")
    )
    results: dict[str, object] = {"rows": args.rows, "repeat": args.repeat, "cpus": os.cpu_count()}
    fast, fast_url = start_fast_server()
    servers: list[subprocess.Popen] = [fast]
    if args.busy:  # a neighbour that keeps one core busy
        servers.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
    results["busy"] = args.busy
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
        if not args.no_oip:
            results["oip"] = oip(database, workdir, args.rows, args.repeat, args.oip_batch)
            results["oip_batch"] = args.oip_batch
        steps = [int(n) for n in args.rss_steps.split(",")] if args.rss_steps else []
        steps = steps or ([args.rss_rows] if args.rss_rows else [])
        results["rss"] = []
        for rows in steps:
            run = rss_run(fast_url, rows, args.memory_limit)
            results["rss"].append(run)  # type: ignore[attr-defined]
            print(
                f"\npeak RSS scoring {rows:,} rows into a table (memory_limit "
                f"{args.memory_limit}): {run['rss_peak_mb']:.0f} MB "
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
