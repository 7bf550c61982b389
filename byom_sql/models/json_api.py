"""JSON APIs of any other shape (`format = 'json'`), and BentoML services (`format = 'bentoml'`).

`request_layout` says how the rows are written, `body_key` the key (or dotted path) they go
under, `response_key` where the predictions are in the reply:

  records    [{"a": 1, "b": 2}, …]                  split    {"columns": [..], "data": [[..]]}
  columns    {"a": [..], "b": [..]}                  instances  {"instances": [[1, 2], …]}
  inputs     {"inputs": {"a": [..], "b": [..]}}

TF Serving is `instances` (or `inputs`) with the predictions under `predictions`; TorchServe
and SageMaker-style endpoints take records or instances. A BentoML service takes
`{"<parameter>": <rows>}`; its OpenAPI document (/docs.json) names the parameter and says
whether it is a DataFrame (records) or a tensor (rows as lists), so CREATE PREDICTOR fills
`body_key` and `request_layout` from it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import pyarrow as pa

from byom_sql.catalog import Predictor
from byom_sql.errors import ModelProtocolError
from byom_sql.models import codec
from byom_sql.models.transport import Reply, Request, Transport

DEFAULT_KEYS = {"instances": "instances", "inputs": "inputs"}
"""The key a layout goes under when body_key is not given; the others go bare."""


class JsonApi(codec.HttpAdapter):
    def __init__(self, predictor: Predictor, transport: Transport, headers: dict[str, str]):
        super().__init__(predictor, transport)
        options = predictor.options
        self.layout: str = options.get("request_layout", "records")
        self.body_key: str = options.get("body_key", DEFAULT_KEYS.get(self.layout, ""))
        self.response_key: str = options.get("response_key", "")
        self.headers = {"Content-Type": codec.JSON, **headers}

    def predict_request(self, table: pa.Table) -> Request:
        body = wrapped(self.body_key, rows_json(table, self.layout))
        return Request("POST", self.url, body, self.headers)

    def predictions(self, reply: Reply, rows: int) -> codec.Outputs:
        value = codec.parse_reply(reply, self.where)
        for key in self.response_key.split(".") if self.response_key else ():
            if not isinstance(value, dict) or key not in value:
                keys = ", ".join(value) if isinstance(value, dict) else type(value).__name__
                raise ModelProtocolError(
                    f"{self.where}: the reply has no {self.response_key!r} "
                    f"(at {key!r} it has: {keys or 'nothing'})",
                    hint="set response_key to the dotted path of the predictions in the reply",
                )
            value = value[key]
        return codec.prediction_columns(value, self.predictor.targets, rows, self.where)


def rows_json(table: pa.Table, layout: str) -> bytes:
    """The rows in a request layout, as JSON, without a Python object per value where the
    columns allow it."""
    if layout == "records":
        return codec.records_json(table)
    if layout in ("columns", "inputs"):
        return codec.columns_json(table)
    if layout == "split":
        return codec.dumps({"columns": table.column_names, "data": codec.rows(table)})
    return codec.dumps(codec.rows(table))  # instances


def wrapped(path: str, inner: bytes) -> bytes:
    """`inner` under a dotted key path: 'a.b' gives {"a": {"b": inner}}."""
    keys = path.split(".") if path else []
    head = b"".join(b"{" + orjson.dumps(key) + b":" for key in keys)
    return head + inner + b"}" * len(keys)


def docs_url(predict_url: str) -> str:
    """Where a BentoML service publishes its OpenAPI document."""
    parts = urlsplit(predict_url)
    return urlunsplit((parts.scheme, parts.netloc, "/docs.json", "", ""))


def bentoml_options(document: Any, predict_url: str) -> dict[str, str]:
    """body_key and request_layout of a BentoML API from the service's OpenAPI document;
    empty when the document does not describe the route as one parameter."""
    route = urlsplit(predict_url).path
    if not isinstance(document, dict):
        return {}
    schemas = (document.get("components") or {}).get("schemas") or {}
    schema = schemas.get(f"{route.strip('/').replace('/', '_')}__Input")
    if not isinstance(schema, dict):
        post = ((document.get("paths") or {}).get(route) or {}).get("post") or {}
        content = (post.get("requestBody") or {}).get("content") or {}
        schema = (content.get("application/json") or {}).get("schema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or len(properties) != 1:
        return {}
    ((name, described),) = properties.items()
    return {"body_key": name, "request_layout": _layout(described)}


def _layout(described: Any) -> str:
    if not isinstance(described, dict):
        return "records"
    kind = described.get("type")
    if kind == "dataframe":
        orient = described.get("orient", "records")
        return orient if orient in ("records", "split", "columns") else "records"
    items = described.get("items")
    if kind == "tensor" or (
        kind == "array" and isinstance(items, dict) and items.get("type") != "object"
    ):
        return "instances"
    return "records"
