"""The dtype_dict vocabulary (MindsDB's names plus SQL spellings) and what each means for Arrow.

A dtype maps to an Arrow type when values must be coerced (features before they are sent, targets
after they come back); `None` means "keep what the data or the model gives" (labels such as
categorical, whose representation is the model's business).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from byom_sql.errors import DataError

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


def coerce(column: pa.ChunkedArray | pa.Array, dtype: str, *, what: str) -> pa.Array:
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
        raise DataError(
            f"{what} is declared {dtype}, but {shown} cannot be converted to it",
            hint="fix the data, cast it in the query, or change dtype_dict",
        ) from exc


def _first_bad_value(column: pa.Array | pa.ChunkedArray, target: pa.DataType) -> object:
    for value in column.to_pylist():
        if value is None:
            continue
        try:
            pc.cast(pa.array([value]), target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return value
    return None
