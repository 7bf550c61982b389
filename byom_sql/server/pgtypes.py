"""Postgres types: OIDs for Arrow and SQL types, and the text and binary codecs of values.

Pure functions, no I/O. Results leave DuckDB as Arrow, so one mapping (Arrow type → OID) serves
both describing a statement and sending its rows; encoders are chosen by OID and are lenient
about the Python value they get (an int for a float8 column still encodes), because a
statement described before it runs may produce slightly different Arrow types.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import pyarrow as pa
from sqlglot import exp

BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT2VECTOR, INT4, REGPROC, TEXT, OID = (
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
)  # fmt: skip
OIDVECTOR, JSON, FLOAT4, FLOAT8, UNKNOWN, VARCHAR, DATE, TIME = (
    30,
    114,
    700,
    701,
    705,
    1043,
    1082,
    1083,
)
TIMESTAMP, TIMESTAMPTZ, INTERVAL, NUMERIC, REGCLASS, REGTYPE, UUID, JSONB = (
    1114, 1184, 1186, 1700, 2205, 2206, 2950, 3802,
)  # fmt: skip

ARRAY_OF = {
    BOOL: 1000, BYTEA: 1001, CHAR: 1002, NAME: 1003, INT2: 1005, INT4: 1007, TEXT: 1009,
    VARCHAR: 1015, INT8: 1016, FLOAT4: 1021, FLOAT8: 1022, OID: 1028, DATE: 1182, TIME: 1183,
    TIMESTAMP: 1115, TIMESTAMPTZ: 1185, INTERVAL: 1187, NUMERIC: 1231, UUID: 2951, JSON: 199,
    JSONB: 3807, REGCLASS: 2210, REGTYPE: 2211, REGPROC: 1008,
}  # fmt: skip
ELEMENT_OF = {array: element for element, array in ARRAY_OF.items()}
ELEMENT_OF.update({INT2VECTOR: INT2, OIDVECTOR: OID})

TYPE_SIZE = {
    BOOL: 1, CHAR: 1, NAME: 64, INT2: 2, INT4: 4, INT8: 8, OID: 4, REGPROC: 4, REGCLASS: 4,
    REGTYPE: 4, FLOAT4: 4, FLOAT8: 8, DATE: 4, TIME: 8, TIMESTAMP: 8, TIMESTAMPTZ: 8,
    INTERVAL: 16, UUID: 16,
}  # fmt: skip
_OID_LIKE = (OID, REGPROC, REGCLASS, REGTYPE)

POSTGRES_EPOCH = dt.datetime(2000, 1, 1)
POSTGRES_EPOCH_DATE = POSTGRES_EPOCH.date()
_UTC_EPOCH = POSTGRES_EPOCH.replace(tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Field:
    """One column of a RowDescription."""

    name: str
    oid: int
    typmod: int = -1

    @property
    def size(self) -> int:
        return TYPE_SIZE.get(self.oid, -1)


# types → OIDs ---------------------------------------------------------------------------------


def fields_of(schema: pa.Schema, json_columns: frozenset[int] = frozenset()) -> list[Field]:
    """The fields of a result; `json_columns` (text in Arrow) are sent as json."""
    return [
        Field(f.name, JSON) if i in json_columns else field_of(f.name, f.type)
        for i, f in enumerate(schema)
    ]


def field_of(name: str, arrow_type: pa.DataType) -> Field:
    if pa.types.is_decimal(arrow_type):
        return Field(name, NUMERIC, ((arrow_type.precision << 16) | arrow_type.scale) + 4)
    return Field(name, oid_of(arrow_type))


def oid_of(arrow_type: pa.DataType) -> int:
    """The Postgres type a column of this Arrow type is sent as."""
    t = arrow_type
    if pa.types.is_dictionary(t):
        return oid_of(t.value_type)
    if pa.types.is_boolean(t):
        return BOOL
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return INT2
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return INT4
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return INT8
    if pa.types.is_uint64(t) or pa.types.is_decimal(t):
        return NUMERIC
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return FLOAT4
    if pa.types.is_float64(t):
        return FLOAT8
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return BYTEA
    if pa.types.is_date(t):
        return DATE
    if pa.types.is_time(t):
        return TIME
    if pa.types.is_timestamp(t):
        return TIMESTAMPTZ if t.tz else TIMESTAMP
    if pa.types.is_interval(t) or pa.types.is_duration(t):
        return INTERVAL
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        element = oid_of(t.value_type)
        return ARRAY_OF.get(element, JSON) if element != JSON else JSON
    if pa.types.is_nested(t) or pa.types.is_union(t):
        return JSON
    return TEXT  # strings, nulls, and anything else sent as text


_SQL_TYPES: dict[exp.DType, int] = {
    exp.DataType.Type.BOOLEAN: BOOL,
    exp.DataType.Type.TINYINT: INT2,
    exp.DataType.Type.UTINYINT: INT2,
    exp.DataType.Type.SMALLINT: INT2,
    exp.DataType.Type.USMALLINT: INT4,
    exp.DataType.Type.INT: INT4,
    exp.DataType.Type.UINT: INT8,
    exp.DataType.Type.BIGINT: INT8,
    exp.DataType.Type.UBIGINT: NUMERIC,
    exp.DataType.Type.INT128: NUMERIC,
    exp.DataType.Type.UINT128: NUMERIC,
    exp.DataType.Type.DECIMAL: NUMERIC,
    exp.DataType.Type.FLOAT: FLOAT4,
    exp.DataType.Type.DOUBLE: FLOAT8,
    exp.DataType.Type.VARCHAR: TEXT,
    exp.DataType.Type.CHAR: TEXT,
    exp.DataType.Type.TEXT: TEXT,
    exp.DataType.Type.BLOB: BYTEA,
    exp.DataType.Type.VARBINARY: BYTEA,
    exp.DataType.Type.DATE: DATE,
    exp.DataType.Type.TIME: TIME,
    exp.DataType.Type.TIMESTAMP: TIMESTAMP,
    exp.DataType.Type.TIMESTAMPNTZ: TIMESTAMP,  # DuckDB's TIMESTAMP, as sqlglot reads it
    exp.DataType.Type.TIMESTAMP_S: TIMESTAMP,
    exp.DataType.Type.TIMESTAMP_MS: TIMESTAMP,
    exp.DataType.Type.TIMESTAMP_NS: TIMESTAMP,
    exp.DataType.Type.TIMESTAMPLTZ: TIMESTAMPTZ,
    exp.DataType.Type.DATETIME: TIMESTAMP,
    exp.DataType.Type.TIMESTAMPTZ: TIMESTAMPTZ,
    exp.DataType.Type.INTERVAL: INTERVAL,
    exp.DataType.Type.UUID: UUID,
    exp.DataType.Type.JSON: JSON,
    exp.DataType.Type.JSONB: JSONB,
}


def oid_of_sql_type(data_type: exp.DataType) -> int:
    """The OID of a SQL type as sqlglot parsed it (a cast target, a DuckDB column type)."""
    if data_type.is_type(exp.DataType.Type.ARRAY, exp.DataType.Type.LIST):
        elements = data_type.expressions
        element = oid_of_sql_type(elements[0]) if elements else TEXT
        return ARRAY_OF.get(element, TEXT)
    return _SQL_TYPES.get(data_type.this, TEXT)


# sample values of a type: a statement with parameters is described by running it with these
# and LIMIT 0, so DuckDB types each parameter as the client will send it
SAMPLES: dict[int, Any] = {
    BOOL: True, INT2: 1, INT4: 1, INT8: 1, NUMERIC: Decimal(1), FLOAT4: 1.0, FLOAT8: 1.0,
    DATE: POSTGRES_EPOCH_DATE, TIME: dt.time(), TIMESTAMP: POSTGRES_EPOCH,
    TIMESTAMPTZ: _UTC_EPOCH, BYTEA: b"", INTERVAL: dt.timedelta(0),
}  # fmt: skip


def sample(oid: int) -> Any:
    if oid in ELEMENT_OF:
        return [sample(ELEMENT_OF[oid])]
    return SAMPLES.get(oid, "")


# text format ------------------------------------------------------------------------------------


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _float4_text(value: float) -> str:
    if not math.isfinite(value):
        return _float_text(value)
    text = str(np.float32(value))
    return text[:-2] if text.endswith(".0") else text


def _numeric_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return "NaN" if value.is_nan() else format(value, "f")
    return str(value)


def _timestamp_text(value: dt.datetime) -> str:
    return value.isoformat(sep=" ")


def _timestamptz_text(value: dt.datetime) -> str:
    """In the value's own zone (DuckDB gives the session's TimeZone), as PostgreSQL shows it:
    `2024-01-01 07:00:00-05`, `… +05:30`."""
    offset = value.utcoffset() if value.tzinfo is not None else None
    seconds = int(offset.total_seconds()) if offset is not None else 0
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    zone = f"{sign}{hours:02d}" + (f":{minutes:02d}" if minutes or seconds else "")
    zone += f":{seconds:02d}" if seconds else ""
    return value.replace(tzinfo=None).isoformat(sep=" ") + zone


def _interval_parts(value: Any) -> tuple[int, int, int]:
    """(months, days, microseconds) of an Arrow interval or a timedelta."""
    if isinstance(value, dt.timedelta):
        return 0, value.days, value.seconds * 1_000_000 + value.microseconds
    return value.months, value.days, value.nanoseconds // 1000


def _interval_text(value: Any) -> str:
    months, days, micros = _interval_parts(value)
    parts = []
    years, months = divmod(months, 12) if months >= 0 else (-((-months) // 12), -((-months) % 12))
    for amount, unit in ((years, "year"), (months, "mon"), (days, "day")):
        if amount:
            parts.append(f"{amount} {unit}{'' if abs(amount) == 1 else 's'}")
    if micros or not parts:
        sign = "-" if micros < 0 else ""
        seconds, fraction = divmod(abs(micros), 1_000_000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        clock = f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
        parts.append(clock + (f".{fraction:06d}".rstrip("0") if fraction else ""))
    return " ".join(parts)


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(_jsonable(value), default=str, separators=(", ", ": "))


def _jsonable(value: Any) -> Any:
    """Arrow maps arrive as lists of (key, value) pairs: make them objects."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        return {str(k): _jsonable(v) for k, v in value}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _array_item(value: Any, element: int) -> str:
    if value is None:
        return "NULL"
    text = TEXT_ENCODERS.get(element, str)(value)
    if text == "" or text.upper() == "NULL" or any(c in text for c in '{},"\\ \t\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _array_text(element: int) -> Callable[[Any], str]:
    return lambda values: "{" + ",".join(_array_item(v, element) for v in values) + "}"


def _bool_text(value: Any) -> str:
    if isinstance(value, str):
        return "t" if value.lower() in ("t", "true", "on", "1", "yes") else "f"
    return "t" if value else "f"


TEXT_ENCODERS: dict[int, Callable[[Any], str]] = {
    BOOL: _bool_text,
    BYTEA: lambda v: "\\x" + bytes(v).hex(),
    FLOAT4: _float4_text,
    FLOAT8: _float_text,
    NUMERIC: _numeric_text,
    DATE: lambda v: v.isoformat(),
    TIME: lambda v: v.isoformat(),
    TIMESTAMP: _timestamp_text,
    TIMESTAMPTZ: _timestamptz_text,
    INTERVAL: _interval_text,
    JSON: _json_text,
    JSONB: _json_text,
    INT2VECTOR: lambda v: " ".join(str(x) for x in v),
    OIDVECTOR: lambda v: " ".join(str(x) for x in v),
}
TEXT_ENCODERS.update({array: _array_text(element) for element, array in ARRAY_OF.items()})


# binary format ----------------------------------------------------------------------------------


def _numeric_binary(value: Any) -> bytes:
    """Postgres numeric: base-10000 digits with a weight, a sign and a display scale."""
    value = value if isinstance(value, Decimal) else Decimal(value)
    if value.is_nan():
        return struct.pack(">hhHH", 0, 0, 0xC000, 0)
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    scale = max(-exponent, 0)
    if exponent > 0:
        digits, exponent = digits + "0" * exponent, 0
    split = len(digits) + exponent
    integer, fraction = digits[: max(split, 0)], digits[max(split, 0) :]
    fraction = "0" * max(-split, 0) + fraction
    integer = integer.zfill((len(integer) + 3) // 4 * 4)
    fraction = fraction.ljust((len(fraction) + 3) // 4 * 4, "0")
    groups = [int(integer[i : i + 4]) for i in range(0, len(integer), 4)]
    weight = len(groups) - 1
    groups += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    header = struct.pack(">hhHH", len(groups), weight, 0x4000 if sign else 0, scale)
    return header + struct.pack(f">{len(groups)}H", *groups)


def _timestamp_binary(value: dt.datetime) -> bytes:
    if value.tzinfo is not None:
        return struct.pack(">q", (value - _UTC_EPOCH) // _MICROSECOND)
    return struct.pack(">q", (value - POSTGRES_EPOCH) // _MICROSECOND)


def _time_binary(value: dt.time) -> bytes:
    micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000
    return struct.pack(">q", micros + value.microsecond)


def _interval_binary(value: Any) -> bytes:
    months, days, micros = _interval_parts(value)
    return struct.pack(">qii", micros, days, months)


def _text_bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else str(value).encode()


def _array_binary(element: int) -> Callable[[Any], bytes]:
    encode = BINARY_ENCODERS.get(element, _text_bytes)

    def array(values: Any) -> bytes:
        values = list(values)
        has_null = any(v is None for v in values)
        parts = [struct.pack(">iiiii", 1, int(has_null), element, len(values), 1)]
        for value in values:
            if value is None:
                parts.append(b"\xff\xff\xff\xff")
            else:
                data = encode(value)
                parts.append(struct.pack(">i", len(data)) + data)
        return b"".join(parts) if values else struct.pack(">iii", 0, 0, element)

    return array


def _packer(fmt: str) -> Callable[[Any], bytes]:
    return struct.Struct(fmt).pack


BINARY_ENCODERS: dict[int, Callable[[Any], bytes]] = {
    BOOL: lambda v: b"\x01" if _bool_text(v) == "t" else b"\x00",
    BYTEA: bytes,
    CHAR: lambda v: _text_bytes(v)[:1],
    INT2: _packer(">h"),
    INT4: _packer(">i"),
    INT8: _packer(">q"),
    FLOAT4: lambda v: struct.pack(">f", float(v)),
    FLOAT8: lambda v: struct.pack(">d", float(v)),
    NUMERIC: _numeric_binary,
    DATE: lambda v: struct.pack(">i", (v - POSTGRES_EPOCH_DATE).days),
    TIME: _time_binary,
    TIMESTAMP: _timestamp_binary,
    TIMESTAMPTZ: _timestamp_binary,
    INTERVAL: _interval_binary,
    UUID: lambda v: v.bytes if isinstance(v, uuid.UUID) else uuid.UUID(str(v)).bytes,
    JSON: lambda v: _json_text(v).encode(),
    JSONB: lambda v: b"\x01" + _json_text(v).encode(),
}
BINARY_ENCODERS.update({oid: _packer(">I") for oid in _OID_LIKE})
BINARY_ENCODERS.update({array: _array_binary(element) for element, array in ARRAY_OF.items()})
BINARY_ENCODERS.update({INT2VECTOR: _array_binary(INT2), OIDVECTOR: _array_binary(OID)})


def encoder(oid: int, binary: bool) -> Callable[[Any], bytes]:
    """value → the bytes of one field (never called with None: NULL is a length of -1)."""
    if binary:
        return BINARY_ENCODERS.get(oid, _text_bytes)
    text = TEXT_ENCODERS.get(oid)
    return (lambda v: text(v).encode()) if text else _text_bytes


def encode_column(values: list[Any], oid: int, binary: bool) -> list[bytes | None]:
    """The field bytes of every value of a column; None for NULL."""
    encode = encoder(oid, binary)
    return [None if v is None else encode(v) for v in values]


# parameters: bytes from the client → Python values ---------------------------------------------


def _parse_bool(text: str) -> bool:
    return text.strip().lower() in ("t", "true", "y", "yes", "on", "1")


TEXT_DECODERS: dict[int, Callable[[str], Any]] = {
    BOOL: _parse_bool,
    INT2: int,
    INT4: int,
    INT8: int,
    OID: int,
    FLOAT4: float,
    FLOAT8: float,
    NUMERIC: Decimal,
    DATE: lambda t: dt.date.fromisoformat(t.strip()),
    TIME: lambda t: dt.time.fromisoformat(t.strip()),
    TIMESTAMP: lambda t: dt.datetime.fromisoformat(t.strip()),
    TIMESTAMPTZ: lambda t: dt.datetime.fromisoformat(t.strip()),
    BYTEA: lambda t: bytes.fromhex(t[2:]) if t.startswith("\\x") else t.encode(),
}  # anything else (interval, uuid, json, text) is passed as text: DuckDB casts it


def _decode_numeric(data: bytes) -> Decimal:
    count, weight, sign, scale = struct.unpack_from(">hhHH", data)
    if sign == 0xC000:
        return Decimal("NaN")
    groups = struct.unpack_from(f">{count}H", data, 8)
    digits = "".join(f"{group:04d}" for group in groups) or "0"
    with localcontext() as context:
        context.prec = len(digits) + scale + 4 * abs(weight) + 8
        value = Decimal(digits).scaleb(4 * (weight + 1 - len(groups)) if groups else 0)
        value = -value if sign == 0x4000 else value
        return value.quantize(Decimal(1).scaleb(-scale))


def _decode_array_binary(data: bytes) -> list[Any]:
    dims, _, element = struct.unpack_from(">iiI", data)
    if dims == 0:
        return []
    if dims != 1:
        raise ValueError("only one-dimensional array parameters are supported")
    length, _ = struct.unpack_from(">ii", data, 12)
    values: list[Any] = []
    offset = 20
    for _ in range(length):
        (size,) = struct.unpack_from(">i", data, offset)
        offset += 4
        if size < 0:
            values.append(None)
            continue
        values.append(decode_binary(data[offset : offset + size], element))
        offset += size
    return values


BINARY_DECODERS: dict[int, Callable[[bytes], Any]] = {
    BOOL: lambda b: b != b"\x00",
    BYTEA: bytes,
    INT2: lambda b: struct.unpack(">h", b)[0],
    INT4: lambda b: struct.unpack(">i", b)[0],
    INT8: lambda b: struct.unpack(">q", b)[0],
    FLOAT4: lambda b: struct.unpack(">f", b)[0],
    FLOAT8: lambda b: struct.unpack(">d", b)[0],
    NUMERIC: _decode_numeric,
    DATE: lambda b: POSTGRES_EPOCH_DATE + dt.timedelta(days=struct.unpack(">i", b)[0]),
    TIME: lambda b: (POSTGRES_EPOCH + dt.timedelta(microseconds=struct.unpack(">q", b)[0])).time(),
    TIMESTAMP: lambda b: POSTGRES_EPOCH + dt.timedelta(microseconds=struct.unpack(">q", b)[0]),
    TIMESTAMPTZ: lambda b: _UTC_EPOCH + dt.timedelta(microseconds=struct.unpack(">q", b)[0]),
    UUID: lambda b: str(uuid.UUID(bytes=b)),
    JSONB: lambda b: b[1:].decode(),
    INTERVAL: lambda b: _interval_from_binary(*struct.unpack(">qii", b)),
}
BINARY_DECODERS.update({oid: lambda b: struct.unpack(">I", b)[0] for oid in _OID_LIKE})
BINARY_DECODERS.update({array: _decode_array_binary for array in ELEMENT_OF})


def _interval_from_binary(micros: int, days: int, months: int) -> str:
    return f"{months} months {days} days {micros} microseconds"


def _decode_array_text(text: str, element: int) -> list[Any]:
    """A one-dimensional array literal such as {1,2,NULL} or {"a b",c}."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError(f"malformed array literal: {text!r}")
    items: list[Any] = []
    i, body = 0, body[1:-1]
    while i < len(body):
        if body[i] == '"':
            j, chars = i + 1, []
            while body[j] != '"':
                if body[j] == "\\":
                    j += 1
                chars.append(body[j])
                j += 1
            items.append(decode_text("".join(chars), element))
            i = j + 2
        else:
            j = body.find(",", i)
            j = len(body) if j < 0 else j
            raw = body[i:j].strip()
            items.append(None if raw.upper() == "NULL" else decode_text(raw, element))
            i = j + 1
    return items


def decode_text(text: str, oid: int) -> Any:
    if oid in ELEMENT_OF:
        return _decode_array_text(text, ELEMENT_OF[oid])
    return TEXT_DECODERS.get(oid, str)(text)


def decode_binary(data: bytes, oid: int) -> Any:
    decode = BINARY_DECODERS.get(oid)
    return decode(data) if decode else data.decode()


def decode_parameter(data: bytes | None, oid: int, binary: bool) -> Any:
    """One Bind parameter as a Python value DuckDB can bind; raises ValueError when bad."""
    if data is None:
        return None
    try:
        return decode_binary(data, oid) if binary else decode_text(data.decode(), oid)
    except (struct.error, UnicodeDecodeError, ArithmeticError, IndexError) as exc:
        raise ValueError(f"invalid value for a parameter of type OID {oid}: {exc}") from None
