"""format = 'json' against the test server (every request layout, body_key, response_key), and
the Open Inference Protocol's pure codec: tensors in and out, JSON and binary, metadata read
into options. The real OIP and BentoML servers are in tests/test_model_servers.py."""

from __future__ import annotations

import json
import math

import numpy as np
import orjson
import pyarrow as pa
import pytest

import byom_sql
from byom_sql.errors import DataError, InvalidOption, ModelProtocolError, ProgrammingError
from byom_sql.models import json_api, tensors
from byom_sql.models.transport import Reply
from tests.conftest import load_home_rentals
from tests.model_server import ModelServer

DTYPES = '{"initial_price": "integer", "sqft": "integer", "rental_price": "float"}'


def create_json(con: byom_sql.Connection, url: str, using: str = "", name: str = "j") -> None:
    con.sql(
        f"CREATE PREDICTOR {name} PREDICT rental_price USING format = 'json', "
        f"url.predict = '{url}', dtype_dict = {DTYPES}{using}"
    )


@pytest.mark.parametrize(
    ("using", "sent"),
    [
        ("", lambda rows: rows),
        (
            ", request_layout = 'records', body_key = 'payload.rows'",
            lambda r: {"payload": {"rows": r}},
        ),
        (
            ", request_layout = 'split'",
            lambda r: {"columns": ["initial_price", "sqft"], "data": [list(x.values()) for x in r]},
        ),
        (
            ", request_layout = 'columns'",
            lambda r: {k: [x[k] for x in r] for k in ("initial_price", "sqft")},
        ),
        (", request_layout = 'instances'", lambda r: {"instances": [list(x.values()) for x in r]}),
        (
            ", request_layout = 'inputs'",
            lambda r: {"inputs": {k: [x[k] for x in r] for k in ("initial_price", "sqft")}},
        ),
        (", request_layout = 'instances', body_key = ''", lambda r: [list(x.values()) for x in r]),
    ],
    ids=["records", "records-under-a-path", "split", "columns", "instances", "inputs", "bare-rows"],
)
def test_json_layouts_send_what_they_say(
    con: byom_sql.Connection, model_server: ModelServer, using: str, sent
) -> None:
    load_home_rentals(con, rows=300)
    create_json(con, f"{model_server.url}/json/v1/models/rent:predict", using)
    result = con.sql(
        "SELECT t.initial_price, t.sqft, p.rental_price FROM home_rentals t JOIN j p "
        "ORDER BY t.initial_price, t.sqft"
    ).arrow()
    rows = result.to_pylist()
    assert all(r["rental_price"] == r["initial_price"] + r["sqft"] for r in rows)
    (request,) = model_server.predict_requests()
    names = ("initial_price", "sqft")  # rows sent as lists come back named c0, c1
    expected = sent([dict(zip(names, r.values(), strict=True)) for r in request.data])
    assert request.body == expected
    assert request.headers["content-type"] == "application/json"


def test_response_key_is_a_dotted_path(con: byom_sql.Connection, model_server: ModelServer) -> None:
    create_json(con, f"{model_server.url}/json/nested", ", response_key = 'output.scores'")
    rows = con.sql("SELECT * FROM j WHERE initial_price = 3000 AND sqft = 700").arrow().to_pylist()
    assert rows == [{"rental_price": 3700.0, "initial_price": 3000, "sqft": 700}]
    create_json(con, f"{model_server.url}/json/nested", ", response_key = 'output.probs'", "k")
    with pytest.raises(
        ModelProtocolError, match=r"no 'output.probs' \(at 'probs' it has: scores\)"
    ):
        con.sql("SELECT * FROM k WHERE initial_price = 3000 AND sqft = 700")


def test_tf_serving_shape_where_and_join(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    """TF Serving: {"instances": [[…]]} → {"predictions": […]} (the default response)."""
    load_home_rentals(con, rows=1000)
    url = f"{model_server.url}/json/v1/models/rent:predict"
    create_json(con, url, ", request_layout = 'instances', batch_size = 128")
    one = con.sql("SELECT rental_price FROM j WHERE initial_price = 3000 AND sqft = 700")
    assert one.arrow().to_pylist() == [{"rental_price": 3700.0}]
    joined = con.sql(
        "SELECT t.initial_price, t.sqft, p.rental_price FROM home_rentals t JOIN j p "
        "WHERE t.initial_price > 5000"
    ).arrow()
    assert joined.num_rows == 1000 * 9 // 50
    assert all(r["rental_price"] == r["initial_price"] + r["sqft"] for r in joined.to_pylist())


def test_json_options_are_checked(con: byom_sql.Connection, model_server: ModelServer) -> None:
    url = f"{model_server.url}/json/x"
    with pytest.raises(ProgrammingError, match="unknown request_layout 'rows'; valid: records"):
        create_json(con, url, ", request_layout = 'rows'")
    with pytest.raises(ProgrammingError, match="response_key must be a key or a dotted path"):
        create_json(con, url, ", response_key = 'a..b'")
    with pytest.raises(
        ProgrammingError, match="option request_layout does not apply to format 'mlflow'"
    ):
        con.sql(
            f"CREATE PREDICTOR m PREDICT y USING format = 'mlflow', url.predict = '{url}', "
            "request_layout = 'records', check = false"
        )
    with pytest.raises(ProgrammingError, match="option binary does not apply to format 'json'"):
        create_json(con, url, ", binary = true")


def test_wrapped_and_rows_json() -> None:
    table = pa.table({"a": [1, 2], "b": [0.5, 1.5]})
    assert json.loads(json_api.wrapped("x.y", b"[1]")) == {"x": {"y": [1]}}
    assert json_api.wrapped("", b"[1]") == b"[1]"
    assert json.loads(json_api.rows_json(table, "instances")) == [[1.0, 0.5], [2.0, 1.5]]
    assert json.loads(json_api.rows_json(table, "split")) == {
        "columns": ["a", "b"],
        "data": [[1.0, 0.5], [2.0, 1.5]],
    }


def test_bentoml_options_from_the_openapi_document() -> None:
    document = {
        "components": {
            "schemas": {
                "predict__Input": {
                    "properties": {"frame": {"type": "dataframe", "orient": "records"}}
                },
                "per_room__Input": {"properties": {"rows": {"type": "tensor"}}},
                "two__Input": {"properties": {"a": {}, "b": {}}},
            }
        }
    }
    url = "http://127.0.0.1:3000"
    assert json_api.bentoml_options(document, f"{url}/predict") == {
        "body_key": "frame",
        "request_layout": "records",
    }
    assert json_api.bentoml_options(document, f"{url}/per_room")["request_layout"] == "instances"
    assert json_api.bentoml_options(document, f"{url}/two") == {}
    assert json_api.docs_url(f"{url}/predict") == f"{url}/docs.json"


# the Open Inference Protocol's codec ---------------------------------------------------------

TABLE = pa.table({"a": [1, 2, 3], "b": [0.5, None, 2.5], "c": ["x", "yy", "z"]})
INPUTS = [
    {"name": "A", "datatype": "INT32", "shape": [-1, 1]},
    {"name": "b", "datatype": "FP32", "shape": [-1]},
]


def split_body(body: bytes, headers: dict[str, str]) -> tuple[dict, bytes]:
    length = int(headers.get("Inference-Header-Content-Length", len(body)))
    return orjson.loads(body[:length]), body[length:]


def test_columns_layout_in_json() -> None:
    body, headers = tensors.encode(TABLE, INPUTS, "columns", False, "p")
    assert headers == {"Content-Type": "application/json"}
    head, rest = split_body(body, headers)
    assert rest == b""
    assert head["parameters"] == {"content_type": "pd"}
    a, b, c = head["inputs"]
    assert a == {"name": "A", "datatype": "INT32", "shape": [3, 1], "data": [1, 2, 3]}
    assert b["datatype"] == "FP32" and b["shape"] == [3]
    assert b["data"] == [0.5, None, 2.5]  # NULL → NaN, which JSON writes as null
    assert c == {"name": "c", "datatype": "BYTES", "shape": [3], "data": ["x", "yy", "z"]}


def test_binary_tensors_are_raw_little_endian_buffers() -> None:
    table = TABLE.drop_columns(["c"]).append_column("d", pa.array([True, False, True]))
    body, headers = tensors.encode(table, INPUTS, "columns", True, "p")
    assert headers["Content-Type"] == "application/octet-stream"
    head, rest = split_body(body, headers)
    assert head["parameters"] == {"content_type": "pd", "binary_data_output": True}
    sizes = [t["parameters"]["binary_data_size"] for t in head["inputs"]]
    assert sizes == [12, 12, 3]  # INT32, FP32, BOOL
    assert all("data" not in t for t in head["inputs"])
    assert np.frombuffer(rest[:12], "<i4").tolist() == [1, 2, 3]
    floats = np.frombuffer(rest[12:24], "<f4")
    assert floats[0] == 0.5 and math.isnan(floats[1]) and floats[2] == 2.5
    assert rest[24:] == b"\x01\x00\x01"


def test_tensor_layout_stacks_rows() -> None:
    table = pa.table({"x": [1, 2], "y": [3.5, 4.5]})
    spec = [{"name": "features", "datatype": "FP64", "shape": [-1, 2]}]
    body, headers = tensors.encode(table, spec, "tensor", False, "p")
    (tensor,) = orjson.loads(body)["inputs"]
    assert tensor == {
        "name": "features",
        "datatype": "FP64",
        "shape": [2, 2],
        "data": [1, 3.5, 2, 4.5],
    }
    assert "content_type" not in orjson.loads(body)["parameters"]
    body, headers = tensors.encode(table, spec, "tensor", True, "p")
    head, rest = split_body(body, headers)
    assert np.frombuffer(rest, "<f8").tolist() == [1, 3.5, 2, 4.5]


def test_nulls_in_integer_inputs_are_refused() -> None:
    with pytest.raises(DataError, match=r"input 'a' is NULL in 1 row\(s\), and a INT64 tensor"):
        tensors.encode(pa.table({"a": [1, None]}), [], "columns", False, "p")
    with pytest.raises(DataError, match="cannot be sent as a INT32 tensor"):
        tensors.encode(
            pa.table({"a": [1.5]}), [{"name": "a", "datatype": "INT32"}], "columns", False, "p"
        )


def reply(value: dict, data: bytes = b"", status: int = 200) -> Reply:
    head = orjson.dumps(value)
    length = len(head) if data else None
    return Reply(
        status, "application/json", head + data, "http://m/v2/models/m/infer", json_length=length
    )


def test_outputs_decode_json_and_binary_alike() -> None:
    outputs = [
        {"name": "price", "datatype": "FP64", "shape": [3, 1], "data": [1.5, 2.5, 3.5]},
        {"name": "band", "datatype": "BYTES", "shape": [3], "data": ["lo", "hi", "lo"]},
    ]
    from_json = tensors.decode(reply({"outputs": outputs}), 3, ["rental_price"], "p")
    strings = b"".join(len(s).to_bytes(4, "little") + s for s in (b"lo", b"hi", b"lo"))
    numbers = np.array([1.5, 2.5, 3.5], "<f8").tobytes()
    binary = [
        {
            "name": "price",
            "datatype": "FP64",
            "shape": [3, 1],
            "parameters": {"binary_data_size": 24},
        },
        {
            "name": "band",
            "datatype": "BYTES",
            "shape": [3],
            "parameters": {"binary_data_size": len(strings)},
        },
    ]
    from_binary = tensors.decode(
        reply({"outputs": binary}, numbers + strings), 3, ["rental_price"], "p"
    )
    for decoded in (from_json, from_binary):
        assert {k: v.to_pylist() for k, v in decoded.items()} == {
            "rental_price": [1.5, 2.5, 3.5],
            "rental_price_band": ["lo", "hi", "lo"],
        }


def test_output_shapes() -> None:
    two = {"outputs": [{"name": "y", "datatype": "INT64", "shape": [2, 2], "data": [1, 2, 3, 4]}]}
    split = tensors.decode(reply(two), 2, ["a", "b"], "p")
    assert {k: v.to_pylist() for k, v in split.items()} == {"a": [1, 3], "b": [2, 4]}
    listed = tensors.decode(reply(two), 2, ["y"], "p")
    assert listed["y"].to_pylist() == [[1, 2], [3, 4]]
    with pytest.raises(ModelProtocolError, match=r"returned 2 predictions in 'y' for 3 input rows"):
        tensors.decode(reply(two), 3, ["y"], "p")
    with pytest.raises(ModelProtocolError, match="an 'outputs' list of tensors"):
        tensors.decode(reply({"result": []}), 1, ["y"], "p")
    with pytest.raises(ModelProtocolError, match="answered HTTP 400: Model nope not found"):
        tensors.decode(reply({"error": "Model nope not found"}, status=400), 1, ["y"], "p")


METADATA = {
    "name": "rent_rules",
    "inputs": [
        {"name": "initial_price", "datatype": "INT64", "shape": [-1]},
        {"name": "neighborhood", "datatype": "BYTES", "shape": [-1]},
    ],
    "outputs": [{"name": "rental_price", "datatype": "FP32", "shape": [-1]}],
}


def test_metadata_fills_dtype_dict_and_layout() -> None:
    found = tensors.discovered(
        {}, ["rental_price"], METADATA, {"name": "mlserver", "extensions": []}
    )
    assert found["input_layout"] == "columns"
    assert found["binary"] is False
    assert found["dtype_dict"] == {
        "initial_price": "integer",
        "neighborhood": "text",
        "rental_price": "float",
    }
    triton = tensors.discovered({}, ["y"], METADATA, {"name": "triton", "extensions": []})
    assert triton["binary"] is True
    assert triton["dtype_dict"]["y"] == "float"  # the only output


def test_metadata_and_dtype_dict_are_checked_against_each_other() -> None:
    dtypes = {"initial_price": "integer", "rooms": "integer", "rental_price": "float"}
    with pytest.raises(
        InvalidOption, match="the model takes neighborhood, which dtype_dict does not name"
    ):
        tensors.discovered({"dtype_dict": dtypes}, ["rental_price"], METADATA, None)
    wrong = {"initial_price": "integer", "neighborhood": "integer", "rental_price": "float"}
    with pytest.raises(
        InvalidOption, match="dtype_dict says neighborhood is integer, but the model takes a BYTES"
    ):
        tensors.discovered({"dtype_dict": wrong}, ["rental_price"], METADATA, None)
    matrix = {"name": "sk", "inputs": [{"name": "features", "datatype": "FP64", "shape": [-1, 3]}]}
    with pytest.raises(
        InvalidOption,
        match=r"takes features FP64 \[-1, 3\], whose values its metadata does not name",
    ):
        tensors.discovered({}, ["y"], matrix, None)
    with pytest.raises(InvalidOption, match="3 values per row, but dtype_dict has 2 features"):
        tensors.discovered(
            {"dtype_dict": {"a": "float", "b": "float", "y": "float"}}, ["y"], matrix, None
        )
    three = {"a": "float", "b": "float", "c": "float", "y": "float"}
    assert (
        tensors.discovered({"dtype_dict": three}, ["y"], matrix, None)["input_layout"] == "tensor"
    )


def test_oip_urls() -> None:
    url = "http://h:8080/prefix/v2/models/rent/versions/2/infer"
    assert tensors.model_url(url) == "http://h:8080/prefix/v2/models/rent/versions/2"
    assert tensors.server_url(url) == "http://h:8080/prefix/v2"
    with byom_sql.connect() as con, pytest.raises(ProgrammingError, match="must be an infer route"):
        con.sql(
            "CREATE PREDICTOR p PREDICT y USING format = 'kserve', "
            "url.predict = 'http://127.0.0.1:9/v2/models/rent', check = false"
        )


def test_tensor_layout_of_text_goes_row_by_row() -> None:
    table = pa.table({"x": ["a", "b"], "y": ["c", "d"]})
    body, _ = tensors.encode(table, [], "tensor", True, "p")  # BYTES stay in the JSON
    (tensor,) = orjson.loads(body)["inputs"]
    assert tensor == {"name": "input-0", "datatype": "BYTES", "shape": [2, 2], "data": list("acbd")}


def test_half_floats_and_cut_replies() -> None:
    half = {"outputs": [{"name": "y", "datatype": "FP16", "shape": [2], "data": [0.5, 1.5]}]}
    decoded = tensors.decode(reply(half), 2, ["y"], "p")["y"]
    assert decoded.type == pa.float32() and decoded.to_pylist() == [0.5, 1.5]
    cut = [{"name": "y", "datatype": "FP64", "shape": [2], "parameters": {"binary_data_size": 12}}]
    with pytest.raises(ModelProtocolError, match="12 bytes, not a whole number of FP64 values"):
        tensors.decode(reply({"outputs": cut}, b"\0" * 12), 2, ["y"], "p")
    nan = Reply(
        200,
        "",
        b'{"outputs": [{"name": "y", "datatype": "FP64", "shape": [1], "data": [NaN]}]}',
        "u",
    )
    assert math.isnan(tensors.decode(nan, 1, ["y"], "p")["y"].to_pylist()[0])


def test_list_outputs_are_typed_as_arrays() -> None:
    model = {
        "inputs": [{"name": "a", "datatype": "FP64", "shape": [-1]}],
        "outputs": [{"name": "probs", "datatype": "FP32", "shape": [-1, 3]}],
    }
    assert tensors.discovered({}, ["probs"], model, None)["dtype_dict"]["probs"] == "num_array"
    bf16 = {"inputs": [{"name": "a", "datatype": "BF16", "shape": [-1]}], "outputs": []}
    with pytest.raises(ModelProtocolError, match="datatype BF16, which byom_sql cannot"):
        tensors.discovered({}, ["y"], bf16, None)


def test_an_infer_route_is_a_path() -> None:
    with byom_sql.connect() as con, pytest.raises(ProgrammingError, match="infer route"):
        con.sql(
            "CREATE PREDICTOR p PREDICT y USING format = 'oip', check = false, "
            "url.predict = 'http://127.0.0.1:9/secret#/v2/models/x/infer'"
        )
