"""Golden transcripts: the same simple queries sent by hand to the machine's real PostgreSQL and
to byom-sql serve give the same messages (types, OIDs, values, tags, SQLSTATEs, positions).
Error texts differ (DuckDB words them) and are not compared."""

from __future__ import annotations

import socket
import struct

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


@pytest.mark.skipif(not postgres_available(), reason="no PostgreSQL on 127.0.0.1:5432")
def test_simple_queries_match_postgres(wire: WireServer) -> None:  # noqa: F811
    postgres = RawClient(POSTGRES[1], user="postgres", database="test")
    ours = RawClient(wire.port)
    try:
        for sql in QUERIES:
            assert transcript(ours, sql) == transcript(postgres, sql), sql
    finally:
        postgres.close()
        ours.close()
