"""The wire server holds the line: session-only settings, read-only users, authentication that
tells nothing and slows guessing, TLS when required, model calls only to allowed hosts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import byom_sql
from byom_sql.engine import Engine, EngineConfig
from tests.model_server import ModelServer
from tests.test_server_protocol import self_signed
from tests.wire import SEED_DTYPES, WireServer, create_seed_predictor, free_port, prepared_server

ENGINE_WIDE = [
    "SET threads = 1",
    "SET memory_limit = '20MB'",
    "SET GLOBAL search_path = 'main'",
    "SET SESSION threads TO 1",
    "PRAGMA threads = 1",
    "PRAGMA memory_limit = '20MB'",
    "RESET threads",
]
SESSION_ONLY = ["SET search_path = 'main'", "SET enable_progress_bar = false", "SET VARIABLE v = 1"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WireServer]:
    started = WireServer(tmp_path_factory.mktemp("security"))
    yield started
    started.stop()


@pytest.fixture
def untrusted(tmp_path: Path) -> Iterator[byom_sql.Connection]:
    engine = Engine(str(tmp_path / "s.duckdb"), EngineConfig(external_access=False))
    yield engine.connect(trusted=False)
    engine.close()


@pytest.mark.parametrize("sql", ENGINE_WIDE)
def test_engine_wide_settings_are_refused(untrusted: byom_sql.Connection, sql: str) -> None:
    with pytest.raises(byom_sql.InsufficientPrivilege):
        untrusted.sql(sql)
    assert untrusted.sql("SELECT current_setting('threads')").fetchone() != (1,)


@pytest.mark.parametrize("sql", SESSION_ONLY)
def test_session_settings_are_allowed(untrusted: byom_sql.Connection, sql: str) -> None:
    untrusted.sql(sql)


def test_a_wire_client_cannot_slow_down_the_others(server: WireServer) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as one, psycopg.connect(server.dsn) as two:
        threads = two.execute("SELECT current_setting('threads')").fetchone()
        for sql in ENGINE_WIDE:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                one.execute(sql)
        assert two.execute("SELECT current_setting('threads')").fetchone() == threads


# roles -------------------------------------------------------------------------------------

WRITES = [
    "CREATE TABLE t2 (a INT)",
    "INSERT INTO home_rentals VALUES (9, 9, 9)",
    "DELETE FROM home_rentals",
    "UPDATE home_rentals SET initial_price = 0",
    "DROP TABLE home_rentals",
    "CREATE TABLE copy AS SELECT * FROM home_rentals",
    "DROP PREDICTOR byom",
    "CREATE SECRET s WITH VALUE = 'x'",
    'CREATE DATABASE d WITH ENGINE = \'duckdb\', PARAMETERS = {"path": "/tmp/x.duckdb"}',
    "ALTER TABLE home_rentals ADD COLUMN z INT",
    "CREATE VIEW v AS SELECT 1",
    "CREATE SEQUENCE q",
    "CHECKPOINT",
    "WITH x AS (SELECT 1) INSERT INTO home_rentals SELECT 1, 2, 3 FROM x",
]
READS = [
    "SELECT count(*) FROM home_rentals",
    "SELECT * FROM byom WHERE initial_price = 3000 AND rental_price = 3000",
    "SHOW PREDICTORS",
    "DESCRIBE byom",
    "EXPLAIN SELECT 1",
    "SHOW TABLES",
]


@pytest.fixture(scope="module")
def roles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WireServer]:
    directory = tmp_path_factory.mktemp("roles")
    with prepared_server(
        directory, create_seed_predictor, "--read-only-users", "reader,auditor"
    ) as server:
        yield server


def connect_as(server: WireServer, user: str) -> psycopg.Connection:
    return psycopg.connect(
        f"host=127.0.0.1 port={server.port} user={user} dbname=d", autocommit=True
    )


@pytest.mark.parametrize("sql", WRITES)
def test_a_read_only_user_cannot_write(roles: WireServer, sql: str) -> None:
    with connect_as(roles, "reader") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="may only read"):
            conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM home_rentals").fetchone() == (3,)


def test_a_read_only_user_reads_and_predicts(roles: WireServer) -> None:
    with connect_as(roles, "auditor") as conn:
        for sql in READS:
            conn.execute(sql)
        conn.execute("BEGIN")
        conn.execute("SET search_path = 'main'")
        conn.execute("COMMIT")


def test_other_users_write(roles: WireServer) -> None:
    with connect_as(roles, "writer") as conn:
        conn.execute("CREATE TABLE mine AS SELECT 1 AS a")
        conn.execute("DROP TABLE mine")


def test_writers_make_everyone_else_read_only(tmp_path: Path) -> None:
    server = WireServer(tmp_path, "--writers", "admin")
    try:
        with connect_as(server, "admin") as conn:
            conn.execute("CREATE TABLE t AS SELECT 1 AS a")
        with connect_as(server, "someone") as conn:
            assert conn.execute("SELECT a FROM t").fetchall() == [(1,)]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DROP TABLE t")
    finally:
        server.stop()


# authentication ----------------------------------------------------------------------------


def password_server(directory: Path, *args: str) -> WireServer:
    return WireServer(
        directory, "--user", "ann", "--password-env", "WIRE_PW", *args, env={"WIRE_PW": "s3cret"}
    )


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[WireServer]:
    started = password_server(tmp_path)
    yield started
    started.stop()


def attempt(server: WireServer, user: str, password: str) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        psycopg.connect(
            f"host=127.0.0.1 port={server.port} user={user} dbname=d password={password}"
        ).close()
        message = "ok"
    except psycopg.OperationalError as error:
        message = str(error)
    return time.perf_counter() - started, message


def test_unknown_users_and_wrong_passwords_look_alike(tmp_path: Path) -> None:
    """Same answer; times reported (and only loosely checked: the machine is shared)."""
    unthrottled = password_server(tmp_path, "--max-auth-failures", "0")
    unknown: list[float] = []
    wrong: list[float] = []
    try:
        for _ in range(15):
            for user, times in (("nobody", unknown), ("ann", wrong)):
                elapsed, message = attempt(unthrottled, user, "guess")
                assert f'password authentication failed for user "{user}"' in message
                times.append(elapsed)
    finally:
        unthrottled.stop()
    ratio = statistics.median(unknown) / statistics.median(wrong)
    print(f"unknown user / wrong password: {ratio:.2f}")
    assert 0.3 < ratio < 3


def test_guessing_is_throttled(guarded: WireServer) -> None:
    for _ in range(5):
        assert "password authentication failed" in attempt(guarded, "ann", "guess")[1]
    elapsed, message = attempt(guarded, "ann", "s3cret")  # even the right password, for now
    assert "too many failed authentication attempts" in message
    assert guarded.alive()


def test_tls_can_be_required(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = WireServer(
        tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), "--require-tls",
        "--password-env", "WIRE_PW", env={"WIRE_PW": "pw"},
    )  # fmt: skip
    dsn = f"host=127.0.0.1 port={server.port} user=u dbname=d password=pw"
    try:
        with pytest.raises(psycopg.OperationalError, match="must connect with TLS"):
            psycopg.connect(f"{dsn} sslmode=disable")
        with psycopg.connect(f"{dsn} sslmode=require") as conn:
            assert conn.pgconn.ssl_in_use
    finally:
        server.stop()


def test_require_tls_needs_a_certificate(tmp_path: Path) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "byom_sql", "serve", "--require-tls"]
    done = subprocess.run(
        [*command, "--port", str(free_port())], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "--require-tls needs --tls-cert" in done.stderr


# model hosts -------------------------------------------------------------------------------


def predictor(name: str, url: str, extra: str = "") -> str:
    return (
        f"CREATE PREDICTOR {name} PREDICT number_of_rooms USING format = 'ray_serve', "
        f"url.predict = '{url}', dtype_dict = {SEED_DTYPES}{extra}"
    )


@pytest.mark.parametrize(
    "sql",
    [
        predictor("p1", "http://10.255.255.1:8000/predict"),
        predictor("p2", "http://example.com/predict"),
        predictor("p3", "http://127.0.0.1:9/p", ", url.train = 'http://192.168.1.1/train'"),
    ],
)
def test_a_wire_client_cannot_make_the_server_call_anywhere(server: WireServer, sql: str) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        with pytest.raises(
            psycopg.errors.InsufficientPrivilege, match="not allowed on this server"
        ):
            conn.execute(sql)


def test_allowed_hosts_can_be_narrowed(tmp_path: Path, model_server: ModelServer) -> None:
    server = WireServer(tmp_path, "--allow-model-hosts", f"127.0.0.1:{model_server.port}")
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            for sql in create_seed_predictor(model_server):
                conn.execute(sql)
            assert conn.execute("SELECT * FROM byom WHERE initial_price = 1 AND rental_price = 2")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(predictor("other", f"http://127.0.0.1:{free_port()}/p"))
    finally:
        server.stop()


def test_model_errors_do_not_map_ports_for_a_wire_client(server: WireServer) -> None:
    closed = f"http://127.0.0.1:{free_port()}/predict"
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as checked:  # CREATE checks the endpoint
            conn.execute(predictor("closed", closed, ", retries = 0"))
        conn.execute(predictor("closed", closed, ", retries = 0, check = false"))
        with pytest.raises(psycopg.Error) as raised:
            conn.execute("SELECT * FROM closed WHERE initial_price = 1 AND rental_price = 2")
    for message in (str(checked.value), str(raised.value)):
        assert "the model endpoint failed" in message
        assert "refused" not in message.lower() and str(closed) not in message


def test_the_server_memory_limit_is_the_operators(tmp_path: Path) -> None:
    """`serve --memory-limit` bounds DuckDB for every session; a client sees it and cannot
    change it. `connect(memory_limit=…)` does the same in a program."""
    server = WireServer(tmp_path, "--memory-limit", "300MB")
    try:
        with psycopg.connect(server.dsn, autocommit=True) as client:
            shown = client.execute("SELECT current_setting('memory_limit')").fetchone()
            assert shown == ("286.1 MiB",)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                client.execute("SET memory_limit = '10GB'")
    finally:
        server.stop()
    with byom_sql.connect(memory_limit="1GB") as con:
        assert con.sql("SELECT current_setting('memory_limit')").fetchone() == ("953.6 MiB",)
    with pytest.raises(byom_sql.Error, match="Memory must have a number"):
        byom_sql.connect(memory_limit="lots")
