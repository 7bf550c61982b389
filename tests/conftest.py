from __future__ import annotations

from collections.abc import Iterator

import pytest

import byom_sql
from tests.model_server import ModelServer


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
