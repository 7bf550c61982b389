"""Hostile input at the wire: what PostgreSQL answers with an error and a live session, we
answer the same way; what it closes the connection for, we close with a FATAL and a SQLSTATE."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wire import RawClient, WireServer, cstring, frame, wire  # noqa: F401 - fixture


def query(sql: bytes) -> bytes:
    return frame(b"Q", sql + b"\x00")


def sqlstate(message: tuple[str, bytes]) -> str:
    kind, body = message
    assert kind == "E", message
    fields = {f[:1]: f[1:] for f in body.split(b"\x00") if f}
    return fields[b"C"].decode()


def answers_select(client: RawClient) -> bool:
    client.send(query(b"SELECT 42"))
    got = client.until("Z")
    return [k for k, _ in got] == ["T", "D", "C", "Z"] and got[1][1].endswith(b"42")


@pytest.mark.parametrize(
    "text",
    [
        b"SELECT '\xff\xfe'",  # not UTF-8
        b"SELECT '\xed\xa0\x80'",  # a surrogate, encoded
        b"SELECT 1\x00; DROP TABLE t",  # a NUL inside the text
    ],
)
def test_unreadable_query_is_22021_and_the_session_stays(wire: WireServer, text: bytes) -> None:  # noqa: F811
    client = RawClient(wire.port)
    client.send(query(text))
    got = client.until("Z")
    assert [k for k, _ in got] == ["E", "Z"]
    assert sqlstate(got[0]) == "22021"
    assert answers_select(client)
    client.close()


def test_unreadable_parse_fails_until_sync(wire: WireServer) -> None:  # noqa: F811
    client = RawClient(wire.port)
    parse = frame(b"P", cstring("") + b"SELECT '\xff'\x00" + struct.pack(">h", 0))
    execute = frame(b"E", cstring("") + struct.pack(">i", 0))
    client.send(parse, execute, frame(b"S"))
    got = client.until("Z")
    assert [k for k, _ in got] == ["E", "Z"] and sqlstate(got[0]) == "22021"
    assert answers_select(client)
    client.close()


def test_function_call_gets_an_error_and_ready_for_query(wire: WireServer) -> None:  # noqa: F811
    client = RawClient(wire.port)
    call = frame(b"F", struct.pack(">ihhih", 1234, 0, 0, 0, 0))
    client.send(call)
    got = client.until("Z")
    assert [k for k, _ in got] == ["E", "Z"] and sqlstate(got[0]) == "0A000"
    assert answers_select(client)
    client.close()


def test_copy_data_outside_a_copy_is_ignored(wire: WireServer) -> None:  # noqa: F811
    client = RawClient(wire.port)
    client.send(frame(b"d", b"1\t2\n"), frame(b"c"))
    assert answers_select(client)
    client.close()


def test_too_many_result_columns_is_54011(wire: WireServer) -> None:  # noqa: F811
    columns = ", ".join(f"{i} AS c{i}" for i in range(5000))
    with psycopg.connect(f"host=127.0.0.1 port={wire.port} user=t dbname=d") as conn:
        with pytest.raises(psycopg.errors.TooManyColumns) as raised:
            conn.execute(f"SELECT {columns}")
        assert raised.value.sqlstate == "54011" and "1664" in str(raised.value)
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_message_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    server = WireServer(tmp_path, "--max-message-bytes", "100000")
    try:
        bystander = RawClient(server.port)
        client = RawClient(server.port)
        # only the header: the server must answer without waiting for 200 MB
        client.send(b"Q" + struct.pack(">i", 200_000_000))
        message = client.receive()
        assert message is not None and message[0] == "E" and sqlstate(message) == "54000"
        assert b"100000" in message[1] and client.closed()
        client.close()
        client = RawClient(server.port)
        client.send(query(b"SELECT '" + b"x" * 90_000 + b"'"))
        assert [k for k, _ in client.until("Z")] == ["T", "D", "C", "Z"]
        assert answers_select(bystander)
        client.close()
        bystander.close()
    finally:
        server.stop()


def test_a_long_script_is_cancelled_while_it_is_parsed(wire: WireServer) -> None:  # noqa: F811
    script = "SELECT 1;" * 100_000  # 900 kB: seconds of parsing
    with psycopg.connect(f"host=127.0.0.1 port={wire.port} user=t dbname=d") as conn:
        threading.Timer(0.5, conn.cancel).start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(script)
        took = time.monotonic() - started
        conn.rollback()
        assert conn.execute("SELECT 7").fetchone() == (7,)
    assert took < 5, f"cancel took {took:.1f} s"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(b"QPBDCESHFdcf"), st.binary(max_size=60)), max_size=6))
def test_random_messages_never_hurt_the_server(
    wire: WireServer,  # noqa: F811
    frames: list[tuple[int, bytes]],
) -> None:
    client = RawClient(wire.port)
    client.send(*(frame(bytes([kind]), body) for kind, body in frames), frame(b"S"))
    client.sock.settimeout(5)
    try:
        client.until("Z")  # an answer, or a FATAL and the connection closed
    except TimeoutError:
        pass  # waiting for the rest of a message whose length said more: also fine
    client.close()
    bystander = RawClient(wire.port)
    assert answers_select(bystander)
    bystander.close()
