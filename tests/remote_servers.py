"""Fixtures for tests against the machine's real database servers (a pytest plugin).

Addresses: BYOM_TEST_PG_DSN (default postgresql://postgres@127.0.0.1:5432/test) and
BYOM_TEST_MYSQL_DSN (default mysql://root@127.0.0.1:3306/test). A server that does not answer
skips its tests with the reason; with BYOM_REQUIRE_SERVERS=1 (CI) they fail instead.

Each test gets a schema of its own holding home_rentals (10 000 rows), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

import duckdb
import psycopg
import pyarrow as pa
import pymysql
import pytest

from tests.conftest import HOME_RENTALS

ROWS = 10_000
COLUMNS = (
    "number_of_rooms INTEGER, number_of_bathrooms INTEGER, sqft INTEGER, location VARCHAR(20), "
    "days_on_market INTEGER, initial_price INTEGER, neighborhood VARCHAR(20), "
    "rental_price INTEGER"
)


def home_rentals(rows: int = ROWS) -> pa.Table:
    """The same rows tests/conftest.py puts in DuckDB."""
    with duckdb.connect() as con:
        con.execute(HOME_RENTALS.format(rows=rows))
        return con.execute("SELECT * FROM home_rentals").to_arrow_table()


@dataclass(frozen=True)
class Server:
    engine: str  # the ENGINE of CREATE DATABASE
    host: str
    port: int
    user: str
    password: str | None
    database: str

    @classmethod
    def from_url(cls, engine: str, url: str) -> Server:
        parsed = urlparse(url)
        return cls(
            engine=engine,
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (5432 if engine == "postgres" else 3306),
            user=unquote(parsed.username or ""),
            password=unquote(parsed.password) if parsed.password else None,
            database=parsed.path.lstrip("/") or "test",
        )

    def parameters(self, **changes: Any) -> dict[str, Any]:
        parameters = {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "user": self.user,
        }
        if self.password:
            parameters["password"] = self.password
        parameters.update(changes)
        return {k: v for k, v in parameters.items() if v is not None}

    def create_sql(self, name: str = "mydb", **changes: Any) -> str:
        return (
            f"CREATE DATABASE {name} WITH ENGINE = '{self.engine}', "
            f"PARAMETERS = {json.dumps(self.parameters(**changes))}"
        )

    def connect(self) -> Any:
        """A DB-API connection of the test itself (autocommit), not through byom_sql."""
        if self.engine == "postgres":
            return psycopg.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                dbname=self.database,
                autocommit=True,
                connect_timeout=5,
            )
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or "",
            database=self.database,
            autocommit=True,
            connect_timeout=5,
        )


@dataclass(frozen=True)
class RemoteSchema:
    server: Server
    name: str  # the schema (a MySQL database) holding home_rentals
    data: pa.Table  # the rows loaded

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run SQL on the server directly; its rows."""
        with contextlib.closing(self.server.connect()) as connection:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []


def _server(engine: str, variable: str, default: str) -> Server:
    server = Server.from_url(engine, os.environ.get(variable, default))
    try:
        server.connect().close()
    except Exception as error:  # noqa: BLE001 - any failure means: not available
        reason = f"{engine} at {server.host}:{server.port} ({variable}) does not answer: {error}"
        if os.environ.get("BYOM_REQUIRE_SERVERS") == "1":
            pytest.fail(f"BYOM_REQUIRE_SERVERS=1 but {reason}")
        pytest.skip(reason)
    return server


@pytest.fixture(scope="session")
def pg_server() -> Server:
    return _server("postgres", "BYOM_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def mysql_server() -> Server:
    return _server("mysql", "BYOM_TEST_MYSQL_DSN", "mysql://root@127.0.0.1:3306/test")


@pytest.fixture(scope="session")
def rentals_data() -> pa.Table:
    return home_rentals()


def _load(server: Server, schema: str, data: pa.Table) -> None:
    columns = ", ".join(data.column_names)
    rows = [tuple(r.values()) for r in data.to_pylist()]
    with contextlib.closing(server.connect()) as connection:
        cursor = connection.cursor()
        cursor.execute(f"CREATE SCHEMA {schema}")
        cursor.execute(f"CREATE TABLE {schema}.home_rentals ({COLUMNS})")
        if server.engine == "postgres":
            with cursor.copy(f"COPY {schema}.home_rentals ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(data.column_names))
            cursor.executemany(
                f"INSERT INTO {schema}.home_rentals ({columns}) VALUES ({marks})", rows
            )


@contextlib.contextmanager
def remote_schema(server: Server, data: pa.Table) -> Iterator[RemoteSchema]:
    schema = f"byom_t_{secrets.token_hex(4)}"
    try:
        _load(server, schema, data)
        yield RemoteSchema(server, schema, data)
    finally:
        drop = (
            "DROP SCHEMA IF EXISTS {} CASCADE"
            if server.engine == "postgres"
            else "DROP SCHEMA IF EXISTS {}"
        )
        with contextlib.closing(server.connect()) as connection:
            connection.cursor().execute(drop.format(schema))


@pytest.fixture
def pg_schema(pg_server: Server, rentals_data: pa.Table) -> Iterator[RemoteSchema]:
    with remote_schema(pg_server, rentals_data) as schema:
        yield schema


@pytest.fixture
def mysql_schema(mysql_server: Server, rentals_data: pa.Table) -> Iterator[RemoteSchema]:
    with remote_schema(mysql_server, rentals_data) as schema:
        yield schema


@pytest.fixture(params=["postgres", "mysql"])
def remote(request: pytest.FixtureRequest) -> RemoteSchema:
    """home_rentals in a fresh schema, once on PostgreSQL and once on MariaDB."""
    fixture = "pg_schema" if request.param == "postgres" else "mysql_schema"
    return request.getfixturevalue(fixture)


# what the servers saw -----------------------------------------------------------------------


@contextlib.contextmanager
def pg_statement_log(schema: RemoteSchema) -> Iterator[tuple[str, list[str]]]:
    """A login role whose statements PostgreSQL logs, and (after the block) those statements
    as the server's own log shows them. Only this role is logged: no global setting changes."""
    role = f"byom_log_{secrets.token_hex(4)}"
    statements: list[str] = []
    admin = schema.server.connect()
    cursor = admin.cursor()
    cursor.execute(f"CREATE ROLE {role} LOGIN")
    cursor.execute(f"GRANT USAGE ON SCHEMA {schema.name} TO {role}")
    cursor.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema.name} TO {role}")
    cursor.execute(f"ALTER ROLE {role} SET log_statement = 'all'")
    cursor.execute("SELECT pg_current_logfile()")
    log_file = cursor.fetchone()[0] or "/proc/self/fd/2"  # stderr when there is no collector
    cursor.execute("SELECT size FROM pg_stat_file(%s)", [log_file])
    start = cursor.fetchone()[0]
    try:
        yield role, statements
        cursor.execute("SELECT size FROM pg_stat_file(%s)", [log_file])
        end = cursor.fetchone()[0]
        cursor.execute("SELECT pg_read_file(%s, %s, %s)", [log_file, start, end - start])
        text = cursor.fetchone()[0]
        statements += _logged_statements(text, f"{role}@")
    finally:
        cursor.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
        )
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")
        admin.close()


def _logged_statements(text: str, marker: str) -> list[str]:
    """`statement: …` entries of one role in a PostgreSQL log (continuation lines included)."""
    statements: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("\t") and current is not None:
            current.append(line.strip())
            continue
        if current is not None:
            statements.append(" ".join(current))
            current = None
        if marker in line and "statement: " in line:
            current = [line.split("statement: ", 1)[1]]
    if current is not None:
        statements.append(" ".join(current))
    return statements


@contextlib.contextmanager
def mysql_general_log(schema: RemoteSchema) -> Iterator[list[str]]:
    """MariaDB's general query log, written to a table while the block runs; afterwards the
    statements that named the test's schema. The previous settings are restored."""
    statements: list[str] = []
    admin = schema.server.connect()
    cursor = admin.cursor()
    cursor.execute("SELECT @@global.general_log, @@global.log_output, NOW(6)")
    general_log, log_output, started = cursor.fetchone()
    cursor.execute("SET GLOBAL log_output = 'TABLE'")
    cursor.execute("SET GLOBAL general_log = 1")
    try:
        yield statements
    finally:
        cursor.execute(f"SET GLOBAL general_log = {int(general_log)}")
        cursor.execute("SET GLOBAL log_output = %s", [log_output])
    cursor.execute(
        "SELECT argument FROM mysql.general_log WHERE event_time >= %s "
        "AND command_type IN ('Query', 'Prepare') AND argument LIKE %s ORDER BY event_time",
        [started, f"%{schema.name}%"],
    )
    statements += [
        row[0].decode() if isinstance(row[0], bytes) else row[0] for row in cursor.fetchall()
    ]
    admin.close()


# a connection that can be cut ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TcpRelay:
    """Forwards a local port to a server; stop() makes the server unreachable through it,
    start() again (same port) reachable."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    def start(self) -> TcpRelay:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            self._listener.close()
            self._listener = None
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
