"""The wire server under protocol edge cases, faults and load: raw messages over a socket,
cancel, 50 concurrent clients, authentication, TLS, and the file-access lock."""

from __future__ import annotations

import datetime as dt
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.model_server import Misbehaviour, ModelServer
from tests.wire import (
    SEED_QUERY,
    SEED_ROWS,
    RawClient,
    WireServer,
    create_seed_predictor,
    cstring,
    frame,
    free_port,
    seed_server,  # noqa: F401 - fixture
    wire,  # noqa: F401 - fixture
)


def kinds(messages: list[tuple[str, bytes]]) -> str:
    return "".join(kind for kind, _ in messages)


def query(sql: str) -> bytes:
    return frame(b"Q", cstring(sql))


def parse_msg(sql: str, name: str = "") -> bytes:
    return frame(b"P", cstring(name) + cstring(sql) + struct.pack(">h", 0))


def bind_msg(statement: str = "", portal: str = "") -> bytes:
    return frame(b"B", cstring(portal) + cstring(statement) + struct.pack(">hhh", 0, 0, 0))


def execute_msg(portal: str = "", rows: int = 0) -> bytes:
    return frame(b"E", cstring(portal) + struct.pack(">i", rows))


SYNC = frame(b"S")


def still_serves(port: int) -> bool:
    with psycopg.connect(f"host=127.0.0.1 port={port} user=t dbname=d") as conn:
        return conn.execute("SELECT 1").fetchone() == (1,)


# protocol edge cases ----------------------------------------------------------------------------


def test_extended_protocol_row_limits_and_named_statements(wire: WireServer) -> None:  # noqa: F811
    client = RawClient(wire.port)
    client.send(
        parse_msg("SELECT * FROM range(3)", "three"),
        bind_msg("three"),
        execute_msg(rows=2),
        execute_msg(rows=2),
        bind_msg("three", "again"),
        execute_msg("again"),
        SYNC,
    )
    got = client.until("Z")
    assert kinds(got) == "12DDsDC" + "2DDDC" + "Z"
    assert got[6] == ("C", b"SELECT 1\x00")  # the rows of that Execute
    assert got[-1] == ("Z", b"I")
    client.close()


def test_error_discards_messages_until_sync(wire: WireServer) -> None:  # noqa: F811
    client = RawClient(wire.port)
    client.send(parse_msg("SELEC 1"), bind_msg(), execute_msg(), SYNC)
    got = client.until("Z")
    assert kinds(got) == "EZ"
    assert b"C42601\x00" in got[0][1]
    client.send(parse_msg("SELECT 7"), bind_msg(), execute_msg(), SYNC)
    assert kinds(client.until("Z")) == "12DCZ"
    client.close()


def test_empty_query_and_failed_transaction_status(wire: WireServer) -> None:  # noqa: F811
    client = RawClient(wire.port)
    client.send(query(""))
    assert kinds(client.until("Z")) == "IZ"
    client.send(query("BEGIN; SELECT 1/0 FROM no_such_table_q"))
    got = client.until("Z")
    assert kinds(got) == "CEZ" and got[-1] == ("Z", b"E")
    client.send(query("SELECT 1"))
    got = client.until("Z")
    assert b"C25P02\x00" in got[0][1] and got[-1] == ("Z", b"E")
    client.send(query("COMMIT"))
    got = client.until("Z")
    assert got[0] == ("C", b"ROLLBACK\x00") and got[-1] == ("Z", b"I")
    client.send(query("ROLLBACK"))
    got = client.until("Z")
    assert kinds(got) == "NCZ" and b"C25P01\x00" in got[0][1]
    client.close()


@pytest.mark.parametrize(
    "bad",
    [
        b"Q" + struct.pack(">i", 2),  # a length shorter than its own field
        b"Q" + struct.pack(">i", 2**30),  # a length beyond any message
        frame(b"?", b"x"),  # no such message type
        frame(b"Q", b"SELECT 1"),  # string without its terminator
        frame(b"D", b"Xname\x00"),  # Describe of neither statement nor portal
    ],
)
def test_malformed_messages_close_that_connection_only(wire: WireServer, bad: bytes) -> None:  # noqa: F811
    bystander = RawClient(wire.port)
    client = RawClient(wire.port)
    client.send(bad)
    assert client.closed()
    client.close()
    bystander.send(query("SELECT 2"))
    assert kinds(bystander.until("Z")) == "TDCZ"
    bystander.close()
    assert wire.alive() and still_serves(wire.port)


def test_gssenc_and_ssl_requests_are_declined_without_tls(wire: WireServer) -> None:  # noqa: F811
    with socket.create_connection(("127.0.0.1", wire.port), timeout=10) as sock:
        for code in (80877104, 80877103):  # GSSENCRequest, then SSLRequest
            sock.sendall(struct.pack(">ii", 8, code))
            assert sock.recv(1) == b"N"
        body = struct.pack(">i", 196608) + cstring("user") + cstring("u") + b"\x00"
        sock.sendall(struct.pack(">i", len(body) + 4) + body)
        assert sock.recv(9) == frame(b"R", struct.pack(">i", 0))  # AuthenticationOk


def test_truncated_messages_and_garbage_startup(wire: WireServer) -> None:  # noqa: F811
    client = RawClient(wire.port)
    client.send(query("SELECT 1")[:7])
    client.sock.shutdown(socket.SHUT_WR)
    assert client.closed()
    client.close()
    for garbage in (
        b"\x00\x00\x00\x02",
        b"\x00\x00\x00\x08\x00\x02\x00\x00",
        b"GET / HTTP/1.1\r\n",
    ):
        with socket.create_connection(("127.0.0.1", wire.port), timeout=10) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(1024):
                pass
    assert wire.alive() and still_serves(wire.port)


# cancel and concurrency ------------------------------------------------------------------------


def test_cancel_during_a_slow_model_call(wire: WireServer, model_server: ModelServer) -> None:  # noqa: F811
    with psycopg.connect(wire.dsn, autocommit=True) as conn:
        for statement in create_seed_predictor(model_server):
            conn.execute(statement)
        model_server.misbehaviour = Misbehaviour(delay=3.0, times=1)

        def cancel_when_called() -> None:
            deadline = time.monotonic() + 10
            while not any(r.finished is None for r in model_server.predict_requests()) and (
                time.monotonic() < deadline
            ):
                time.sleep(0.01)
            conn.cancel_safe()

        canceller = threading.Thread(target=cancel_when_called)
        canceller.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT * FROM byom WHERE initial_price = 1 AND rental_price = 1")
        canceller.join()
        assert time.monotonic() - started < 2.5  # did not wait for the model's answer
        assert conn.execute(SEED_QUERY).fetchall() == SEED_ROWS  # the session goes on


def test_cancel_a_long_duckdb_query(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(wire.dsn, autocommit=True) as conn:
        finished = threading.Event()

        def cancel_until_finished() -> None:  # a cancel before the query starts is ignored
            while not finished.wait(0.1):
                conn.cancel_safe()

        canceller = threading.Thread(target=cancel_until_finished)
        canceller.start()
        try:
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("SELECT count(*) FROM range(100000000000) AS a")
        finally:
            finished.set()
            canceller.join()
        assert conn.execute("SELECT 'still here'").fetchone() == ("still here",)


def test_fifty_concurrent_clients_predict(wire: WireServer, model_server: ModelServer) -> None:  # noqa: F811
    with psycopg.connect(wire.dsn, autocommit=True) as conn:
        for statement in create_seed_predictor(model_server):
            conn.execute(statement)
    model_server.misbehaviour = Misbehaviour(delay=0.2)  # every call takes a while
    results: dict[int, object] = {}

    def client(n: int) -> None:
        try:
            with psycopg.connect(wire.dsn) as conn:
                sql = (
                    "SELECT number_of_rooms FROM byom WHERE initial_price = {} AND rental_price = 1"
                )
                results[n] = conn.execute(sql.format(n)).fetchall()
        except Exception as exc:  # noqa: BLE001 - reported below
            results[n] = exc

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: [(float(n + 1),)] for n in range(50)}
    assert model_server.max_overlap() > 1  # calls overlapped: no client waited for another's


# security, authentication, TLS -------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "COPY (SELECT 1) TO '/tmp/byom_wire_copy.csv'",
        "ATTACH '/tmp/byom_wire_attach.duckdb' AS other",
        "INSTALL httpfs",
        "SET enable_external_access = true",
    ],
)
def test_clients_cannot_touch_server_files(wire: WireServer, statement: str) -> None:  # noqa: F811
    with psycopg.connect(wire.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error):
            conn.execute(statement)
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not Path("/tmp/byom_wire_copy.csv").exists()


def test_allow_file_access_lets_clients_read_files(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,x\n")
    server = WireServer(tmp_path, "--allow-file-access")
    try:
        with psycopg.connect(server.dsn) as conn:
            assert conn.execute(f"SELECT * FROM read_csv('{data}')").fetchall() == [(1, "x")]
    finally:
        server.stop()


def test_refuses_a_public_address_without_authentication(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "byom_sql", "serve", "--host", "0.0.0.0"]
    command += ["--port", str(free_port())]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "refusing to listen on 0.0.0.0 without authentication" in done.stderr


@pytest.mark.parametrize("method", ["scram-sha-256", "password"])
def test_password_authentication(tmp_path: Path, method: str) -> None:
    server = WireServer(
        tmp_path, "--user", "ann", "--password-env", "WIRE_PW", "--auth-method", method,
        env={"WIRE_PW": "s3cret"},
    )  # fmt: skip
    base = f"host=127.0.0.1 port={server.port} dbname=d"
    try:
        with psycopg.connect(f"{base} user=ann password=s3cret") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(
            psycopg.OperationalError, match='password authentication failed for user "ann"'
        ):
            psycopg.connect(f"{base} user=ann password=wrong")
        # as PostgreSQL: an unknown user is told the same as a wrong password
        with pytest.raises(
            psycopg.OperationalError, match='password authentication failed for user "bob"'
        ):
            psycopg.connect(f"{base} user=bob password=s3cret")
        assert server.alive()
    finally:
        server.stop()


def self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.crt", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_tls_with_a_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = WireServer(
        tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), "--password-env", "WIRE_PW",
        env={"WIRE_PW": "pw"},
    )  # fmt: skip
    try:
        dsn = f"host=127.0.0.1 port={server.port} user=u dbname=d password=pw"
        with psycopg.connect(f"{dsn} sslmode=require") as conn:
            assert conn.pgconn.ssl_in_use
            assert conn.execute("SELECT 'secure'").fetchone() == ("secure",)
        with psycopg.connect(f"{dsn} sslmode=disable") as conn:
            assert not conn.pgconn.ssl_in_use
    finally:
        server.stop()


def test_without_tls_sslmode_require_is_refused(wire: WireServer) -> None:  # noqa: F811
    with pytest.raises(psycopg.OperationalError, match="does not support SSL"):
        psycopg.connect(f"{wire.dsn} sslmode=require")


def test_max_connections(tmp_path: Path) -> None:
    server = WireServer(tmp_path, "--max-connections", "2")
    try:
        with psycopg.connect(server.dsn), psycopg.connect(server.dsn):
            with pytest.raises(psycopg.OperationalError, match="too many clients"):
                psycopg.connect(server.dsn)
        assert still_serves(server.port)
    finally:
        server.stop()


def test_new_connections_are_not_held_behind_slow_model_calls(
    wire: WireServer,  # noqa: F811
    model_server: ModelServer,
) -> None:
    dsn = f"host=127.0.0.1 port={wire.port} user=t dbname=d"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE PREDICTOR slow_one PREDICT y USING "
            f"url.predict = '{model_server.url}/ray/predict', format = 'ray_serve', "
            "timeout = 60, batch_size = 1, max_concurrency = 1"
        )
        conn.execute("CREATE OR REPLACE TABLE slow_rows AS SELECT range AS x FROM range(6)")
    model_server.misbehaviour = Misbehaviour(delay=1)  # 6 calls one after another: ≥ 6 s
    finished: list[float] = []

    def score() -> None:
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT * FROM slow_rows JOIN slow_one").fetchall()
        finished.append(time.monotonic())

    scorers = [threading.Thread(target=score) for _ in range(3)]
    for thread in scorers:
        thread.start()
    time.sleep(0.5)
    for _ in range(50):
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    connected = time.monotonic()
    for thread in scorers:
        thread.join()
    model_server.misbehaviour = None
    assert len(finished) == 3 and connected < min(finished), "a connection waited for a model"


def test_a_sessions_thread_ends_with_it(seed_server: WireServer) -> None:  # noqa: F811
    """Each connection's work runs on a thread of its own that ends when it disconnects, so
    what DuckDB and the allocators keep per thread does not outlive the client."""

    def threads() -> int:
        return len(list(Path(f"/proc/{seed_server.process.pid}/task").iterdir()))

    query = "SELECT number_of_rooms FROM byom WHERE initial_price = %s AND rental_price = 3000"
    with psycopg.connect(seed_server.dsn, autocommit=True) as warm:
        warm.execute(query, (1000,)).fetchall()  # the model-call threads, started once
    time.sleep(0.5)
    before = threads()
    clients = [psycopg.connect(seed_server.dsn, autocommit=True) for _ in range(10)]
    for price, client in enumerate(clients):
        assert client.execute(query, (1000 + price,)).fetchall()
    assert threads() >= before + 10
    for client in clients:
        client.close()
    deadline = time.monotonic() + 10
    while threads() > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert threads() <= before
