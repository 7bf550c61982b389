"""byom_sql against a real MLflow scoring server (`mlflow models serve --env-manager local`)
serving the model of examples/mlflow/train.py: predictions through SQL, WHERE and JOIN, equal
the model's own `predict`, in each request body layout MLflow 2/3 accept."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import byom_sql
from tests import stacks

FEATURES = [
    "location",
    "neighborhood",
    "number_of_rooms",
    "number_of_bathrooms",
    "sqft",
    "days_on_market",
]
DTYPE_DICT = (
    '{"location": "categorical", "neighborhood": "categorical", "number_of_rooms": "integer", '
    '"number_of_bathrooms": "integer", "sqft": "integer", "days_on_market": "integer", '
    '"rental_price": "float"}'
)
Predict = Callable[[pd.DataFrame], Any]


@pytest.fixture(scope="module")
def model_predict(mlflow_model: Path) -> Predict:
    """The saved model's own predict, loaded as MLflow loads it (MLflow's import-time and
    load-time warnings are its own business, not this test's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(str(mlflow_model))

    def predict(frame: pd.DataFrame) -> Any:
        """Approximately equal to within 1e-12: BLAS may round the last bit of a float
        differently for a batch of another size."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pytest.approx([float(v) for v in model.predict(frame[FEATURES])], rel=1e-12)

    return predict


def _create(con: byom_sql.Connection, server: stacks.Served, extra: str = "") -> None:
    con.sql(f"CREATE TABLE home_rentals AS SELECT * FROM read_csv('{stacks.HOME_RENTALS_CSV}')")
    con.sql(
        "CREATE PREDICTOR rentals PREDICT rental_price "
        f"USING url.predict = '{server.url}/invocations', format = 'mlflow', "
        f"dtype_dict = {DTYPE_DICT}{extra}"
    )


@pytest.mark.parametrize(
    "using",
    [
        "",
        ", request_format = 'dataframe_split'",
        ", request_format = 'inputs'",
        ", request_format = 'dataframe_records'",
        ", request_format = 'instances'",
        ", mlflow_version = 'auto'",
    ],
)
def test_where_and_join_equal_the_models_own_predict(
    con: byom_sql.Connection, mlflow_server: stacks.Served, model_predict: Predict, using: str
) -> None:
    _create(con, mlflow_server, using)
    one = con.sql(
        "SELECT * FROM rentals WHERE location = 'great' AND neighborhood = 'downtown' "
        "AND number_of_rooms = 2 AND number_of_bathrooms = 1 AND sqft = 800 "
        "AND days_on_market = 10"
    ).df()
    assert len(one) == 1
    assert one.rental_price.tolist() == model_predict(one)

    scored = con.sql(
        "SELECT t.*, p.rental_price AS predicted FROM home_rentals AS t JOIN rentals AS p "
        "WHERE t.sqft > 900 ORDER BY t.sqft, t.rental_price"
    ).df()
    assert (
        len(scored) == con.sql("SELECT count(*) FROM home_rentals WHERE sqft > 900").fetchone()[0]
    )
    assert len(scored) > 100
    assert scored.predicted.tolist() == model_predict(scored)


def test_a_batched_join_over_every_row(
    con: byom_sql.Connection, mlflow_server: stacks.Served, model_predict: Predict
) -> None:
    _create(con, mlflow_server, ", batch_size = 700, max_concurrency = 2")
    scored = con.sql(
        "SELECT t.*, p.rental_price AS predicted FROM home_rentals AS t JOIN rentals AS p"
    ).df()
    assert len(scored) == 5000
    assert scored.predicted.tolist() == model_predict(scored)


def test_mlflows_own_error_reaches_the_user(
    con: byom_sql.Connection, mlflow_server: stacks.Served
) -> None:
    """A predictor that does not send a column the model's signature requires: MLflow refuses
    the request, and the error names the predictor, the URL, the status and MLflow's message."""
    _create(con, mlflow_server)
    dtypes = DTYPE_DICT.replace('"days_on_market": "integer", ', "")
    con.sql(
        "CREATE PREDICTOR wrong PREDICT rental_price "
        f"USING url.predict = '{mlflow_server.url}/invocations', format = 'mlflow', "
        f"dtype_dict = {dtypes}"
    )
    with pytest.raises(byom_sql.ModelError) as caught:
        con.sql("SELECT t.sqft, p.rental_price FROM home_rentals AS t JOIN wrong AS p LIMIT 5")
    message = str(caught.value)
    assert "wrong" in message and f"{mlflow_server.url}/invocations" in message
    assert "400" in message and "days_on_market" in message
    assert con.sql("SELECT count(*) FROM home_rentals JOIN rentals LIMIT 3").fetchone() == (5000,)


def test_the_examples_predict_sql(mlflow_server: stacks.Served, tmp_path: Path) -> None:
    """examples/mlflow/predict.sql through the command line, as its README runs it."""
    script = (stacks.EXAMPLES / "mlflow" / "predict.sql").read_text()
    assert "http://127.0.0.1:5000/invocations" in script
    local = tmp_path / "predict.sql"
    local.write_text(script.replace("127.0.0.1:5000", f"127.0.0.1:{mlflow_server.port}"))
    done = subprocess.run(
        [sys.executable, "-m", "byom_sql", "-f", str(local), "--format", "csv"],
        cwd=stacks.ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "rental_price" and float(lines[1]) > 0
    assert lines[2] == "neighborhood,actual,predicted"
    rows = [line.split(",") for line in lines[3:]]
    assert [r[0] for r in rows] == sorted(
        ["alcatraz_ave", "berkeley_hills", "downtown", "south_side", "thousand_oaks", "westbrae"]
    )
    for _, actual, predicted in rows:  # a linear model's mean error is ~0 per category
        assert abs(int(actual) - int(predicted)) <= 5
