"""Real servers for tests: MLflow's scoring server, the example Ray Serve app, MLServer, KServe's
ModelServer and a BentoML service (each in a venv of its own, `server_env`), and PostgreSQL.

Each model server is a subprocess in a process group of its own, on a free 127.0.0.1 port,
polled on its health URL until it answers (a generous deadline: they take 10–25 s on a loaded
2-core machine), and stopped with its whole group. When a server cannot be had the test skips
with the reason, or fails when BYOM_REQUIRE_SERVERS=1 (CI must exercise them).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HOME_RENTALS_CSV = EXAMPLES / "data" / "home_rentals.csv"
START_TIMEOUT = 240.0  # seconds; Ray Serve needs ~20 s on an idle machine, far more when busy
STOP_TIMEOUT = 60.0
PG_DSN = os.environ.get("BYOM_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def unavailable(reason: str) -> None:
    """Skip, or fail when the environment promises every server (CI)."""
    if os.environ.get("BYOM_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason} (BYOM_REQUIRE_SERVERS=1)")
    pytest.skip(reason)


def require_modules(*names: str) -> None:
    missing = [n for n in names if importlib.util.find_spec(n) is None]
    if missing:
        unavailable(f"{', '.join(missing)} not installed (pip install -e '.[serving]')")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """A server process started by a test session: its URL, its log, how long it took. As a
    context manager: healthy inside, stopped after."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        health: str,
        log: Path,
        env: dict[str, str] | None = None,
    ):
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.health_url = self.url + health
        self.log = log
        self.started_in: float | None = None
        env = {
            **os.environ,
            "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONUNBUFFERED": "1",
            # mlflow starts `uvicorn` from PATH: the test's own environment, activated or not
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            **(env or {}),
        }
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=ROOT,
                start_new_session=True,  # a group of its own: stop() ends its children too
            )

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> Served:
        start = time.monotonic()
        with httpx.Client(timeout=5.0, trust_env=False) as client:
            while time.monotonic() - start < timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited ({self.process.returncode})\n{self.tail()}"
                    )
                try:
                    if client.get(self.health_url).status_code == 200:
                        self.started_in = time.monotonic() - start
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.25)  # between polls of the health URL
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f} s\n{self.tail()}")

    def __enter__(self) -> Served:
        """Healthy, or stopped and raising."""
        try:
            return self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM to the leader, which shuts down what it started (Ray its cluster), then
        SIGKILL to whatever of its group is left."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # children the leader left behind
        except ProcessLookupError:
            pass
        self.process.wait()

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def train_mlflow_model(output: Path) -> Path:
    """examples/mlflow/train.py, as a user runs it."""
    script = EXAMPLES / "mlflow" / "train.py"
    done = subprocess.run(
        [sys.executable, str(script), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return output


def mlflow_command(model: Path, port: int) -> list[str]:
    """The command examples/mlflow/README.md gives, with the port of this test session."""
    mlflow = Path(sys.executable).with_name("mlflow")
    return [
        str(mlflow), "models", "serve", "-m", str(model),
        "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip


def ray_serve_command(port: int) -> list[str]:
    return [sys.executable, str(EXAMPLES / "ray_serve" / "app.py"), "--port", str(port)]


# model servers in venvs of their own -----------------------------------------------------------

SERVER_ENVS = ROOT / ".venv-servers"
MODEL_SERVERS = ("mlserver", "kserve", "bento")
"""Examples whose requirements.txt pins a model server: their pins clash with each other's and
with ours (fastapi, starlette, opentelemetry), so each gets a venv of its own."""
_installing: dict[str, subprocess.Popen[bytes]] = {}


def server_env(name: str) -> Path:
    """The bin folder of a venv holding examples/<name>/requirements.txt, made on first use:
    every missing one at once, in parallel (about 1.5 minutes), reused while the requirements
    stay the same."""
    for each in MODEL_SERVERS:
        folder, wanted = SERVER_ENVS / each, (EXAMPLES / each / "requirements.txt").read_text()
        marker = folder / "requirements.done"
        if each in _installing or (marker.exists() and marker.read_text() == wanted):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        requirements = EXAMPLES / each / "requirements.txt"
        script = (
            f'"{sys.executable}" -m venv --clear "{folder}" && '
            f'"{folder}/bin/pip" install -q -r "{requirements}" && cp "{requirements}" "{marker}"'
        )
        with (SERVER_ENVS / f"{each}.log").open("wb") as log:
            _installing[each] = subprocess.Popen(
                ["sh", "-c", script], stdout=log, stderr=subprocess.STDOUT
            )
    process = _installing.get(name)
    if process is not None and process.wait(timeout=1200) != 0:
        tail = (SERVER_ENVS / f"{name}.log").read_text(errors="replace")[-2000:]
        unavailable(f"cannot install examples/{name}/requirements.txt:\n{tail}")
    return SERVER_ENVS / name / "bin"


def mlserver_command(folder: Path, port: int) -> list[str]:
    """`mlserver start` of examples/mlserver/models copied into `folder`, its scikit-learn
    model trained there, on 127.0.0.1:`port`."""
    bin_ = server_env("mlserver")
    models = folder / "models"
    shutil.copytree(EXAMPLES / "mlserver" / "models", models)
    train = [str(bin_ / "python"), str(EXAMPLES / "mlserver" / "train.py")]
    subprocess.run([*train, "--output", str(models / "rent")], check=True, timeout=300)
    settings = {
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "metrics_endpoint": None,
        "parallel_workers": 0,  # inference in the server's process: no worker pool
    }
    (models / "settings.json").write_text(json.dumps(settings))
    return [str(bin_ / "mlserver"), "start", str(models)]


def kserve_command(port: int) -> list[str]:
    """examples/kserve/server.py on 127.0.0.1:`port` (HTTP only)."""
    server = EXAMPLES / "kserve" / "server.py"
    python = server_env("kserve") / "python"
    return [str(python), str(server), "--http_port", str(port), "--enable_grpc", "false"]


# PostgreSQL ------------------------------------------------------------------------------------


def pg_connect(dbname: str | None = None):  # -> psycopg.Connection
    import psycopg

    try:
        params = {"dbname": dbname} if dbname else {}
        return psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5, **params)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL at {PG_DSN!r} does not answer: {exc}")
        raise


@contextmanager
def pg_database_with_home_rentals() -> Iterator[dict[str, str]]:
    """A PostgreSQL database of its own holding test_data.home_rentals, loaded by the same
    script the compose stack runs (examples/postgres/home_rentals.sh); dropped afterwards.
    Yields libpq connection parameters."""
    with pg_connect() as admin:
        info = admin.info
        name = f"byom_walkthrough_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            env = {
                **os.environ,
                "PGHOST": info.host,
                "PGPORT": str(info.port),
                "POSTGRES_USER": info.user,
                "POSTGRES_DB": name,
                "HOME_RENTALS_CSV": str(HOME_RENTALS_CSV),
            }
            script = EXAMPLES / "postgres" / "home_rentals.sh"
            done = subprocess.run(
                ["sh", str(script)], env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
            yield {"host": info.host, "port": str(info.port), "user": info.user, "database": name}
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def local_script(script: str, pg: dict[str, str], **hosts: int) -> str:
    """An example script pointed at this machine's test servers instead of the documented
    ones: `mydb` at the test's PostgreSQL database, and each documented host:port (given as
    keywords, e.g. {"127.0.0.1:8000": 41234}) at 127.0.0.1 and the port served."""
    where = f'"host": "{pg["host"]}", "port": {pg["port"]}'
    script = re.sub(r'"host": "[^"]+", "port": 5432', where, script)
    who = f'"database": "{pg["database"]}", "user": "{pg["user"]}"'
    script = script.replace('"database": "test", "user": "postgres"', who)
    for documented, served in hosts.items():
        script = script.replace(documented, f"127.0.0.1:{served}")
    return script


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until a server started as `process` accepts connections on 127.0.0.1:`port`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)  # between polls of the port
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")
