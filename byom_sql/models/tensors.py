"""The Open Inference Protocol (KServe v2), which MLServer, Triton and KServe speak.

POST …/v2/models/NAME[/versions/V]/infer
  {"inputs": [{"name", "datatype", "shape", "data"}], "parameters": {…}}
  → {"outputs": [{"name", "datatype", "shape", "data"}]}

A table goes as one tensor per feature (`input_layout = 'columns'`, which MLServer's pandas codec
reads as a frame) or as one 2-D tensor of every feature (`'tensor'`, what a scikit-learn or ONNX
model takes). With the binary tensor extension (`binary = true`) numeric tensors travel as raw
little-endian bytes after the JSON head, whose length the Inference-Header-Content-Length header
gives, and outputs come back the same way: Arrow buffers are written and read as they are, with
no Python value per row. GET /v2/models/NAME (the model's metadata) names the tensors; CREATE
PREDICTOR reads it once (`discovered`), and queries use what was stored.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from byom_sql import types
from byom_sql.catalog import Predictor
from byom_sql.errors import DataError, InvalidOption, ModelProtocolError
from byom_sql.models import codec
from byom_sql.models.transport import Reply, Request, Transport
from byom_sql.options import OIP_ROUTE, check_option
from byom_sql.types import TENSOR_TYPES, Column

Tensor = dict[str, Any]
"""{"name": …, "datatype": "FP64", "shape": [-1, 3]}, as the model's metadata gives it."""
BINARY_SERVERS = ("triton", "kserve")
"""Servers that read binary tensors whether or not their metadata lists the extension."""


def model_url(predict_url: str) -> str | None:
    """GET here gives the model's metadata; None when the URL is not an infer route."""
    parts = urlsplit(predict_url)
    found = OIP_ROUTE.fullmatch(parts.path)
    return urlunsplit((parts.scheme, parts.netloc, found["model"], "", "")) if found else None


def server_url(predict_url: str) -> str:
    """GET here gives the server's metadata (its name and extensions)."""
    parts = urlsplit(predict_url)
    path = parts.path[: parts.path.rindex("/v2/models/") + 3]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class OpenInference(codec.HttpAdapter):
    def __init__(self, predictor: Predictor, transport: Transport, headers: dict[str, str]):
        super().__init__(predictor, transport)
        options = predictor.options
        self.tensors: dict[str, list[Tensor]] = options.get("tensors") or {}
        inputs = self.tensors.get("inputs") or []
        self.layout: str = options.get("input_layout") or layout_of(inputs, predictor.features())
        self.binary: bool = options.get("binary", False)
        self.headers = {"Accept-Encoding": "identity", **headers}  # MLServer gzips otherwise

    def predict_request(self, table: pa.Table) -> Request:
        body, content_type = encode(
            table, self.tensors.get("inputs") or [], self.layout, self.binary, self.where
        )
        headers = {**self.headers, **content_type}
        return Request("POST", self.url, body, headers)

    def predictions(self, reply: Reply, rows: int) -> codec.Outputs:
        return decode(reply, rows, self.predictor.targets, self.where)


def layout_of(inputs: list[Tensor], features: list[str] | None) -> str:
    """'tensor' when the model takes one 2-D tensor of several values per row, else 'columns'."""
    if len(inputs) != 1:
        return "columns"
    shape = inputs[0].get("shape") or []
    several = len(shape) == 2 and shape[1] != 1
    if several or (len(features or []) > 1 and inputs[0]["name"] not in (features or [])):
        return "tensor"
    return "columns"


def encode(
    table: pa.Table, inputs: list[Tensor], layout: str, binary: bool, where: str
) -> tuple[bytes, dict[str, str]]:
    """The infer request's body and its content headers."""
    rows = table.num_rows
    tensors: list[tuple[Tensor, Any]] = []
    if layout == "tensor":
        spec = inputs[0] if inputs else None
        datatype = spec["datatype"] if spec else _common_datatype(table)
        name = spec["name"] if spec else "input-0"
        arrays = [_values(table.column(n), n, datatype, where) for n in table.column_names]
        if datatype == "BYTES":  # lists of strings, row by row
            values: Any = [value for row in zip(*arrays, strict=True) for value in row]
        else:
            values = np.column_stack(arrays).ravel() if arrays else np.empty(0)
        shape = [rows, table.num_columns]
        tensors.append(({"name": name, "datatype": datatype, "shape": shape}, values))
    else:
        by_name = {t["name"].lower(): t for t in inputs}
        for name in table.column_names:
            column = table.column(name)
            spec = by_name.get(name.lower())
            datatype = spec["datatype"] if spec else types.tensor_datatype(column.type)
            shape = [rows, 1] if spec and len(spec.get("shape") or []) == 2 else [rows]
            tensor = {"name": spec["name"] if spec else name, "datatype": datatype, "shape": shape}
            tensors.append((tensor, _values(column, name, datatype, where)))
    parameters: dict[str, Any] = {"content_type": "pd"} if layout == "columns" else {}
    buffers: list[bytes] = []
    heads: list[dict[str, Any]] = []
    for tensor, values in tensors:
        if binary and tensor["datatype"] != "BYTES":
            raw = np.ascontiguousarray(values).tobytes()
            heads.append({**tensor, "parameters": {"binary_data_size": len(raw)}})
            buffers.append(raw)
        else:
            heads.append({**tensor, "data": values})
    if binary:
        parameters["binary_data_output"] = True
    head = codec.dumps({"inputs": heads, "parameters": parameters})
    if not binary:
        return head, {"Content-Type": codec.JSON}
    return b"".join([head, *buffers]), {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(head)),
    }


def _common_datatype(table: pa.Table) -> str:
    kinds = {types.tensor_datatype(t) for t in table.schema.types}
    if len(kinds) == 1:
        return kinds.pop()
    return "FP64" if "BYTES" not in kinds else "BYTES"


def _values(column: Column, name: str, datatype: str, where: str) -> Any:
    """A column as the tensor's values: a numpy array of its type (little-endian), or a list of
    strings for BYTES."""
    kind = TENSOR_TYPES[datatype]
    if column.null_count and not pa.types.is_floating(kind):
        raise DataError(
            f"{where}: input {name!r} is NULL in {column.null_count} row(s), and a "
            f"{datatype} tensor cannot hold NULL",
            hint=f"filter those rows or COALESCE({name}, …) in the query",
        )
    try:
        cast = pc.cast(column, kind)
        if cast.null_count:  # NaN: missing
            cast = pc.fill_null(cast, pa.scalar(math.nan, kind))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(
            f"{where}: input {name!r} cannot be sent as a {datatype} tensor: {exc}",
            hint="cast the column in the query, or fix dtype_dict",
        ) from None
    if datatype == "BYTES":
        return cast.to_pylist()
    array: np.ndarray[Any, Any] = cast.to_numpy()
    return array.astype(array.dtype.newbyteorder("<"), copy=False)


def decode(reply: Reply, rows: int, targets: list[str], where: str) -> codec.Outputs:
    """Columns from the reply's output tensors: a target from the output of its name (or the
    only one), the others as `<target>_<output>`; an output of shape [rows, k] with k == the
    number of targets (and no other output) gives one target per column, else a list column."""
    if not 200 <= reply.status < 300:
        codec.parse_reply(reply, where)  # raises with the server's own message
    head, data = reply.body, b""
    if reply.json_length is not None:
        head, data = reply.body[: reply.json_length], reply.body[reply.json_length :]
    try:
        value = codec.loads(head)
    except ValueError:
        raise ModelProtocolError(
            f"{where}: {reply.url} answered with a body that is not JSON: {codec.error_text(reply)}"
        ) from None
    outputs = value.get("outputs") if isinstance(value, dict) else None
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise ModelProtocolError(
            f"{where}: the reply should be an object with an 'outputs' list of tensors, got "
            f"{codec.error_text(reply)}"
        )
    arrays: dict[str, pa.Array[Any]] = {}
    widths: dict[str, int] = {}
    offset = 0
    for output in outputs:
        name = output["name"]
        flat, offset = _flat(output, data, offset, where)
        width = _width(output, len(flat), rows, where)
        arrays[name], widths[name] = flat, width
    if len(arrays) == 1 and len(targets) > 1:
        ((name, flat),) = arrays.items()
        if widths[name] != len(targets):
            raise ModelProtocolError(
                f"{where}: output {name!r} has {widths[name]} values per row, but the "
                f"predictor predicts {len(targets)} ({', '.join(targets)})"
            )
        return {t: _column(flat, i, len(targets)) for i, t in enumerate(targets)}
    out: codec.Outputs = {}
    for name, column in codec.output_names(list(arrays), targets, where).items():
        width = widths[name]
        flat = arrays[name]
        if width == 1:
            out[column] = flat
        else:
            out[column] = pa.FixedSizeListArray.from_arrays(flat, width).cast(pa.list_(flat.type))
    return out


def _column(flat: pa.Array[Any], index: int, width: int) -> pa.Array[Any]:
    picked: pa.Array[Any] = pc.take(flat, pa.array(np.arange(index, len(flat), width)))
    return picked


def _flat(
    output: dict[str, Any], data: bytes, offset: int, where: str
) -> tuple[pa.Array[Any], int]:
    """An output tensor's values, flattened, and where the next binary one starts."""
    name, datatype = output["name"], str(output.get("datatype", "")).upper()
    if datatype not in TENSOR_TYPES:
        raise ModelProtocolError(f"{where}: output {name!r} has unknown datatype {datatype!r}")
    kind = TENSOR_TYPES[datatype]
    size = (output.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        raw = memoryview(data)[offset : offset + int(size)]
        if len(raw) != int(size):
            raise ModelProtocolError(f"{where}: the reply ends inside output {name!r}")
        offset += int(size)
        if datatype == "BYTES":
            return pa.array(_strings(raw, name, where), pa.string()), offset
        dtype = np.dtype(kind.to_pandas_dtype()).newbyteorder("<")
        if len(raw) % dtype.itemsize:
            raise ModelProtocolError(
                f"{where}: output {name!r} has {len(raw)} bytes, not a whole number of "
                f"{datatype} values"
            )
        return _readable(pa.array(np.frombuffer(raw, dtype=dtype))), offset
    values = output.get("data")
    if not isinstance(values, list):
        raise ModelProtocolError(f"{where}: output {name!r} has no data")
    if datatype == "BYTES":
        flat = np.ravel(np.array(values, dtype=object)).tolist()
        return pa.array([v if v is None else str(v) for v in flat], pa.string()), offset
    try:
        array = np.ravel(np.asarray(values, dtype=kind.to_pandas_dtype()))
    except (TypeError, ValueError):
        shown = orjson.dumps(values[:5], default=str).decode()[:200]
        raise ModelProtocolError(
            f"{where}: output {name!r} does not hold {datatype} values: {shown}"
        ) from None
    return _readable(pa.array(array)), offset


def _readable(array: pa.Array[Any]) -> pa.Array[Any]:
    """Half floats as single ones: DuckDB reads no FP16."""
    return array.cast(pa.float32()) if pa.types.is_float16(array.type) else array


def _strings(raw: memoryview, name: str, where: str) -> list[str]:
    """BYTES in the binary extension: each element a 4-byte little-endian length, then it."""
    out: list[str] = []
    at = 0
    while at + 4 <= len(raw):
        length = int.from_bytes(raw[at : at + 4], "little")
        out.append(bytes(raw[at + 4 : at + 4 + length]).decode("utf-8", "replace"))
        at += 4 + length
    if at != len(raw):
        raise ModelProtocolError(f"{where}: output {name!r} ends inside an element")
    return out


def _width(output: dict[str, Any], count: int, rows: int, where: str) -> int:
    """Values per row of an output; its first dimension must be the number of rows."""
    shape = output.get("shape")
    first = shape[0] if isinstance(shape, list) and shape else count
    if first != rows or (rows and count % rows):
        raise ModelProtocolError(
            f"{where}: returned {first} predictions in {output['name']!r} for {rows} input rows",
            hint="every input row needs exactly one prediction, in order",
        )
    return count // rows if rows else 1


def discovered(
    options: dict[str, Any],
    targets: list[str],
    model: dict[str, Any],
    server: dict[str, Any] | None,
) -> dict[str, Any]:
    """The options CREATE PREDICTOR stores from the model's metadata (GET /v2/models/NAME)
    and the server's (GET /v2): the tensors, the layout, dtype_dict when not given (checked
    against it when given), and whether to send binary tensors."""
    tensors = {
        side: [t for t in model.get(side) or [] if isinstance(t, dict)]
        for side in ("inputs", "outputs")
    }
    unknown = sorted(
        {str(t.get("datatype")) for ts in tensors.values() for t in ts} - set(TENSOR_TYPES)
    )
    if unknown:
        raise ModelProtocolError(
            f"model {model.get('name', '')!r}: its metadata has tensors of datatype "
            f"{', '.join(unknown)}, which byom_sql cannot send or read",
            hint=f"datatypes read: {', '.join(TENSOR_TYPES)}",
        )
    try:
        _, tensors = check_option("tensors", tensors)
    except InvalidOption:
        raise ModelProtocolError(
            f"model {model.get('name', '')!r}: its metadata does not describe tensors as "
            "the Open Inference Protocol does (name, datatype, shape of integers)"
        ) from None
    inputs, outputs = tensors["inputs"], tensors["outputs"]
    dtypes: dict[str, str] = options.get("dtype_dict") or {}
    lower_targets = {t.lower() for t in targets}
    features = [c for c in dtypes if c.lower() not in lower_targets]
    layout = options.get("input_layout") or layout_of(inputs, features or None)
    found: dict[str, Any] = {"tensors": tensors, "input_layout": layout}
    if "binary" not in options:
        extensions = (server or {}).get("extensions") or []
        found["binary"] = "binary_tensor_data" in extensions or (
            str((server or {}).get("name", "")).lower() in BINARY_SERVERS
        )
    if layout == "tensor":
        _check_tensor(inputs, features, model)
    elif features and inputs:
        _check_columns(inputs, dtypes, features)
    if not dtypes and inputs:
        found["dtype_dict"] = _dtype_dict(inputs, outputs, targets)
    return found


def _check_tensor(inputs: list[Tensor], features: list[str], model: dict[str, Any]) -> None:
    spec = inputs[0] if inputs else None
    width = spec["shape"][1] if spec and len(spec["shape"]) == 2 else -1
    shown = f"{spec['name']} {spec['datatype']} {spec['shape']}" if spec else "one tensor"
    if not features:
        raise InvalidOption(
            f"model {model.get('name', '')!r} takes {shown}, whose values its metadata does "
            "not name: give dtype_dict with the features in the tensor's order",
            key="dtype_dict",
        )
    if width > 0 and width != len(features):
        raise InvalidOption(
            f"model {model.get('name', '')!r} takes {shown}: {width} values per row, but "
            f"dtype_dict has {len(features)} features ({', '.join(features)})",
            key="dtype_dict",
        )


def _check_columns(inputs: list[Tensor], dtypes: dict[str, str], features: list[str]) -> None:
    names = {t["name"].lower(): t for t in inputs}
    lower = {f.lower(): f for f in features}
    missing = [t["name"] for t in inputs if t["name"].lower() not in lower]
    extra = [f for f in features if f.lower() not in names]
    if missing or extra:
        said = (
            f"the model takes {', '.join(missing)}, which dtype_dict does not name"
            if missing
            else f"dtype_dict names {', '.join(extra)}, which the model does not take"
        )
        raise InvalidOption(
            f"{said} (model inputs: {', '.join(t['name'] for t in inputs)})", key="dtype_dict"
        )
    for key, tensor in names.items():
        declared = dtypes[lower[key]]
        text = declared in ("text", "short_text", "rich_text", "tags")
        if text != (tensor["datatype"] == "BYTES"):
            raise InvalidOption(
                f"dtype_dict says {lower[key]} is {declared}, but the model takes a "
                f"{tensor['datatype']} tensor",
                key="dtype_dict",
            )


def _dtype_dict(inputs: list[Tensor], outputs: list[Tensor], targets: list[str]) -> dict[str, str]:
    """Features from the input tensors; each target typed by the output of its name, or the
    only output; 'categorical' (kept as the model gives it) when the metadata does not say."""
    dtypes = {t["name"]: types.tensor_dtype(t["datatype"]) for t in inputs}
    by_name = {t["name"].lower(): t for t in outputs}
    split = len(outputs) == 1 and len(targets) > 1  # one [rows, k] output: a target per value
    for target in targets:
        tensor = by_name.get(target.lower()) or (outputs[0] if len(outputs) == 1 else None)
        if tensor is None:
            dtypes[target] = "categorical"
            continue
        dtype = types.tensor_dtype(tensor["datatype"])
        shape = tensor.get("shape") or []
        if len(shape) > 1 and shape[-1] != 1 and not split:  # a list per row
            dtype = "cat_array" if dtype == "text" else "num_array"
        dtypes[target] = dtype
    return dtypes
