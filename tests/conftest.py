from __future__ import annotations

from collections.abc import Iterator

import pytest

import byom_sql
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
