"""What every JSON model format shares: Arrow → JSON bodies without Python row loops where the
layout allows, reply checks, and turning a reply's predictions into named columns."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from concurrent.futures import Future
from decimal import Decimal
from typing import Any, TypeAlias

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from byom_sql.catalog import Predictor
from byom_sql.errors import ModelProtocolError
from byom_sql.models.transport import Policy, Reply, Request, Transport
from byom_sql.types import Column

JSON = "application/json"
# MindsDB's names for the extra per-row outputs of a model
EXTRA_NAMES = {"lower": "min", "upper": "max"}
TARGET_KEYS = ("prediction", "predictions")
Outputs: TypeAlias = "dict[str, list[Any] | pa.Array[Any]]"
"""A batch's outputs by column name: Python values, or Arrow arrays decoded without them."""


class HttpAdapter:
    """What the HTTP formats share: encode a batch, hand it to the transport."""

    def __init__(self, predictor: Predictor, transport: Transport):
        self.predictor = predictor
        self.transport = transport
        self.url: str = predictor.options["url.predict"]
        self.where = f"predictor {predictor.name} ({self.url})"

    def predict_request(self, table: pa.Table) -> Request:
        raise NotImplementedError

    def prepare(self, batch: pa.Table) -> Request:
        return self.predict_request(batch)

    def send(self, prepared: Request, policy: Policy) -> Future[Reply]:
        return self.transport.submit(prepared, policy)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot send a {type(value).__name__} to a model as JSON")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)


def column_values(column: Column) -> np.ndarray[Any, Any] | list[Any]:
    """A column ready for orjson: a numpy array (serialised in C) when numeric without nulls."""
    kind = column.type
    if column.null_count == 0 and (
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
    ):
        array: np.ndarray[Any, Any] = column.to_numpy()
        return array
    values: list[Any] = column.to_pylist()
    return values


def columns_json(table: pa.Table) -> bytes:
    """`{"a": [..], "b": [..]}`: the cheapest layout to produce."""
    return dumps({name: column_values(table.column(name)) for name in table.column_names})


def records_json(table: pa.Table) -> bytes:
    """`[{"a": .., "b": ..}, ..]`: what pandas' `to_json(orient="records")` gives."""
    return _numeric_records_json(table) or dumps(table.to_pylist())


def _numeric_records_json(table: pa.Table) -> bytes | None:
    """Records built by Arrow's string kernels, without a Python object per value, when every
    column is a finite number or a boolean without nulls; None otherwise."""
    if table.num_rows < 256 or table.num_columns == 0:  # for a few rows the kernels cost more
        return None
    parts: list[Any] = []
    for index, name in enumerate(table.column_names):
        column = table.column(name)
        kind = column.type
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        if column.null_count or not (numeric or pa.types.is_boolean(kind)):
            return None
        if pa.types.is_floating(kind) and not pc.all(pc.is_finite(column)).as_py():
            return None
        text = pc.cast(column, pa.string())
        if pa.types.is_floating(kind):  # Arrow writes 1.0 as "1": keep it a float in JSON
            text = pc.if_else(
                pc.match_substring_regex(text, "[.e]"),
                text,
                pc.binary_join_element_wise(text, ".0", ""),
            )
        parts += [("{" if index == 0 else ",") + orjson.dumps(name).decode() + ":", text]
    rows = pc.binary_join_element_wise(*parts, "},", "")
    rows = rows.combine_chunks() if isinstance(rows, pa.ChunkedArray) else rows
    offsets_buffer, data_buffer = rows.buffers()[1:3]  # a string array has both
    assert offsets_buffer is not None and data_buffer is not None
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4
    )
    data: bytes = data_buffer.to_pybytes()[offsets[0] : offsets[-1] - 1]  # no trailing comma
    return b"[" + data + b"]"


def rows(table: pa.Table) -> np.ndarray | list[tuple[Any, ...]]:
    """The rows as a list of lists for JSON: a 2-D numpy array (serialised in C) when every
    column is numeric without nulls and of one type, else tuples."""
    values = [column_values(table.column(n)) for n in table.column_names]
    if values and all(isinstance(v, np.ndarray) for v in values):
        if len({v.dtype for v in values}) == 1:  # type: ignore[union-attr]
            return np.column_stack(values)
    listed = [v.tolist() if isinstance(v, np.ndarray) else v for v in values]
    return list(zip(*listed, strict=True))


def parse_reply(reply: Reply, label: str) -> Any:
    """The JSON of a successful reply, or an error naming the endpoint and what it said."""
    if not 200 <= reply.status < 300:
        reason = f"HTTP {reply.status}: {error_text(reply)}"
        error = ModelProtocolError(f"{label}: {reply.url} answered {reason}")
        error.reason = reason
        raise error
    try:
        return loads(reply.body)
    except ValueError:
        raise ModelProtocolError(
            f"{label}: {reply.url} answered HTTP {reply.status} with a body that is not JSON "
            f"({reply.content_type or 'no content type'}): {_snippet(reply.body)}"
        ) from None


def loads(body: bytes) -> Any:
    """JSON, fast; bare NaN tokens too (MLflow writes them, orjson refuses them)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def error_text(reply: Reply) -> str:
    """The endpoint's own words: a JSON message/detail/error field, else the trimmed text."""
    try:
        value = json.loads(reply.body)
    except ValueError:
        return _snippet(reply.body)
    if isinstance(value, list) and len(value) == 1:  # BentoML: [{"error": …}]
        value = value[0]
    if isinstance(value, dict):
        for key in ("message", "detail", "error", "error_message"):
            if value.get(key):
                return _snippet(str(value[key]).encode())
    return _snippet(reply.body)


def _snippet(body: bytes, limit: int = 400) -> str:
    """The text, its middle cut when long: servers put the cause last (MLflow: "Failed to
    predict data '<the rows>' … Error: Model is missing inputs ['x']")."""
    text = body.decode("utf-8", "replace")
    text = re.sub(r"<[^>]+>", " ", text) if "<" in text else text
    text = " ".join(text.split())
    if len(text) <= limit:
        return text or "(empty body)"
    head = limit * 2 // 5
    return f"{text[:head]} … {text[head - limit :]}"


def prediction_columns(value: Any, targets: Sequence[str], rows: int, where: str) -> Outputs:
    """Columns named after the targets (and `<target>_<key>` for extra outputs) from any of
    the shapes models answer with: a list of scalars, of lists, of dicts, or a dict of lists.
    `where` names the predictor and URL in errors."""
    if isinstance(value, dict):
        return _from_mapping(value, targets, rows, where)
    if not isinstance(value, list):
        raise ModelProtocolError(f"{where}: expected a list of predictions, got {_kind(value)}")
    _check_count(len(value), rows, where)
    first = next((v for v in value if v is not None), None)
    if isinstance(first, dict):
        keys = list(dict.fromkeys(k for row in value if isinstance(row, dict) for k in row))
        mapping = {
            k: [row.get(k) if isinstance(row, dict) else None for row in value] for k in keys
        }
        return _from_mapping(mapping, targets, rows, where)
    if isinstance(first, list) and len(targets) > 1:
        if any(not isinstance(row, list) or len(row) != len(targets) for row in value):
            raise ModelProtocolError(
                f"{where}: each prediction should hold {len(targets)} values ({', '.join(targets)})"
            )
        return {t: [row[i] for row in value] for i, t in enumerate(targets)}
    if len(targets) > 1:
        raise ModelProtocolError(
            f"{where}: the model returned one value per row but predicts {', '.join(targets)}"
        )
    return {targets[0]: value}


def _from_mapping(
    mapping: dict[str, Any], targets: Sequence[str], rows: int, where: str
) -> Outputs:
    lists = {k: v for k, v in mapping.items() if isinstance(v, list)}
    for key, values in lists.items():
        if len(values) != rows:
            raise ModelProtocolError(
                f"{where}: returned {len(values)} values of {key!r} for {rows} rows"
            )
    out: Outputs = {}
    for key, name in output_names(list(lists), targets, where, list(mapping)).items():
        if name in targets:
            out.update(prediction_columns(lists[key], [name], rows, where))
        else:
            out[name] = lists[key]
    return out


def output_names(
    keys: list[str], targets: Sequence[str], where: str, shown: list[str] | None = None
) -> dict[str, str]:
    """The column each of a reply's outputs becomes: a target of the same name; for a single
    target without one, `prediction(s)` or else the first output; the rest are extra outputs
    named `<target>_<key>`. `shown`: the keys to list when a target has no output."""
    by_lower = {k.lower(): k for k in keys}
    found = {t: by_lower[t.lower()] for t in targets if t.lower() in by_lower}
    missing = [t for t in targets if t not in found]
    if missing and len(targets) == 1 and keys:
        found[targets[0]] = next((by_lower[k] for k in TARGET_KEYS if k in by_lower), keys[0])
        missing = []
    if missing:
        raise ModelProtocolError(
            f"{where}: the reply has no values for {', '.join(missing)} "
            f"(keys: {', '.join(keys if shown is None else shown) or 'none'})"
        )
    names = {key: target for target, key in found.items()}
    return {key: names.get(key) or _extra_name(targets, key) for key in keys}


def _extra_name(targets: Sequence[str], key: str) -> str:
    """`<target>_<key>` for an extra output (`confidence` → `number_of_rooms_confidence`); a key
    already named for a target (`number_of_rooms_confidence`) keeps its name."""
    if any(key.lower().startswith(f"{t.lower()}_") for t in targets):
        return key
    return f"{targets[0]}_{EXTRA_NAMES.get(key.lower(), key)}"


def _check_count(count: int, rows: int, where: str) -> None:
    if count != rows:
        raise ModelProtocolError(
            f"{where}: returned {count} predictions for {rows} input rows",
            hint="every input row needs exactly one prediction, in order",
        )


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def to_arrow(values: list[Any] | pa.Array[Any], name: str, where: str) -> pa.Array[Any]:
    if isinstance(values, pa.Array):
        return values
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    try:  # mixed kinds (1 and "a"): keep them, as text
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ModelProtocolError(f"{where}: cannot read the values of {name!r}: {exc}") from None
