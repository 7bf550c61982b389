"""A running `byom-sql serve` for tests: the real command in a subprocess on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.model_server import ModelServer

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


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WireServer]:
    """A server of the test module's own, on a file database, with default settings."""
    server = WireServer(tmp_path_factory.mktemp("wire"))
    yield server
    server.stop()
