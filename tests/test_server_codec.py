"""The pure parts of the wire server: message codec, type codecs, SCRAM, parameter inference."""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest
import scramp

import byom_sql
from byom_sql.dialect import parse
from byom_sql.server import auth, describe, messages, pgtypes
from byom_sql.server.messages import ProtocolError


def frame(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">i", len(body) + 4) + body


def test_startup_packets() -> None:
    body = struct.pack(">i", 196608) + b"user\x00ann\x00database\x00d\x00\x00"
    assert messages.decode_startup(body) == messages.Startup(
        196608, {"user": "ann", "database": "d"}
    )
    assert messages.decode_startup(struct.pack(">i", 80877103)) == messages.SSLRequest()
    assert messages.decode_startup(struct.pack(">i", 80877104)) == messages.GSSENCRequest()
    cancel = struct.pack(">iii", 80877102, 7, -5)
    assert messages.decode_startup(cancel) == messages.CancelRequest(7, -5)
    with pytest.raises(ProtocolError):
        messages.decode_startup(struct.pack(">i", 131072))  # protocol 2
    with pytest.raises(ProtocolError):
        messages.decode_startup(struct.pack(">i", 196608) + b"user\x00ann")  # unterminated
    with pytest.raises(ProtocolError):
        messages.startup_length(struct.pack(">i", 2))


def test_framer_splits_and_waits_for_partial_messages() -> None:
    data = frame(b"Q", b"SELECT 1\x00") + frame(b"S", b"")
    framer = messages.Framer()
    assert framer.feed(data[:3]) == []
    assert framer.feed(data[3:12]) == []
    assert framer.feed(data[12:]) == [("Q", b"SELECT 1\x00"), ("S", b"")]
    with pytest.raises(ProtocolError):
        framer.feed(b"Q" + struct.pack(">i", 2))  # a length shorter than itself


def test_extended_protocol_messages() -> None:
    parse_body = b"s1\x00SELECT $1\x00" + struct.pack(">hI", 1, 23)
    assert messages.decode("P", parse_body) == messages.Parse("s1", "SELECT $1", (23,))
    bind_body = (
        b"p\x00s1\x00" + struct.pack(">hh", 1, 1) + struct.pack(">h", 2)
        + struct.pack(">i", 4) + struct.pack(">i", 9) + struct.pack(">i", -1)
        + struct.pack(">hh", 1, 1)
    )  # fmt: skip
    bind = messages.decode("B", bind_body)
    assert isinstance(bind, messages.Bind)
    assert bind.parameters == (struct.pack(">i", 9), None)
    assert bind.binary_parameter(1) and bind.binary_result(5)
    assert messages.decode("D", b"Pp\x00") == messages.Describe("P", "p")
    assert messages.decode("E", b"p\x00" + struct.pack(">i", 10)) == messages.Execute("p", 10)
    assert messages.decode("C", b"S\x00") == messages.Close("S", "")
    assert isinstance(messages.decode("F", b"whatever"), messages.Unsupported)
    for kind, body in [("D", b"Xp\x00"), ("E", b"p\x00"), ("Q", b"SELECT 1"), ("?", b""),
                       ("S", b"extra"), ("B", b"p\x00s\x00" + struct.pack(">h", 5))]:  # fmt: skip
        with pytest.raises(ProtocolError):
            messages.decode(kind, body)


def test_backend_messages() -> None:
    assert messages.ready_for_query("T") == b"Z\x00\x00\x00\x05T"
    rows = messages.data_rows([[b"1", None], [b"ab", b""]], 2)
    assert rows == (
        frame(b"D", b"\x00\x02" + struct.pack(">i", 1) + b"1" + struct.pack(">i", 2) + b"ab")
        + frame(b"D", struct.pack(">h", 2) + struct.pack(">i", -1) + struct.pack(">i", 0))
    )  # fmt: skip
    notice = messages.Notice("ERROR", "42601", "bad", position=3, hint="fix it")
    encoded = messages.error_response(notice)
    assert encoded.startswith(b"E") and b"C42601\x00" in encoded and b"P3\x00" in encoded
    assert b"Hfix it\x00" in encoded and encoded.endswith(b"\x00\x00")
    field = pgtypes.field_of("d", pa.decimal128(10, 2))
    description = messages.row_description([field], [True])
    assert struct.unpack(">ihihih", description[9:27]) == (0, 0, 1700, -1, (10 << 16 | 2) + 4, 1)


@pytest.mark.parametrize(
    ("arrow_type", "oid"),
    [
        (pa.bool_(), 16), (pa.int8(), 21), (pa.int16(), 21), (pa.int32(), 23), (pa.int64(), 20),
        (pa.uint64(), 1700), (pa.float32(), 700), (pa.float64(), 701), (pa.string(), 25),
        (pa.binary(), 17), (pa.date32(), 1082), (pa.time64("us"), 1083),
        (pa.timestamp("us"), 1114), (pa.timestamp("us", "UTC"), 1184),
        (pa.month_day_nano_interval(), 1186), (pa.list_(pa.int64()), 1016),
        (pa.list_(pa.string()), 1009), (pa.struct([("a", pa.int32())]), 114),
        (pa.map_(pa.string(), pa.int32()), 114), (pa.null(), 25),
    ],
)  # fmt: skip
def test_arrow_types_map_to_oids(arrow_type: pa.DataType, oid: int) -> None:
    assert pgtypes.oid_of(arrow_type) == oid


@pytest.mark.parametrize(
    ("value", "oid", "text"),
    [
        (True, 16, "t"), (3000.0, 701, "3000"), (0.1, 701, "0.1"), (float("inf"), 701, "Infinity"),
        (float("nan"), 701, "NaN"), (1.1, 700, "1.1"), (Decimal("1.50"), 1700, "1.50"),
        (b"\x01\xff", 17, "\\x01ff"), (dt.date(2020, 1, 2), 1082, "2020-01-02"),
        (dt.datetime(2020, 1, 2, 3, 4, 5), 1114, "2020-01-02 03:04:05"),
        (dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC), 1184, "2020-01-02 03:04:05+00"),
        (pa.scalar((14, 3, 3_600_000_000_000), pa.month_day_nano_interval()).as_py(), 1186,
         "1 year 2 mons 3 days 01:00:00"),
        ([1, None, 3], 1016, "{1,NULL,3}"), (["a b", "", 'q"'], 1009, '{"a b","","q\\""}'),
        ({"a": [1, 2]}, 114, '{"a": [1, 2]}'), ([("k", 1)], 114, '{"k": 1}'),
    ],
)  # fmt: skip
def test_text_format(value: object, oid: int, text: str) -> None:
    assert pgtypes.encoder(oid, binary=False)(value) == text.encode()


@pytest.mark.parametrize(
    "value",
    ["0", "1", "-1", "12345.678", "0.0001", "100000000", "1e-10", "123456789012345678901234567890",
     "-0.5", "NaN", "0.000"],
)  # fmt: skip
def test_numeric_binary_round_trip(value: str) -> None:
    encoded = pgtypes.encoder(pgtypes.NUMERIC, binary=True)(Decimal(value))
    decoded = pgtypes.decode_binary(encoded, pgtypes.NUMERIC)
    assert str(decoded) == str(Decimal(value)) or (decoded.is_nan() and value == "NaN")


def test_numeric_binary_matches_postgres() -> None:
    # SELECT 12345.678::numeric in binary from PostgreSQL 15: ndigits 3, weight 1, scale 3
    expected = struct.pack(">hhHH3H", 3, 1, 0, 3, 1, 2345, 6780)
    assert pgtypes.encoder(pgtypes.NUMERIC, binary=True)(Decimal("12345.678")) == expected


@pytest.mark.parametrize(
    ("value", "oid"),
    [
        (5, 23), (-5, 20), (2.5, 701), (True, 16), (dt.date(1999, 12, 31), 1082),
        (dt.datetime(2024, 5, 6, 7, 8, 9, 10), 1114), ([1, None, 2], 1007),
        (dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC), 1184), (b"\x00", 17),
        (str(uuid.UUID(int=7)), 2950), (dt.time(1, 2, 3, 4), 1083),
    ],
)  # fmt: skip
def test_binary_parameters_round_trip(value: object, oid: int) -> None:
    encoded = pgtypes.encoder(oid, binary=True)(value)
    assert pgtypes.decode_parameter(encoded, oid, binary=True) == value


def test_text_parameters() -> None:
    assert pgtypes.decode_parameter(b"42", 20, binary=False) == 42
    assert pgtypes.decode_parameter(b'{1,NULL,"3"}', 1016, binary=False) == [1, None, 3]
    assert pgtypes.decode_parameter(b"2020-01-02 03:04:05+00", 1184, binary=False) == dt.datetime(
        2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC
    )
    assert pgtypes.decode_parameter(None, 23, binary=False) is None
    with pytest.raises(ValueError):
        pgtypes.decode_parameter(b"\x00\x01", 23, binary=True)
    with pytest.raises(ValueError):
        pgtypes.decode_parameter(b"abc", 23, binary=False)


def test_scram_exchange_with_a_real_client() -> None:
    secret = auth.ScramSecret.of("s3cret")
    for password, ok in (("s3cret", True), ("wrong", False)):
        client = scramp.ScramClient([auth.MECHANISM], "tester", password)
        exchange = auth.ScramExchange(secret)
        first = client.get_client_first().encode()
        initial = auth.MECHANISM.encode() + b"\x00" + struct.pack(">i", len(first)) + first
        client.set_server_first(exchange.first(initial).decode())
        final = client.get_client_final().encode()
        if ok:
            client.set_server_final(exchange.final(final).decode())  # checks the server's proof
        else:
            with pytest.raises(auth.AuthenticationFailed):
                exchange.final(final)


def test_scram_rejects_channel_binding_and_garbage() -> None:
    exchange = auth.ScramExchange(auth.ScramSecret.of("x"))
    for first in (b"p=tls-server-end-point,,n=,r=abc", b"garbage"):
        initial = auth.MECHANISM.encode() + b"\x00" + struct.pack(">i", len(first)) + first
        with pytest.raises(auth.AuthenticationFailed):
            exchange.first(initial)


def test_parameter_types_are_inferred_from_context(model_server: object) -> None:
    with byom_sql.connect() as conn:
        conn.sql("CREATE TABLE t (i INTEGER, f DOUBLE, s VARCHAR, d DATE, b BOOLEAN, x BIGINT)")
        cases = {
            "SELECT * FROM t WHERE i = $1 AND f > $2 AND s LIKE $3 AND d < $4 AND b = $5": [
                23,
                701,
                25,
                1082,
                16,
            ],
            "SELECT * FROM t AS q WHERE q.x IN ($1, $2) LIMIT $3 OFFSET $4": [20, 20, 20, 20],
            "SELECT $1::DATE, $2, CAST($3 AS DOUBLE)": [1082, 25, 701],
            "INSERT INTO t (s, i) VALUES ($1, $2)": [25, 23],
            "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6)": [23, 701, 25, 1082, 16, 20],
            "UPDATE t SET f = $1 WHERE d BETWEEN $2 AND $3": [701, 1082, 1082],
            "SELECT i + $1 FROM t": [23],
        }
        for sql, oids in cases.items():
            node = parse(sql)[0].node
            assert describe.parameter_oids(conn, node, ()) == oids, sql
        node = parse("SELECT * FROM t WHERE i = $1")[0].node
        assert describe.parameter_oids(conn, node, (20,)) == [20]  # the client's type wins
