"""Wire formats: the pure encoders/decoders, and each layout against the test server."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

import byom_sql
from byom_sql.errors import ModelProtocolError
from byom_sql.models import codec, mlflow
from byom_sql.models.transport import Reply
from tests.model_server import ModelServer

TABLE = pa.table({"a": [1, 2], "b": [0.5, None], "c": ["x", "y"], "d": [dt.date(2024, 1, 2), None]})


@pytest.mark.parametrize(
    "table",
    [
        pa.table(
            {"a": [1, 2, 3] * 100, "b": [0.5, 1.0, 1e20] * 100, "c": [True, False, True] * 100}
        ),
        pa.table({"a": list(range(1000))}).slice(40, 300),
        pa.concat_tables([pa.table({"a": [1] * 200}), pa.table({"a": [2] * 200})]),
        pa.table({"a": [1.0, float("nan")] * 200}),
        pa.table({"a": [1, None] * 200}),
        pa.table({'weird "name': [1] * 300}),
    ],
    ids=["mixed-numeric", "sliced", "chunked", "nan", "null", "quoted-name"],
)
def test_records_json_matches_the_generic_encoder(table: pa.Table) -> None:
    fast = json.loads(codec.records_json(table))
    expected = [{k: (None if v != v else v) for k, v in row.items()} for row in table.to_pylist()]
    assert fast == expected
    assert all(
        type(x) is type(y)
        for r, e in zip(fast, expected, strict=True)
        for x, y in zip(r.values(), e.values(), strict=True)
        if y is not None
    )


def test_json_layouts_from_arrow() -> None:
    assert json.loads(codec.columns_json(TABLE)) == {
        "a": [1, 2],
        "b": [0.5, None],
        "c": ["x", "y"],
        "d": ["2024-01-02", None],
    }
    assert json.loads(codec.records_json(TABLE)) == [
        {"a": 1, "b": 0.5, "c": "x", "d": "2024-01-02"},
        {"a": 2, "b": None, "c": "y", "d": None},
    ]
    assert codec.rows(TABLE)[0] == (1, 0.5, "x", dt.date(2024, 1, 2))


@pytest.mark.parametrize(
    ("value", "targets", "expected"),
    [
        ([1, 2], ["y"], {"y": [1, 2]}),
        ([[1, 2], [3, 4]], ["y", "z"], {"y": [1, 3], "z": [2, 4]}),
        ([[0.1, 0.9], [0.8, 0.2]], ["y"], {"y": [[0.1, 0.9], [0.8, 0.2]]}),
        ([{"y": 1, "p": 0.1}, {"y": 2, "p": 0.2}], ["y"], {"y": [1, 2], "y_p": [0.1, 0.2]}),
        ({"y": [1, 2], "z": [3, 4]}, ["y", "z"], {"y": [1, 2], "z": [3, 4]}),
        (
            {
                "prediction": [1, 2],
                "confidence": [0.5, 0.6],
                "lower": [0, 1],
                "upper": [2, 3],
                "status": "ok",
            },
            ["y"],
            {"y": [1, 2], "y_confidence": [0.5, 0.6], "y_min": [0, 1], "y_max": [2, 3]},
        ),
        ([{"label": "a"}, {"label": "b"}], ["y"], {"y": ["a", "b"]}),
    ],
    ids=["scalars", "lists", "probabilities", "dicts", "dict-of-lists", "ray-extras", "other-key"],
)
def test_prediction_shapes(value: object, targets: list[str], expected: dict) -> None:
    assert codec.prediction_columns(value, targets, 2, "predictor p") == expected


@pytest.mark.parametrize(
    ("value", "targets", "message"),
    [
        ([1], ["y"], "returned 1 predictions for 2 input rows"),
        ("oops", ["y"], "expected a list of predictions, got str"),
        ([1, 2], ["y", "z"], "one value per row but predicts y, z"),
        ({"y": [1]}, ["y"], "returned 1 values of 'y' for 2 rows"),
        ({"y": [1, 2]}, ["y", "z"], "no values for z"),
    ],
)
def test_prediction_shape_errors(value: object, targets: list[str], message: str) -> None:
    with pytest.raises(ModelProtocolError, match=message):
        codec.prediction_columns(value, targets, 2, "predictor p")


def test_nan_tokens_and_error_texts() -> None:
    reply = Reply(200, "application/json", b'{"predictions": [NaN, 1.5]}', "http://m")
    assert codec.parse_reply(reply, "p")["predictions"][1] == 1.5
    failed = Reply(422, "application/json", b'{"detail": "field required"}', "http://m")
    with pytest.raises(ModelProtocolError, match="HTTP 422: field required"):
        codec.parse_reply(failed, "p")


def test_mlflow_version_probe_url() -> None:
    assert mlflow.version_url("http://h:5000/invocations") == "http://h:5000/version"
    assert mlflow.version_url("http://h/models/m/invocations?x=1") == "http://h/models/m/version"


@pytest.mark.parametrize("layout", ["dataframe_split", "dataframe_records", "inputs", "instances"])
def test_mlflow_request_formats(
    con: byom_sql.Connection, model_server: ModelServer, layout: str
) -> None:
    con.sql(
        f"CREATE MODEL m PREDICT y USING url.predict = '{model_server.url}/mlflow/"
        f"invocations', format = 'mlflow', request_format = '{layout}', "
        'dtype_dict = {"a": "integer", "b": "text", "y": "float"}'
    )
    assert con.sql("SELECT y FROM m WHERE a = 2 AND b = 'four'").fetchall() == [(6.0,)]
    [request] = model_server.predict_requests()
    assert layout in request.body
    assert request.headers["Content-Type"] == "application/json"


def test_mlflow_1_is_detected_and_spoken(con: byom_sql.Connection) -> None:
    old = ModelServer(mlflow_major=1).start()
    try:
        con.sql(
            f"CREATE MODEL m PREDICT y USING url.predict = '{old.url}/mlflow/invocations', "
            "format = 'mlflow'"
        )
        assert con.sql("SELECT y FROM m WHERE a = 2 AND b = 4").fetchall() == [(6,)]
        [request] = old.predict_requests()
        assert request.headers["Content-Type"] == "application/json; format=pandas-split"
        assert set(request.body) == {"columns", "data"}
    finally:
        old.stop()


def test_ray_serve_columns_layout_and_headers(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    con.sql(
        f"CREATE MODEL r PREDICT y USING url.predict = '{model_server.url}/ray/predict', "
        "format = 'ray_serve', request_format = 'columns', "
        'headers = {"Authorization": "Bearer s3cret"}'
    )
    assert con.sql("SELECT y, y_confidence FROM r WHERE a IN (1, 2) ORDER BY 1").fetchall() == [
        (1, 0.5),
        (2, 0.5),
    ]
    [request] = model_server.predict_requests()
    assert json.loads(request.body["df"]) in ({"a": [1, 2]}, {"a": [2, 1]})
    assert request.headers["Authorization"] == "Bearer s3cret"
    described = dict(con.sql("DESCRIBE r").fetchall())
    assert "s3cret" not in json.dumps(described)


def test_targets_are_typed_by_dtype_dict(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    con.sql(
        f"CREATE MODEL m PREDICT y USING url.predict = '{model_server.url}/mlflow/"
        "invocations', format = 'mlflow', "
        'dtype_dict = {"a": "float", "y": "integer"}'
    )
    table = con.sql("SELECT * FROM m WHERE a = 2").arrow()
    assert table.schema.field("y").type == pa.int64()
    assert table.schema.field("a").type == pa.float64()
    with pytest.raises(byom_sql.DataError, match="prediction 'y' is declared integer"):
        con.sql("SELECT * FROM m WHERE a = 2.5").fetchall()
