"""A running `byom-sql serve` for tests: the real command in a subprocess on a free port."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import byom_sql
from tests.model_server import ModelServer

JDBC_JAR = Path("/usr/share/java/postgresql.jar")  # Debian's libpostgresql-jdbc-java
needs_pgjdbc = pytest.mark.skipif(
    not (JDBC_JAR.exists() and shutil.which("javac")), reason="pgjdbc or a JDK is not installed"
)

SEED_DTYPES = (
    '{"number_of_rooms": "categorical", "initial_price": "integer", "rental_price": "integer"}'
)
HOME_RENTALS = (
    "CREATE TABLE IF NOT EXISTS home_rentals AS SELECT * FROM (VALUES (1, 3000, 5400), "
    "(2, 2000, 5200), (3, 100, 6000)) t(number_of_rooms, initial_price, rental_price)"
)
SEED_QUERY = "SELECT * FROM byom WHERE initial_price = 3000 AND rental_price = 3000"
JOIN_QUERY = (
    "SELECT tb.number_of_rooms, t.rental_price FROM home_rentals AS t JOIN mindsdb.byom AS tb "
    "WHERE t.rental_price > 5300 ORDER BY t.rental_price"
)
SEED_ROWS = [(6000.0, 0.5, 3000, 3000)]
JOIN_ROWS = [(8400.0, 5400), (6100.0, 6000)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_seed_predictor(model_server: ModelServer, name: str = "byom") -> list[str]:
    """The statements that create the seed's predictor (no training) and its data table."""
    return [
        f"CREATE PREDICTOR IF NOT EXISTS {name} PREDICT number_of_rooms USING "
        f"url.predict = '{model_server.url}/ray/predict', format = 'ray_server', "
        f"dtype_dict = {SEED_DTYPES}",
        HOME_RENTALS,
    ]


class WireServer:
    def __init__(self, directory: Path, *args: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.database = str(directory / "wire.duckdb")
        self.log = directory / f"server-{self.port}.log"
        command = [sys.executable, "-m", "byom_sql", "serve", "--port", str(self.port)]
        command += ["--database", self.database, *args]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not listen in time: {self.log.read_text()}")

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=tester dbname=byom"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def prepared_server(
    directory: Path, setup: Callable[[ModelServer], list[str]], *args: str
) -> Iterator[WireServer]:
    """A server on a database prepared in process first (what a wire client may not do
    itself), with a model server of its own that the statements `setup` gives can use."""
    model = ModelServer().start()
    try:
        with byom_sql.connect(str(directory / "wire.duckdb")) as con:
            for sql in setup(model):
                con.sql(sql)
        server = WireServer(directory, *args)
        try:
            yield server
        finally:
            server.stop()
    finally:
        model.stop()


@pytest.fixture(scope="module")
def seed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WireServer]:
    """A server of the test module's own with the seed's predictor `byom` and home_rentals."""
    with prepared_server(tmp_path_factory.mktemp("seed"), create_seed_predictor) as server:
        yield server


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WireServer]:
    """A server of the test module's own, on a file database, with default settings."""
    server = WireServer(tmp_path_factory.mktemp("wire"))
    yield server
    server.stop()


def frame(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack(">i", len(body) + 4) + body


def cstring(text: str) -> bytes:
    return text.encode() + b"\x00"


class RawClient:
    """Speaks the protocol by hand, to send what no driver would."""

    def __init__(self, port: int, user: str = "raw", database: str = "raw"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        body = (
            struct.pack(">i", 196608)
            + b"".join(cstring(s) for s in ("user", user, "database", database))
            + b"\x00"
        )
        self.sock.sendall(struct.pack(">i", len(body) + 4) + body)
        assert self.until("Z")[-1] == ("Z", b"I")

    def send(self, *frames: bytes) -> None:
        self.sock.sendall(b"".join(frames))

    def receive(self) -> tuple[str, bytes] | None:
        header = self._exactly(5)
        if header is None:
            return None
        (length,) = struct.unpack(">i", header[1:])
        body = self._exactly(length - 4)
        return header[:1].decode(), body or b""

    def until(self, kind: str) -> list[tuple[str, bytes]]:
        received = []
        while (message := self.receive()) is not None:
            received.append(message)
            if message[0] == kind:
                break
        return received

    def closed(self) -> bool:
        """True once the server has closed the connection (after any messages it sent)."""
        while (message := self.receive()) is not None:
            assert message[0] in ("E", "N"), message
        return True

    def _exactly(self, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def run_java(directory: Path, source: str, *args: str) -> list[str]:
    """Compile and run a one-class Java program with pgjdbc; the lines it printed."""
    name = re.search(r"public class (\w+)", source).group(1)  # type: ignore[union-attr]
    (directory / f"{name}.java").write_text(source)
    subprocess.run(
        ["javac", "-cp", str(JDBC_JAR), f"{name}.java"], cwd=directory, check=True, timeout=120
    )
    done = subprocess.run(
        ["java", "-cp", f"{directory}:{JDBC_JAR}", name, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()
