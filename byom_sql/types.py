"""Types, in one place: the dtype_dict vocabulary (MindsDB's names plus SQL spellings), what
each means for Arrow, and Arrow types as DuckDB names them.

A dtype maps to an Arrow type when values must be coerced (features before they are sent, targets
after they come back); `None` means "keep what the data or the model gives" (labels such as
categorical, whose representation is the model's business).
"""

from __future__ import annotations

from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from byom_sql.errors import DataError, NumericValueOutOfRange

Column: TypeAlias = "pa.Array[Any] | pa.ChunkedArray[Any]"

ARROW_TYPES: dict[str, pa.DataType | None] = {
    "integer": pa.int64(),
    "float": pa.float64(),
    "quantity": pa.float64(),
    "binary": None,
    "categorical": None,
    "tags": pa.string(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "text": pa.string(),
    "short_text": pa.string(),
    "rich_text": pa.string(),
    "boolean": pa.bool_(),
    "num_array": pa.list_(pa.float64()),
    "cat_array": pa.list_(pa.string()),
}

ALIASES: dict[str, str] = {
    "int": "integer",
    "bigint": "integer",
    "long": "integer",
    "double": "float",
    "number": "float",
    "numeric": "float",
    "real": "float",
    "string": "text",
    "str": "text",
    "varchar": "text",
    "bool": "boolean",
    "timestamp": "datetime",
    "category": "categorical",
}


def known_dtypes() -> list[str]:
    return sorted(ARROW_TYPES)


def normalize_dtype(name: str) -> str | None:
    """Canonical dtype name, or None if unknown."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in ARROW_TYPES else None


def coerce(column: Column, dtype: str, *, what: str) -> Column:
    """Cast a column to its declared dtype; `what` names it in the error ("feature x of byom")."""
    target = ARROW_TYPES[dtype]
    if target is None or column.type == target:
        return column
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        if pa.types.is_integer(target) or pa.types.is_floating(target):
            column = pc.utf8_trim_whitespace(column)
    try:
        return pc.cast(column, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        bad = _first_bad_value(column, target)
        shown = f"value {bad!r}" if bad is not None else "a value"
        if "not in range" in str(exc) or "overflow" in str(exc).lower():
            raise NumericValueOutOfRange(
                f"{what} is declared {dtype}, but {shown} is out of its range",
                hint="fix the data, or change dtype_dict",
            ) from exc
        raise DataError(
            f"{what} is declared {dtype}, but {shown} cannot be converted to it",
            hint="fix the data, cast it in the query, or change dtype_dict",
        ) from exc


def _first_bad_value(column: Column, target: pa.DataType) -> object:
    for value in column.to_pylist():
        if value is None:
            continue
        try:
            pc.cast(pa.array([value]), target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return value
    return None


_DUCKDB_NAMES = {
    pa.bool_(): "BOOLEAN",
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
    pa.float16(): "FLOAT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.string_view(): "VARCHAR",
    pa.binary(): "BLOB",
    pa.large_binary(): "BLOB",
    pa.date32(): "DATE",
    pa.null(): "NULL",
}


def duckdb_type(t: pa.DataType) -> str:
    """The DuckDB name of an Arrow type, as DuckDB would call a column of it."""
    if t in _DUCKDB_NAMES:
        return _DUCKDB_NAMES[t]
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP WITH TIME ZONE" if t.tz else "TIMESTAMP"
    if pa.types.is_time(t):
        return "TIME"
    if pa.types.is_duration(t) or pa.types.is_interval(t):
        return "INTERVAL"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return f"{duckdb_type(t.value_type)}[]"
    if pa.types.is_struct(t):
        return "STRUCT(" + ", ".join(f"{f.name} {duckdb_type(f.type)}" for f in t) + ")"
    if pa.types.is_map(t):
        return f"MAP({duckdb_type(t.key_type)}, {duckdb_type(t.item_type)})"
    if pa.types.is_dictionary(t):
        return duckdb_type(t.value_type)
    return str(t).upper()


def is_scalar(t: pa.DataType) -> bool:
    """Whether a value of `t` is written as one SQL literal (a number, a string, a date…)."""
    return (
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_float32(t)
        or pa.types.is_float64(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_date32(t)
        or (pa.types.is_timestamp(t) and t.tz is None and t.unit != "ns")
    )


def sql_type(dtype: str | None) -> str | None:
    """The DuckDB type of a dtype_dict type; None when the dtype keeps what the model gives."""
    arrow = ARROW_TYPES.get(dtype or "")
    return duckdb_type(arrow) if arrow is not None else None


TENSOR_TYPES: dict[str, pa.DataType] = {
    "BOOL": pa.bool_(),
    "INT8": pa.int8(),
    "INT16": pa.int16(),
    "INT32": pa.int32(),
    "INT64": pa.int64(),
    "UINT8": pa.uint8(),
    "UINT16": pa.uint16(),
    "UINT32": pa.uint32(),
    "UINT64": pa.uint64(),
    "FP16": pa.float16(),
    "FP32": pa.float32(),
    "FP64": pa.float64(),
    "BYTES": pa.string(),
}
"""The Open Inference Protocol's tensor datatypes, as Arrow holds their values."""


def tensor_dtype(datatype: str) -> str:
    """The dtype_dict type of a tensor datatype."""
    kind = TENSOR_TYPES[datatype]
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "integer"
    return "float" if pa.types.is_floating(kind) else "text"


def tensor_datatype(kind: pa.DataType) -> str:
    """The tensor datatype that carries values of an Arrow type (text for what has none)."""
    for datatype, arrow in TENSOR_TYPES.items():
        if arrow == kind:
            return datatype
    return "BYTES"
