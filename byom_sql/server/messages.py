"""The Postgres wire protocol (version 3) as data: bytes ↔ messages, no sockets.

Frontend messages are decoded into small dataclasses; backend messages are built by functions
returning bytes. Anything malformed raises ProtocolError, and the server closes that
connection (only that one).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from byom_sql.server.pgtypes import Field

PROTOCOL_VERSION = 196608  # 3.0
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MAX_STARTUP = 10_000
MAX_MESSAGE = 64 * 1024 * 1024  # the default limit on one message (ServerConfig.max_message_bytes)


class ProtocolError(Exception):
    """The client sent something that is not the protocol: FATAL, and the connection closes."""

    def __init__(self, message: str, sqlstate: str = "08P01"):
        super().__init__(message)
        self.sqlstate = sqlstate


class BadText(Exception):
    """Text that is not UTF-8, or has a NUL: an error for that message, the session stays."""


# frontend messages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SSLRequest:
    pass


@dataclass(frozen=True)
class GSSENCRequest:
    pass


@dataclass(frozen=True)
class CancelRequest:
    pid: int
    secret: int


@dataclass(frozen=True)
class Startup:
    version: int
    parameters: dict[str, str]


@dataclass(frozen=True)
class Query:
    sql: str


@dataclass(frozen=True)
class Parse:
    name: str
    sql: str
    oids: tuple[int, ...]


@dataclass(frozen=True)
class Bind:
    portal: str
    statement: str
    parameter_formats: tuple[int, ...]
    parameters: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]

    def binary_parameter(self, index: int) -> bool:
        return _format_of(self.parameter_formats, index)

    def binary_result(self, index: int) -> bool:
        return _format_of(self.result_formats, index)


def _format_of(formats: tuple[int, ...], index: int) -> bool:
    """Postgres format codes: none = all text, one = all alike, else one per item."""
    if not formats:
        return False
    return formats[0 if len(formats) == 1 else index] == 1


@dataclass(frozen=True)
class Describe:
    kind: str  # "S" statement, "P" portal
    name: str


@dataclass(frozen=True)
class Execute:
    portal: str
    max_rows: int  # 0: all


@dataclass(frozen=True)
class Close:
    kind: str
    name: str


@dataclass(frozen=True)
class Sync:
    pass


@dataclass(frozen=True)
class Flush:
    pass


@dataclass(frozen=True)
class Terminate:
    pass


@dataclass(frozen=True)
class Password:
    """'p': a password, a SASLInitialResponse or a SASLResponse; the auth step reads it."""

    data: bytes


@dataclass(frozen=True)
class CopyData:
    data: bytes


@dataclass(frozen=True)
class CopyDone:
    pass


@dataclass(frozen=True)
class CopyFail:
    message: str


@dataclass(frozen=True)
class Unsupported:
    """A message we know but do not serve (FunctionCall): answered with an error."""

    type: str
    what: str


@dataclass(frozen=True)
class Invalid:
    """A message whose text cannot be read (22021): answered with an error, as PostgreSQL does."""

    type: str
    error: str


FrontendMessage = (
    (Query | Parse | Bind | Describe | Execute | Close | Sync | Flush | Terminate | Password)
    | (CopyData | CopyDone | CopyFail)
    | Unsupported
    | Invalid
)


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.offset = 0

    def int16(self) -> int:
        return self._unpack(">h", 2)

    def int32(self) -> int:
        return self._unpack(">i", 4)

    def _unpack(self, fmt: str, size: int) -> int:
        if self.offset + size > len(self.data):
            raise ProtocolError("message is shorter than its contents")
        (value,) = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return int(value)

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.offset)
        if end < 0:
            raise ProtocolError("string is not terminated")
        try:
            text = self.data[self.offset : end].decode()
        except UnicodeDecodeError as exc:
            bad = self.data[self.offset + exc.start : self.offset + exc.end]
            raise BadText(f'invalid byte sequence for encoding "UTF8": 0x{bad.hex()}') from None
        self.offset = end + 1
        return text

    def take(self, size: int) -> bytes:
        if size < 0 or self.offset + size > len(self.data):
            raise ProtocolError("message is shorter than its contents")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def byte(self) -> str:
        return self.take(1).decode("latin-1")

    def int16s(self) -> tuple[int, ...]:
        count = self.int16()
        if count < 0:
            raise ProtocolError("negative count")
        return tuple(self.int16() for _ in range(count))

    def done(self) -> None:
        if self.offset != len(self.data):
            raise ProtocolError("message is longer than its contents")


def startup_length(header: bytes) -> int:
    """The body length of a startup-phase packet from its 4-byte length."""
    (length,) = struct.unpack(">i", header)
    if not 8 <= length <= MAX_STARTUP:
        raise ProtocolError(f"invalid startup packet length {length}")
    return int(length) - 4


def decode_startup(body: bytes) -> SSLRequest | GSSENCRequest | CancelRequest | Startup:
    reader = _Reader(body)
    code = reader.int32()
    if code == SSL_REQUEST:
        reader.done()
        return SSLRequest()
    if code == GSSENC_REQUEST:
        reader.done()
        return GSSENCRequest()
    if code == CANCEL_REQUEST:
        pid, secret = reader.int32(), reader.int32()
        reader.done()
        return CancelRequest(pid, secret)
    if code >> 16 != 3:
        raise ProtocolError(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
    parameters: dict[str, str] = {}
    try:
        while (key := reader.cstring()) != "":
            parameters[key] = reader.cstring()
    except BadText as exc:  # no session yet to keep: FATAL, as PostgreSQL
        raise ProtocolError(str(exc), sqlstate="22021") from None
    reader.done()
    return Startup(code, parameters)


def message_length(header: bytes, limit: int = MAX_MESSAGE) -> tuple[str, int]:
    """(type, body length) from a message's 5-byte header; a message over `limit` bytes is
    refused before any of it is buffered."""
    kind = header[:1].decode("latin-1")
    (length,) = struct.unpack(">i", header[1:5])
    if length < 4:
        raise ProtocolError(f"invalid length {length} for message {kind!r}")
    if length > limit:
        raise ProtocolError(
            f"message {kind!r} of {length} bytes is longer than the server's limit of {limit}",
            sqlstate="54000",
        )
    return kind, length - 4


class Framer:
    """Splits the bytes of a connection (after startup) into (type, body) messages."""

    def __init__(self, limit: int = MAX_MESSAGE) -> None:
        self._buffer = bytearray()
        self.limit = limit

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        """The messages completed by `data`; a partial one waits for more bytes."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= 5:
            kind, length = message_length(bytes(self._buffer[:5]), self.limit)
            if len(self._buffer) < 5 + length:
                break
            frames.append((kind, bytes(self._buffer[5 : 5 + length])))
            del self._buffer[: 5 + length]
        return frames


def decode(kind: str, body: bytes) -> FrontendMessage:
    try:
        return _decode(kind, body)
    except BadText as exc:
        return Invalid(kind, str(exc))


def _decode(kind: str, body: bytes) -> FrontendMessage:
    reader = _Reader(body)
    message: FrontendMessage
    if kind == "Q":
        if 0 <= body.find(b"\x00") < len(body) - 1:
            raise BadText('invalid byte sequence for encoding "UTF8": 0x00')
        message = Query(reader.cstring())
    elif kind == "P":
        name, sql = reader.cstring(), reader.cstring()
        count = reader.int16()
        message = Parse(name, sql, tuple(reader.int32() & 0xFFFFFFFF for _ in range(count)))
    elif kind == "B":
        portal, statement = reader.cstring(), reader.cstring()
        formats = reader.int16s()
        count = reader.int16()
        values = []
        for _ in range(count):
            size = reader.int32()
            values.append(None if size == -1 else reader.take(size))
        message = Bind(portal, statement, formats, tuple(values), reader.int16s())
    elif kind in ("D", "C"):
        which, name = reader.byte(), reader.cstring()
        if which not in ("S", "P"):
            raise ProtocolError(f"invalid {'Describe' if kind == 'D' else 'Close'} kind {which!r}")
        message = Describe(which, name) if kind == "D" else Close(which, name)
    elif kind == "E":
        message = Execute(reader.cstring(), reader.int32())
    elif kind == "S":
        message = Sync()
    elif kind == "H":
        message = Flush()
    elif kind == "X":
        message = Terminate()
    elif kind == "p":
        return Password(body)
    elif kind == "d":
        return CopyData(body)
    elif kind == "c":
        message = CopyDone()
    elif kind == "f":
        message = CopyFail(reader.cstring())
    elif kind == "F":
        return Unsupported(kind, "function calls")
    else:
        raise ProtocolError(f"unknown message type {kind!r}")
    reader.done()
    return message


# backend messages -------------------------------------------------------------------------------


def _message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack(">i", len(body) + 4) + body


def _cstring(text: str) -> bytes:
    return text.encode() + b"\x00"


def authentication_ok() -> bytes:
    return _message(b"R", struct.pack(">i", 0))


def authentication_cleartext() -> bytes:
    return _message(b"R", struct.pack(">i", 3))


def authentication_sasl(mechanisms: Sequence[str]) -> bytes:
    return _message(b"R", struct.pack(">i", 10) + b"".join(map(_cstring, mechanisms)) + b"\x00")


def authentication_sasl_continue(data: bytes) -> bytes:
    return _message(b"R", struct.pack(">i", 11) + data)


def authentication_sasl_final(data: bytes) -> bytes:
    return _message(b"R", struct.pack(">i", 12) + data)


def parameter_status(name: str, value: str) -> bytes:
    return _message(b"S", _cstring(name) + _cstring(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return _message(b"K", struct.pack(">ii", pid, secret))


def ready_for_query(status: str) -> bytes:
    return _message(b"Z", status.encode())


def row_description(fields: Sequence[Field], binary: Sequence[bool] = ()) -> bytes:
    parts = [struct.pack(">h", len(fields))]
    for index, f in enumerate(fields):
        fmt = 1 if index < len(binary) and binary[index] else 0
        parts.append(_cstring(f.name) + struct.pack(">ihihih", 0, 0, f.oid, f.size, f.typmod, fmt))
    return _message(b"T", b"".join(parts))


def parameter_description(oids: Sequence[int]) -> bytes:
    return _message(b"t", struct.pack(f">h{len(oids)}I", len(oids), *oids))


_NULL_FIELD = b"\xff\xff\xff\xff"
_LENGTH = struct.Struct(">i")


def data_rows(columns: Sequence[Sequence[bytes | None]], count: int) -> bytes:
    """`count` DataRow messages, the rows given column by column (each column's fields)."""
    if not columns:
        return _message(b"D", b"\x00\x00") * count
    prefixed = [
        [_NULL_FIELD if v is None else _LENGTH.pack(len(v)) + v for v in c] for c in columns
    ]
    width = struct.pack(">h", len(columns))
    rows = []
    for fields in zip(*prefixed, strict=True):
        body = b"".join(fields)
        rows.append(b"D" + _LENGTH.pack(len(body) + 6) + width + body)
    return b"".join(rows)


def copy_out_response(binary: bool, columns: int) -> bytes:
    return _message(b"H", _copy_formats(binary, columns))


def copy_in_response(binary: bool, columns: int) -> bytes:
    return _message(b"G", _copy_formats(binary, columns))


def _copy_formats(binary: bool, columns: int) -> bytes:
    fmt = int(binary)
    return struct.pack(f">bh{columns}h", fmt, columns, *([fmt] * columns))


def copy_data(data: bytes) -> bytes:
    return _message(b"d", data)


COPY_DONE = _message(b"c")


def command_complete(tag: str) -> bytes:
    return _message(b"C", _cstring(tag))


@dataclass(frozen=True)
class Notice:
    """The fields of an ErrorResponse or NoticeResponse."""

    severity: str
    sqlstate: str
    message: str
    position: int | None = None  # 1-based, in the query string
    hint: str | None = None
    detail: str | None = None

    def encode(self, kind: bytes) -> bytes:
        fields = [
            (b"S", self.severity),
            (b"V", self.severity),
            (b"C", self.sqlstate),
            (b"M", self.message),
        ]
        if self.detail:
            fields.append((b"D", self.detail))
        if self.hint:
            fields.append((b"H", self.hint))
        if self.position is not None:
            fields.append((b"P", str(self.position)))
        body = b"".join(code + _cstring(value) for code, value in fields)
        return _message(kind, body + b"\x00")


def error_response(notice: Notice) -> bytes:
    return notice.encode(b"E")


def notice_response(notice: Notice) -> bytes:
    return notice.encode(b"N")


# messages without a body
PARSE_COMPLETE = _message(b"1")
BIND_COMPLETE = _message(b"2")
CLOSE_COMPLETE = _message(b"3")
NO_DATA = _message(b"n")
EMPTY_QUERY_RESPONSE = _message(b"I")
PORTAL_SUSPENDED = _message(b"s")
