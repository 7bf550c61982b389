"""The SQLSTATEs PostgreSQL would report, through the API and the wire; model failures in
class 39 (an external routine failed), never 08 (which pools read as a dead connection)."""

from __future__ import annotations

import socket
import subprocess
import sys

import psycopg
import pytest

import byom_sql
from tests.model_server import ModelServer
from tests.wire import WireServer, wire  # noqa: F401 - fixture


@pytest.mark.parametrize(
    ("statement", "sqlstate"),
    [
        ("SELECT no_such_function(1)", "42883"),
        ("SELECT CAST(1 AS no_such_type)", "42704"),
        ("SELECT * FROM no_such_table", "42P01"),
        ("SELECT no_such_column FROM k", "42703"),
        ("CREATE TABLE k (a INTEGER)", "42P07"),
        ("INSERT INTO k VALUES (1, 1)", "23505"),
        ("INSERT INTO k VALUES (2, NULL)", "23502"),
        ("SELECT CAST('x' AS INTEGER)", "22P02"),
        ("SELEC 1", "42601"),
    ],
)
def test_postgres_sqlstates(statement: str, sqlstate: str) -> None:
    with byom_sql.connect() as con:
        con.sql("CREATE TABLE k (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        con.sql("INSERT INTO k VALUES (1, 1)")
        with pytest.raises(byom_sql.Error) as raised:
            con.sql(statement).fetchall()
        assert raised.value.sqlstate == sqlstate, raised.value


def test_model_failures_are_class_39_over_the_wire(
    wire: WireServer,  # noqa: F811
    model_server: ModelServer,
) -> None:
    with psycopg.connect(f"host=127.0.0.1 port={wire.port} user=t dbname=d") as conn:
        conn.autocommit = True
        conn.execute(
            "CREATE OR REPLACE PREDICTOR down PREDICT y USING "
            f"url.predict = 'http://127.0.0.1:{_closed_port()}/p', format = 'ray_serve', "
            "retries = 0, check = false"
        )
        with pytest.raises(psycopg.Error) as raised:
            conn.execute("SELECT * FROM down WHERE x = 1")
        assert raised.value.sqlstate is not None and raised.value.sqlstate.startswith("39")
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the connection is fine


def test_a_taken_port_is_named_with_what_to_do() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "byom_sql", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr and "already in use" in done.stderr
    assert "--port" in done.stderr and "Traceback" not in done.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
