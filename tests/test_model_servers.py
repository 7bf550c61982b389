"""byom_sql against real model servers, each started from its example: MLServer (a scikit-learn
model taking one 2-D tensor, and a custom runtime taking one tensor per column), KServe's Python
ModelServer (binary and JSON tensors), and a BentoML service (a DataFrame API and a tensor
API). The seed's WHERE and JOIN, dtype_dict filled from the model's metadata, the servers' own
error messages. (PyTriton could not serve here: see docs/model-servers.md.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest

import byom_sql
from byom_sql.errors import ModelError, ModelProtocolError, ProgrammingError
from tests import stacks
from tests.conftest import load_home_rentals
from tests.wire import WireServer

SKLEARN_FEATURES = ["number_of_rooms", "sqft", "days_on_market"]
SKLEARN_DTYPES = (
    '{"number_of_rooms": "integer", "sqft": "integer", "days_on_market": "integer", '
    '"rental_price": "float"}'
)
EXTRA = {"downtown": 300, "berkeley": 200}


def described(con: byom_sql.Connection, name: str) -> dict[str, Any]:
    rows = con.sql(f"DESCRIBE {name}").arrow().to_pylist()
    return {r["attribute"]: r["value"] for r in rows}


def infer_directly(url: str, rows: list[list[float]]) -> list[float]:
    """The scikit-learn model's own answer, asked without byom_sql."""
    body = {
        "inputs": [{"name": "features", "datatype": "FP64", "shape": [len(rows), 3], "data": rows}]
    }
    reply = httpx.post(url, json=body, timeout=60, trust_env=False)
    reply.raise_for_status()
    return reply.json()["outputs"][0]["data"]


# MLServer ------------------------------------------------------------------------------------


def test_mlserver_sklearn_tensor_layout(con: byom_sql.Connection, mlserver: stacks.Served) -> None:
    url = f"{mlserver.url}/v2/models/rent/infer"
    con.sql(
        f"CREATE PREDICTOR rent PREDICT rental_price USING format = 'mlserver', "
        f"url.predict = '{url}', dtype_dict = {SKLEARN_DTYPES}, batch_size = 256"
    )
    info = described(con, "rent")
    assert info["format"] == "oip"
    assert '"input_layout": "tensor"' in info["options"]
    assert '"binary": false' in info["options"]  # MLServer lists no binary tensor extension
    one = con.sql(
        "SELECT rental_price FROM rent WHERE number_of_rooms = 2 AND sqft = 700 "
        "AND days_on_market = 10"
    ).arrow()
    assert one.column("rental_price").to_pylist() == infer_directly(url, [[2, 700, 10]])
    load_home_rentals(con, rows=1000)
    joined = con.sql(
        "SELECT t.number_of_rooms, t.sqft, t.days_on_market, p.rental_price "
        "FROM home_rentals AS t JOIN mindsdb.rent AS p WHERE t.sqft > 600"
    ).arrow()
    assert (
        joined.num_rows == con.sql("SELECT * FROM home_rentals WHERE sqft > 600").arrow().num_rows
    )
    rows = [[r[f] for f in SKLEARN_FEATURES] for r in joined.to_pylist()]
    assert joined.column("rental_price").to_pylist() == pytest.approx(infer_directly(url, rows))


def test_mlserver_tensor_needs_its_features_named(
    con: byom_sql.Connection, mlserver: stacks.Served
) -> None:
    url = f"{mlserver.url}/v2/models/rent/infer"
    with pytest.raises(ProgrammingError, match=r"takes features FP64 \[-1, 3\], whose values"):
        con.sql(
            f"CREATE PREDICTOR p PREDICT rental_price USING format = 'oip', url.predict = '{url}'"
        )
    two = '{"sqft": "integer", "days_on_market": "integer", "rental_price": "float"}'
    with pytest.raises(ProgrammingError, match="3 values per row, but dtype_dict has 2 features"):
        con.sql(
            f"CREATE PREDICTOR p PREDICT rental_price USING format = 'oip', "
            f"url.predict = '{url}', dtype_dict = {two}"
        )
    assert con.sql("SHOW PREDICTORS").arrow().num_rows == 0


def test_mlserver_custom_runtime_columns_from_metadata(
    con: byom_sql.Connection, mlserver: stacks.Served
) -> None:
    con.sql(
        "CREATE PREDICTOR rules PREDICT rental_price USING format = 'mlserver', "
        f"url.predict = '{mlserver.url}/v2/models/rent_rules/infer'"
    )
    info = described(con, "rules")
    assert info["features"] == "initial_price, number_of_rooms, neighborhood"
    assert info["dtype_dict"] == (
        '{"initial_price": "integer", "number_of_rooms": "integer", "neighborhood": "text", '
        '"rental_price": "integer"}'
    )
    assert '"input_layout": "columns"' in info["options"]
    one = con.sql(
        "SELECT * FROM rules WHERE initial_price = 3000 AND number_of_rooms = 2 "
        "AND neighborhood = 'downtown'"
    ).arrow()
    assert one.to_pylist() == [
        {
            "rental_price": 3500,
            "rental_price_band": "low",
            "initial_price": 3000,
            "number_of_rooms": 2,
            "neighborhood": "downtown",
        }
    ]
    load_home_rentals(con, rows=1000)
    joined = con.sql(
        "SELECT t.initial_price, t.number_of_rooms, t.neighborhood, p.rental_price, "
        "p.rental_price_band FROM home_rentals AS t JOIN rules AS p"
    ).arrow()
    assert joined.num_rows == 1000
    for row in joined.to_pylist():
        price = row["initial_price"] + 100 * row["number_of_rooms"]
        price += EXTRA.get(row["neighborhood"], 0)
        assert (row["rental_price"], row["rental_price_band"]) == (
            price,
            "high" if price >= 4000 else "low",
        )


def test_mlserver_errors_reach_the_user(con: byom_sql.Connection, mlserver: stacks.Served) -> None:
    con.sql(
        "CREATE PREDICTOR rules PREDICT rental_price USING format = 'oip', "
        f"url.predict = '{mlserver.url}/v2/models/rent_rules/infer'"
    )
    with pytest.raises(ModelProtocolError, match="HTTP 400: initial_price must be >= 0"):
        con.sql(
            "SELECT * FROM rules WHERE initial_price = -1 AND number_of_rooms = 2 "
            "AND neighborhood = 'downtown'"
        )
    with pytest.raises(ModelError, match="HTTP 404: Model nope not found"):
        con.sql(
            "CREATE PREDICTOR nope PREDICT y USING format = 'oip', "
            f"url.predict = '{mlserver.url}/v2/models/nope/infer'"
        )
    wrong = '{"initial_price": "integer", "number_of_rooms": "integer", "rental_price": "integer"}'
    with pytest.raises(ProgrammingError, match="the model takes neighborhood, which dtype_dict"):
        con.sql(
            "CREATE PREDICTOR p PREDICT rental_price USING format = 'oip', "
            f"url.predict = '{mlserver.url}/v2/models/rent_rules/infer', dtype_dict = {wrong}"
        )


# KServe --------------------------------------------------------------------------------------


def kserve_rent(row: dict[str, Any]) -> tuple[int, float]:
    price = row["initial_price"] + 100 * row["number_of_rooms"] + row["sqft"] // 2
    return price, price / max(row["number_of_rooms"], 1)


def test_kserve_binary_and_json_give_the_same_rows(
    con: byom_sql.Connection, kserve: stacks.Served
) -> None:
    url = f"{kserve.url}/v2/models/rent/infer"
    con.sql(
        f"CREATE PREDICTOR kb PREDICT rental_price USING format = 'kserve', url.predict = '{url}'"
    )
    con.sql(
        f"CREATE PREDICTOR kj PREDICT rental_price USING format = 'v2', url.predict = '{url}', "
        "binary = false"
    )
    info = described(con, "kb")
    assert '"binary": true' in info["options"]  # KServe reads binary tensors
    assert info["features"] == "initial_price, number_of_rooms, sqft"
    load_home_rentals(con, rows=2000)
    query = (
        "SELECT t.initial_price, t.number_of_rooms, t.sqft, p.rental_price, "
        "p.rental_price_per_room FROM home_rentals AS t JOIN {} AS p ORDER BY ALL"
    )
    binary = con.sql(query.format("kb")).arrow()
    assert binary.equals(con.sql(query.format("kj")).arrow())
    assert binary.num_rows == 2000
    for row in binary.to_pylist():
        assert (row["rental_price"], row["rental_price_per_room"]) == kserve_rent(row)
    calls = con.sql("SELECT predictor, rows, bytes_out FROM mindsdb.model_calls").arrow()
    heads = {c["predictor"]: c["bytes_out"] - 3 * 8 * c["rows"] for c in calls.to_pylist()}
    assert 0 < heads["mindsdb.kb"] < 1000  # a JSON head, then 3 INT64 of 8 bytes a row
    assert heads["mindsdb.kj"] != heads["mindsdb.kb"]


def test_kserve_where_and_errors(con: byom_sql.Connection, kserve: stacks.Served) -> None:
    con.sql(
        "CREATE PREDICTOR k PREDICT rental_price USING format = 'kserve', "
        f"url.predict = '{kserve.url}/v2/models/rent/infer'"
    )
    row = {"initial_price": 3000, "number_of_rooms": 3, "sqft": 901}
    got = con.sql(
        "SELECT rental_price, rental_price_per_room FROM k "
        "WHERE initial_price = 3000 AND number_of_rooms = 3 AND sqft = 901"
    ).arrow()
    assert tuple(got.to_pylist()[0].values()) == kserve_rent(row)
    with pytest.raises(ModelProtocolError, match="HTTP 400: initial_price must be >= 0"):
        con.sql("SELECT * FROM k WHERE initial_price = -5 AND number_of_rooms = 1 AND sqft = 1")


# BentoML -------------------------------------------------------------------------------------


def create_bento(con: byom_sql.Connection, url: str, target: str, dtype: str) -> str:
    """A predictor of one of the service's APIs; its options as DESCRIBE shows them."""
    con.sql(
        f"CREATE PREDICTOR b PREDICT {target} USING format = 'bentoml', url.predict = '{url}', "
        'dtype_dict = {"initial_price": "integer", "number_of_rooms": "integer", '
        f'"{target}": "{dtype}"}}'
    )
    return str(described(con, "b")["options"])


def test_bentoml_dataframe_api(con: byom_sql.Connection, bentoml: stacks.Served) -> None:
    options = create_bento(con, f"{bentoml.url}/predict", "rental_price", "integer")
    assert '"body_key": "frame", "request_layout": "records"' in options
    one = con.sql("SELECT rental_price FROM b WHERE initial_price = 3000 AND number_of_rooms = 2")
    assert one.arrow().to_pylist() == [{"rental_price": 3200}]
    load_home_rentals(con, rows=1000)
    joined = con.sql(
        "SELECT t.initial_price, t.number_of_rooms, p.rental_price "
        "FROM home_rentals AS t JOIN b AS p WHERE t.initial_price > 4000"
    ).arrow()
    assert (
        joined.num_rows
        == con.sql("SELECT * FROM home_rentals WHERE initial_price > 4000").arrow().num_rows
    )
    assert all(
        r["rental_price"] == r["initial_price"] + 100 * r["number_of_rooms"]
        for r in joined.to_pylist()
    )
    with pytest.raises(ModelProtocolError, match="HTTP 400: initial_price must be >= 0"):
        con.sql("SELECT * FROM b WHERE initial_price = -1 AND number_of_rooms = 2")


def test_bentoml_tensor_api(con: byom_sql.Connection, bentoml: stacks.Served) -> None:
    options = create_bento(con, f"{bentoml.url}/per_room", "per_room", "float")
    assert '"body_key": "rows", "request_layout": "instances"' in options
    load_home_rentals(con, rows=500)
    joined = con.sql(
        "SELECT t.initial_price, t.number_of_rooms, p.per_room FROM home_rentals t JOIN b p"
    ).arrow()
    expected = [r["initial_price"] / max(r["number_of_rooms"], 1) for r in joined.to_pylist()]
    assert np.allclose(joined.column("per_room").to_numpy(), expected)
    with pytest.raises(ProgrammingError, match="needs body_key"):
        con.sql(
            "CREATE PREDICTOR x PREDICT y USING format = 'bentoml', "
            f"url.predict = '{bentoml.url}/predict', check = false"
        )


def test_kserve_rows_it_rejects_get_null_and_a_reason(
    con: byom_sql.Connection, kserve: stacks.Served
) -> None:
    con.sql(
        "CREATE PREDICTOR k PREDICT rental_price USING format = 'kserve', on_error = 'null', "
        f"url.predict = '{kserve.url}/v2/models/rent/infer'"
    )
    con.sql(
        "CREATE TABLE prices AS SELECT 1000 * i - 2000 AS initial_price, 2 AS number_of_rooms, "
        "500 AS sqft FROM range(6) r(i)"
    )
    result = con.sql(
        "SELECT t.initial_price, p.rental_price, p.rental_price_error "
        "FROM prices AS t JOIN k AS p ORDER BY t.initial_price"
    )
    rows = result.arrow().to_pylist()
    assert [r["rental_price"] for r in rows] == [None, None, 450, 1450, 2450, 3450]
    assert all("initial_price must be >= 0" in r["rental_price_error"] for r in rows[:2])
    assert result.warnings and "2 of 6 input rows failed" in result.warnings[0]


def test_binary_tensors_to_a_server_without_them_fail_cleanly(
    con: byom_sql.Connection, mlserver: stacks.Served
) -> None:
    con.sql(
        "CREATE PREDICTOR rules PREDICT rental_price USING format = 'mlserver', binary = true, "
        f"url.predict = '{mlserver.url}/v2/models/rent_rules/infer'"
    )
    with pytest.raises(ModelProtocolError, match=r"rent_rules/infer answered HTTP 4\d\d"):
        con.sql(
            "SELECT * FROM rules WHERE initial_price = 1 AND number_of_rooms = 2 "
            "AND neighborhood = 'downtown'"
        )


def test_over_the_wire(tmp_path: Path, kserve: stacks.Served, mlserver: stacks.Served) -> None:
    """A psycopg client makes an Open Inference Protocol predictor and queries it, with
    parameters; what a wire client learns of a failing endpoint is only that it failed."""
    server = WireServer(tmp_path)
    try:
        with psycopg.connect(server.dsn, autocommit=True) as client:
            client.execute(
                "CREATE PREDICTOR k PREDICT rental_price USING format = 'kserve', "
                f"url.predict = '{kserve.url}/v2/models/rent/infer'"
            )
            row = client.execute(
                "SELECT rental_price, rental_price_per_room FROM k "
                "WHERE initial_price = %s AND number_of_rooms = %s AND sqft = %s",
                (3000, 3, 901),
                prepare=True,
            ).fetchone()
            assert row == kserve_rent({"initial_price": 3000, "number_of_rooms": 3, "sqft": 901})
            with pytest.raises(psycopg.Error, match="the model endpoint failed") as failed:
                client.execute(
                    "CREATE PREDICTOR nope PREDICT y USING format = 'oip', "
                    f"url.predict = '{mlserver.url}/v2/models/nope/infer'"
                )
            assert "404" not in str(failed.value)
    finally:
        server.stop()
