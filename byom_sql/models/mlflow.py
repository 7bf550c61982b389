"""MLflow's scoring server (`mlflow models serve`): POST …/invocations.

MLflow 2 and 3 take `{"dataframe_split": {"columns": [..], "data": [[..]]}}` (or
dataframe_records, inputs, instances) and answer `{"predictions": …}`; MLflow 1 took the bare
pandas-split object with `Content-Type: application/json; format=pandas-split` and answered a
bare list. Training happens outside: MLflow predictors have no train endpoint.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa

from byom_sql.catalog import Predictor
from byom_sql.models import codec, json_api
from byom_sql.models.transport import Reply, Request, Transport


class MLflow(codec.HttpAdapter):
    def __init__(
        self, predictor: Predictor, transport: Transport, version: int, headers: dict[str, str]
    ):
        super().__init__(predictor, transport)
        options = predictor.options
        self.version = version
        self.layout = options.get("request_format", "dataframe_split")
        content_type = codec.JSON + ("; format=pandas-split" if version == 1 else "")
        self.headers = {"Content-Type": content_type, **headers}

    def predict_request(self, table: pa.Table) -> Request:
        return Request("POST", self.url, self._body(table), self.headers)

    def _body(self, table: pa.Table) -> bytes:
        if self.version == 1:
            return json_api.rows_json(table, "split")
        layout = LAYOUTS[self.layout]
        return json_api.wrapped(self.layout, json_api.rows_json(table, layout))

    def predictions(self, reply: Reply, rows: int) -> codec.Outputs:
        value = codec.parse_reply(reply, self.where)
        if isinstance(value, dict) and "predictions" in value:
            value = value["predictions"]
        return codec.prediction_columns(value, self.predictor.targets, rows, self.where)


LAYOUTS = {
    "dataframe_split": "split",
    "dataframe_records": "records",
    "inputs": "columns",
    "instances": "records",
}
"""MLflow's request formats as the JSON layouts they are."""


def version_url(predict_url: str) -> str:
    """GET /version beside /invocations tells the MLflow generation."""
    return beside(predict_url, "version")


def beside(predict_url: str, name: str) -> str:
    """The URL of another route of the scoring server (/ping, /version)."""
    parts = urlsplit(predict_url)
    path = parts.path.rsplit("/", 1)[0] + "/" + name
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def parse_version(reply: Reply | None) -> int:
    if reply is None or reply.status != 200:
        return 2
    text = reply.body.decode("utf-8", "replace").strip().strip('"')
    return 1 if text.startswith("1.") else 2
