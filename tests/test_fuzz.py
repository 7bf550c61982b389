"""Property tests of the pure codecs: whatever the bytes or text, the dialect parser and the
wire codec answer with a value or their own error, never another exception."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byom_sql.dialect import parse
from byom_sql.errors import Error
from byom_sql.server import messages, pgtypes

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = st.sampled_from(
    [
        "CREATE",
        "PREDICTOR",
        "DATABASE",
        "SECRET",
        "DROP",
        "RETRAIN",
        "DESCRIBE",
        "SHOW",
        "SELECT",
        "FROM",
        "WHERE",
        "JOIN",
        "PREDICT",
        "USING",
        "WITH",
        "ENGINE",
        "PARAMETERS",
        "VALUE",
        "AS",
        "AND",
        "OR",
        "NOT",
        "IF",
        "EXISTS",
        "=",
        ",",
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        ";",
        ".",
        "'x'",
        '"y"',
        "`z`",
        "1",
        "-2.5e3",
        "url.predict",
        "dtype_dict",
        "byom",
        '{"a": "integer"}',
        "'http://127.0.0.1:1/p'",
        "--c\n",
        "/* c */",
        "$1",
        "?",
        "*",
    ]  # fmt: skip
)
STATEMENTS = st.lists(WORDS, max_size=30).map(" ".join)


@FAST
@given(st.one_of(STATEMENTS, st.text(max_size=200)))
def test_the_parser_answers_statements_or_its_own_error(text: str) -> None:
    try:
        statements = parse(text, lenient=True)
    except Error as error:
        assert error.sqlstate and error.message
    else:
        for statement in statements:
            assert text[statement.start :].startswith(statement.sql)


@FAST
@given(st.sampled_from("QPBDCESHXpFdcf?"), st.binary(max_size=200))
def test_any_message_body_decodes_or_is_a_protocol_error(kind: str, body: bytes) -> None:
    try:
        message = messages.decode(kind, body)
    except messages.ProtocolError as error:
        assert error.sqlstate == "08P01"
    else:
        assert message is not None


@FAST
@given(st.binary(max_size=300))
def test_the_framer_splits_any_stream_or_refuses_it(data: bytes) -> None:
    framer = messages.Framer(limit=1000)
    try:
        frames = framer.feed(data)
    except messages.ProtocolError as error:
        assert error.sqlstate in ("08P01", "54000")
    else:
        assert sum(5 + len(body) for _, body in frames) <= len(data)


@FAST
@given(st.binary(max_size=100))
def test_a_startup_packet_decodes_or_is_a_protocol_error(body: bytes) -> None:
    try:
        messages.decode_startup(struct.pack(">i", 196608) + body)
    except messages.ProtocolError as error:
        assert error.sqlstate in ("08P01", "22021")


OIDS = st.sampled_from(
    [pgtypes.BOOL, pgtypes.INT2, pgtypes.INT4, pgtypes.INT8, pgtypes.FLOAT4, pgtypes.FLOAT8,
     pgtypes.TEXT, pgtypes.DATE, pgtypes.TIMESTAMP, pgtypes.BYTEA, 1700, 1016, 1009, 1184]
)  # fmt: skip


@FAST
@given(st.binary(max_size=64), OIDS, st.booleans())
def test_a_parameter_decodes_or_is_a_value_error(data: bytes, oid: int, binary: bool) -> None:
    try:
        pgtypes.decode_parameter(data, oid, binary)
    except ValueError as error:
        assert str(error)
