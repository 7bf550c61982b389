"""Golden transcripts: the same simple queries sent by hand to the machine's real PostgreSQL and
to byom-sql serve give the same messages (types, OIDs, values, tags, SQLSTATEs, positions).
Error texts differ (DuckDB words them) and are not compared."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from tests.wire import RawClient, WireServer, frame, wire  # noqa: F401 - fixture

POSTGRES = ("127.0.0.1", 5432)
QUERIES = [
    "SELECT 1 AS a, 'x' AS b, NULL::INTEGER AS c, 2.5::FLOAT8 AS d, TRUE AS e",
    "SELECT DATE '2024-02-29' AS d, 12.50::NUMERIC(5,2) AS n, 3000000000::BIGINT AS big",
    "SELECT 'a' AS s WHERE 1 = 0",
    "",
    "  ;  ",
    "SELECT 1 AS one; SELECT 2 AS two",
    "SELEC 1",
    "SELECT * FROM no_such_relation_here",
    "SELECT 1 AS ok; SELECT * FROM no_such_relation_here; SELECT 3 AS never",
    "BEGIN; SELECT 1 AS inside; COMMIT",
    "ROLLBACK",
    "CREATE TEMP TABLE golden (a INTEGER); INSERT INTO golden VALUES (1), (2); "
    "UPDATE golden SET a = 3; DELETE FROM golden; DROP TABLE golden",
]


def summary(kind: str, body: bytes) -> object:
    """What must match in a message."""
    if kind == "T":
        count, offset, fields = struct.unpack_from(">h", body)[0], 2, []
        for _ in range(count):
            end = body.index(b"\x00", offset)
            name = body[offset:end].decode()
            oid, size, typmod = struct.unpack_from(">ihi", body, end + 7)
            fields.append((name, oid, size, typmod))
            offset = end + 19
        return fields
    if kind in ("E", "N"):
        fields = dict(
            (part[:1].decode(), part[1:].decode()) for part in body.split(b"\x00") if part
        )
        return fields["S"], fields["C"], fields.get("P")
    return body


def transcript(client: RawClient, sql: str) -> list[tuple[str, object]]:
    client.send(frame(b"Q", sql.encode() + b"\x00"))
    return [(kind, summary(kind, body)) for kind, body in client.until("Z")]


def postgres_available() -> bool:
    try:
        socket.create_connection(POSTGRES, timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def clients(wire: WireServer) -> Iterator[tuple[RawClient, RawClient]]:  # noqa: F811
    """A raw connection to our server and one to the real PostgreSQL."""
    if not postgres_available():
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    ours, postgres = RawClient(wire.port), RawClient(POSTGRES[1], "postgres", "test")
    yield ours, postgres
    ours.close()
    postgres.close()


def test_simple_queries_match_postgres(clients: tuple[RawClient, RawClient]) -> None:
    ours, postgres = clients
    for sql in QUERIES:
        assert transcript(ours, sql) == transcript(postgres, sql), sql


def parse(sql: str, name: str = "", oids: tuple[int, ...] = ()) -> bytes:
    body = f"{name}\0{sql}\0".encode() + struct.pack(f">h{len(oids)}I", len(oids), *oids)
    return frame(b"P", body)


def bind(values: tuple[bytes, ...] = (), portal: str = "", statement: str = "") -> bytes:
    body = f"{portal}\0{statement}\0".encode() + struct.pack(">hh", 0, len(values))
    body += b"".join(struct.pack(">i", len(v)) + v for v in values)
    return frame(b"B", body + struct.pack(">h", 0))


def describe(kind: bytes, name: str = "") -> bytes:
    return frame(b"D", kind + name.encode() + b"\0")


def execute(portal: str = "", rows: int = 0) -> bytes:
    return frame(b"E", portal.encode() + b"\0" + struct.pack(">i", rows))


SYNC = frame(b"S")
EXTENDED = [
    [parse("SELECT $1::INTEGER + 1 AS n"), describe(b"S"), bind((b"41",)), describe(b"P"),
     execute(), SYNC],
    [parse("SELECT x FROM (VALUES (1), (2), (3)) AS t(x)", "three"), bind(statement="three"),
     execute(rows=2), execute(rows=2), execute(rows=2), SYNC],
    [parse("SELECT 1 AS a"), bind(), describe(b"P", "nope"), execute(), SYNC],
    [bind(statement="never_parsed"), execute(), SYNC],
    [parse(""), bind(), describe(b"P"), execute(), SYNC],
]  # fmt: skip


def test_extended_protocol_matches_postgres(clients: tuple[RawClient, RawClient]) -> None:
    for messages in EXTENDED:
        got = []
        for client in clients:
            client.send(*messages)
            got.append([(k, summary(k, b)) for k, b in client.until("Z")])
        assert got[0] == got[1], messages
    # Postgres finds an unknown table at Parse, we at Execute (DuckDB binds when it runs): the
    # same error, position and status, one step later
    for client in clients:
        client.send(parse("SELECT * FROM no_such_relation_here"), bind(), execute(), SYNC)
        got.append([(k, summary(k, b)) for k, b in client.until("Z") if k not in "12"])
    assert got[-2] == got[-1] == [("E", ("ERROR", "42P01", "15")), ("Z", b"I")]
