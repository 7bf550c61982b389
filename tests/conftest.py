from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import byom_sql
from tests import stacks
from tests.model_server import ModelServer

pytest_plugins = ["tests.remote_servers"]  # fixtures for the PostgreSQL and MariaDB tests


@pytest.fixture(scope="session")
def model_server_session() -> Iterator[ModelServer]:
    server = ModelServer().start()
    yield server
    server.stop()


@pytest.fixture
def model_server(model_server_session: ModelServer) -> ModelServer:
    model_server_session.reset()
    return model_server_session


@pytest.fixture
def con() -> Iterator[byom_sql.Connection]:
    with byom_sql.connect() as connection:
        yield connection


HOME_RENTALS = """
CREATE TABLE home_rentals AS
SELECT (i % 4) + 1 AS number_of_rooms,
       (i % 3) + 1 AS number_of_bathrooms,
       500 + (i * 37) % 1500 AS sqft,
       ['good', 'great', 'poor'][(i % 3) + 1] AS location,
       (i * 7) % 90 AS days_on_market,
       1000 + (i % 50) * 100 AS initial_price,
       ['alcatraz', 'berkeley', 'downtown', 'south_side'][(i % 4) + 1] AS neighborhood,
       1000 + (i % 70) * 100 AS rental_price
FROM range({rows}) r(i)
"""


def load_home_rentals(con: byom_sql.Connection, rows: int = 1000) -> None:
    con.sql(HOME_RENTALS.format(rows=rows))


def create_byom(
    con: byom_sql.Connection, server: ModelServer, name: str = "byom", extra: str = ""
) -> None:
    """The seed's predictor, pointed at the test server (no training)."""
    con.sql(
        f"CREATE PREDICTOR {name} PREDICT number_of_rooms USING "
        f"url.predict = '{server.url}/ray/predict', format = 'ray_serve', "
        'dtype_dict = {"number_of_rooms": "categorical", "initial_price": "integer", '
        f'"rental_price": "integer"}}{extra}'
    )


@pytest.fixture
def rentals(con: byom_sql.Connection, model_server: ModelServer) -> byom_sql.Connection:
    """A connection with home_rentals (1000 rows) and the seed's predictor `byom`."""
    load_home_rentals(con)
    create_byom(con, model_server)
    return con


# real model-serving stacks (tests/stacks.py): started once per session, stopped at its end


@pytest.fixture(scope="session")
def mlflow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model of examples/mlflow/train.py, trained for this session."""
    stacks.require_modules("mlflow", "sklearn", "skops")
    return stacks.train_mlflow_model(tmp_path_factory.mktemp("mlflow") / "model")


@pytest.fixture(scope="session")
def mlflow_server(
    mlflow_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[stacks.Served]:
    """`mlflow models serve` of that model on a free 127.0.0.1 port."""
    port = stacks.free_port()
    log = tmp_path_factory.mktemp("mlflow_log") / "serve.log"
    with stacks.Served(
        "mlflow", stacks.mlflow_command(mlflow_model, port), port, "/ping", log
    ) as s:
        yield s


@pytest.fixture(scope="session")
def ray_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stacks.Served]:
    """examples/ray_serve/app.py on a free 127.0.0.1 port: one model, retrained by each test
    that creates a predictor with url.train."""
    stacks.require_modules("ray", "sklearn", "fastapi")
    port = stacks.free_port()
    log = tmp_path_factory.mktemp("ray_log") / "app.log"
    command = stacks.ray_serve_command(port)
    with stacks.Served("ray serve", command, port, "/my_model/health", log) as s:
        yield s


@pytest.fixture(scope="session")
def mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stacks.Served]:
    """MLServer serving examples/mlserver/models: `rent` (scikit-learn, trained for this
    session, one 2-D tensor) and `rent_rules` (a custom runtime, one tensor per column)."""
    folder = tmp_path_factory.mktemp("mlserver")
    port = stacks.free_port()
    command = stacks.mlserver_command(folder, port)
    with stacks.Served("mlserver", command, port, "/v2/health/ready", folder / "log") as s:
        yield s


@pytest.fixture(scope="session")
def kserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stacks.Served]:
    """examples/kserve/server.py on KServe's ModelServer."""
    port = stacks.free_port()
    command = stacks.kserve_command(port)
    log = tmp_path_factory.mktemp("kserve") / "log"
    with stacks.Served("kserve", command, port, "/v2/health/ready", log) as s:
        yield s


@pytest.fixture(scope="session")
def bentoml(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stacks.Served]:
    """examples/bento/service.py under `bentoml serve`."""
    bin_ = stacks.server_env("bento")
    port = stacks.free_port()
    command = [
        str(bin_ / "bentoml"), "serve", "examples.bento.service:Rent",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    log = tmp_path_factory.mktemp("bentoml") / "log"
    env = {"BENTOML_DO_NOT_TRACK": "True", "BENTOML_HOME": str(log.parent / "home")}
    with stacks.Served("bentoml", command, port, "/readyz", log, env) as s:
        yield s
