# ruff: noqa: F811 - the seed_server fixture, imported
"""One type per predictor column, for every client: \\d, a simple query, a prepared statement
with parameters (asyncpg, pg8000) agree once the model has answered once."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import asyncpg
import pg8000.native
import psycopg

import byom_sql
from tests.model_server import ModelServer
from tests.wire import (
    SEED_QUERY,
    WireServer,
    create_seed_predictor,
    prepared_server,
    seed_server,  # noqa: F401 - fixture
)

PREPARED = (
    "SELECT number_of_rooms, number_of_rooms_confidence FROM byom "
    "WHERE initial_price = $1 AND rental_price = $2"
)


def test_every_client_sees_the_same_types(seed_server: WireServer) -> None:
    dsn = f"host=127.0.0.1 port={seed_server.port} user=t dbname=byom"
    with psycopg.connect(dsn) as conn:  # the model answers once: its types are seen
        cur = conn.execute(SEED_QUERY)
        assert cur.fetchall() == [(6000.0, 0.5, 3000, 3000)]
        simple = {c.name: c.type_code for c in cur.description or []}
    assert simple["number_of_rooms"] == simple["number_of_rooms_confidence"] == 701

    described = subprocess.run(
        ["psql", "-X", "-At", "-F", "|", "-h", "127.0.0.1", "-p", str(seed_server.port), "-U", "t",
         "-d", "byom", "-c", "\\d mindsdb.byom"],
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    kinds = dict(line.split("|")[:2] for line in described.splitlines() if "|" in line)
    assert kinds["number_of_rooms"] == kinds["number_of_rooms_confidence"] == "double precision"

    async def with_asyncpg() -> tuple[list[str], list[tuple[object, ...]]]:
        conn = await asyncpg.connect(f"postgresql://t@127.0.0.1:{seed_server.port}/byom")
        try:
            statement = await conn.prepare(PREPARED)
            names = [a.type.name for a in statement.get_attributes()]
            return names, [tuple(r) for r in await statement.fetch(3000, 3000)]
        finally:
            await conn.close()

    names, rows = asyncio.run(with_asyncpg())
    assert names == ["float8", "float8"] and rows == [(6000.0, 0.5)]

    pg = pg8000.native.Connection("t", host="127.0.0.1", port=seed_server.port, database="byom")
    try:
        found = pg.run(
            "SELECT number_of_rooms FROM byom WHERE initial_price = :a AND rental_price = :b",
            a=3000,
            b=3000,
        )
        assert found == [[6000.0]]
    finally:
        pg.close()


def test_before_the_first_call_the_described_columns_come_back(tmp_path: Path) -> None:
    with prepared_server(tmp_path, create_seed_predictor) as fresh:

        async def scenario() -> tuple[list[str], list[tuple[object, ...]]]:
            conn = await asyncpg.connect(f"postgresql://t@127.0.0.1:{fresh.port}/byom")
            try:
                statement = await conn.prepare(PREPARED)  # no model call has been made
                names = [a.name for a in statement.get_attributes()]
                return names, [tuple(r) for r in await statement.fetch(3000, 3000)]
            finally:
                await conn.close()

        names, rows = asyncio.run(scenario())
    assert names == ["number_of_rooms", "number_of_rooms_confidence"]
    assert rows == [("6000.0", 0.5)]  # the label is text until the model was seen


def test_seen_types_survive_a_restart(tmp_path: Path) -> None:
    """What the model was seen to return is kept in the file: a server started again
    describes the predictor as it did before, before any new model call."""
    model = ModelServer().start()
    try:
        database = str(tmp_path / "wire.duckdb")
        with byom_sql.connect(database) as con:
            for sql in create_seed_predictor(model):
                con.sql(sql)
            con.sql(SEED_QUERY).fetchall()
        server = WireServer(tmp_path)
        try:

            async def prepared() -> dict[str, str]:
                conn = await asyncpg.connect(
                    host="127.0.0.1", port=server.port, user="t", database="byom"
                )
                try:
                    statement = await conn.prepare(PREPARED)
                    return {a.name: a.type.name for a in statement.get_attributes()}
                finally:
                    await conn.close()

            described = asyncio.run(prepared())
        finally:
            server.stop()
        assert described == {"number_of_rooms": "float8", "number_of_rooms_confidence": "float8"}
        assert len(model.requests) == 1  # only the call made before the restart
    finally:
        model.stop()


def test_a_prepared_join_with_repeated_column_names(tmp_path: Path) -> None:
    """`t.*, p.*` repeats number_of_rooms: each is described and sent in its own place."""
    query = "SELECT t.*, p.* FROM home_rentals t JOIN byom p WHERE t.rental_price > $1"
    with prepared_server(tmp_path, create_seed_predictor) as server:
        dsn = f"host=127.0.0.1 port={server.port} user=t dbname=byom"
        with psycopg.connect(dsn) as conn:  # the model answers once: its types are seen
            conn.execute(SEED_QUERY).fetchall()

        async def prepared() -> tuple[list[str], list[tuple[object, ...]]]:
            conn = await asyncpg.connect(
                host="127.0.0.1", port=server.port, user="t", database="byom"
            )
            try:
                statement = await conn.prepare(query)
                rows = [tuple(r) for r in await statement.fetch(5300)]
                return [a.name for a in statement.get_attributes()], rows
            finally:
                await conn.close()

        names, rows = asyncio.run(prepared())
    assert names == [
        "number_of_rooms", "initial_price", "rental_price",
        "number_of_rooms", "number_of_rooms_confidence", "initial_price", "rental_price",
    ]  # fmt: skip
    assert sorted(rows) == [
        (1, 3000, 5400, 8400.0, 0.5, 3000, 5400),
        (3, 100, 6000, 6100.0, 0.5, 100, 6000),
    ]
