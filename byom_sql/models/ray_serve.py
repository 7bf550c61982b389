"""The Ray Serve contract MindsDB defined (the seed): the frame travels as a JSON string.

POST url.train    {"df": "<JSON of the rows>", "target": "<column>"}  → {"status": "ok"}
POST url.predict  {"df": "<JSON of the rows>"}  → {"prediction": [...], "confidence": [...]}
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa

from byom_sql.catalog import Predictor
from byom_sql.errors import ModelProtocolError
from byom_sql.models import codec
from byom_sql.models.transport import Reply, Request, Transport


class RayServe(codec.HttpAdapter):
    def __init__(self, predictor: Predictor, transport: Transport, headers: dict[str, str]):
        super().__init__(predictor, transport)
        options = predictor.options
        self.train_url = options.get("url.train")
        self.orient = options.get("request_format", "records")
        self.headers = {"Content-Type": codec.JSON, **headers}

    def _frame(self, table: pa.Table) -> bytes:
        inner = codec.columns_json(table) if self.orient == "columns" else codec.records_json(table)
        return b'{"df":' + orjson.dumps(inner.decode()) + b"}"

    def predict_request(self, table: pa.Table) -> Request:
        return Request("POST", self.url, self._frame(table), self.headers)

    def predictions(self, reply: Reply, rows: int) -> codec.Outputs:
        where = self.where
        value = codec.parse_reply(reply, where)
        if not isinstance(value, dict) or "prediction" not in value:
            raise ModelProtocolError(
                f"{where}: the reply should be an object with a 'prediction' list, got "
                f"{codec._snippet(reply.body)}"
            )
        return codec.prediction_columns(value, self.predictor.targets, rows, where)

    def train_request(self, table: pa.Table) -> Request:
        assert self.train_url is not None
        targets = self.predictor.targets
        target: Any = targets[0] if len(targets) == 1 else targets
        inner = codec.records_json(table)
        body = (
            b'{"df":' + orjson.dumps(inner.decode()) + b',"target":' + orjson.dumps(target) + b"}"
        )
        return Request("POST", self.train_url, body, self.headers)

    def check_trained(self, reply: Reply) -> None:
        where = f"predictor {self.predictor.name} ({self.train_url})"
        value = codec.parse_reply(reply, where)
        status = value.get("status") if isinstance(value, dict) else None
        if status != "ok":
            raise ModelProtocolError(
                f"{where}: training did not succeed: {codec.error_text(reply)}",
                hint='the train endpoint must answer {"status": "ok"}',
            )
