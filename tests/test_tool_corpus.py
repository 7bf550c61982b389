"""What GUI, BI and shell tools send at connect time, when they list schemas, tables and
columns, and when they preview a table (Metabase, Grafana, DBeaver, DataGrip, pgcli), replayed
over the wire with the simple and the extended protocol. Every statement must run, and answer
with the column names the machine's real PostgreSQL gives for it.

The corpus (tests/fixtures/tools/*.json) was taken from the tools' own sources (Metabase's
postgres driver, Grafana's data source, DBeaver's PostgreSQL plugin, pgcli's pgexecute.py) and,
for DataGrip, whose source is closed, from server logs quoted in public issues; each entry says
where. Schema names are `main`, the schema our pg_namespace lists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.wire import WireServer

FIXTURES = Path(__file__).parent / "fixtures" / "tools"
CORPUS = [
    entry for path in sorted(FIXTURES.glob("*.json")) for entry in json.loads(path.read_text())
]
TABLE = """CREATE TABLE main.home_rentals (
    id INTEGER PRIMARY KEY, number_of_rooms INTEGER, initial_price INTEGER,
    rental_price INTEGER, neighborhood VARCHAR, details JSON, listed_at TIMESTAMP,
    listed_epoch BIGINT, listed_ns BIGINT)"""
ROW = (
    "INSERT INTO main.home_rentals VALUES (1, 2, 3000, 5400, 'downtown', '{\"a\": 1}', "
    "TIMESTAMP '2024-01-01 01:00:00', 1704070800, 1704070800000000000)"
)
VIEW = "CREATE VIEW main.cheap_rentals AS SELECT * FROM main.home_rentals WHERE rental_price < 3000"
POSTGRES = "host=127.0.0.1 port=5432 user=postgres"
DATABASE = "byom_tool_corpus"


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[psycopg.Connection[tuple]]:
    server = WireServer(tmp_path_factory.mktemp("tools"))
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            for sql in (TABLE, ROW, VIEW, "CREATE MACRO twice(x) AS x * 2"):
                conn.execute(sql)
            yield conn
    finally:
        server.stop()


@pytest.fixture(scope="module")
def postgres() -> Iterator[psycopg.Connection[tuple]]:
    """The same table in a database of its own on the real PostgreSQL."""
    with psycopg.connect(f"{POSTGRES} dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
        try:
            with psycopg.connect(f"{POSTGRES} dbname={DATABASE}", autocommit=True) as conn:
                conn.execute("CREATE SCHEMA main")
                conn.execute(TABLE.replace(" JSON,", " JSONB,"))
                conn.execute(ROW)
                conn.execute(VIEW)
                conn.execute(
                    "CREATE FUNCTION main.twice(x integer) RETURNS integer "
                    "LANGUAGE sql AS 'SELECT x * 2'"
                )
                conn.execute("SET search_path = main, public")
                yield conn
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def columns(conn: psycopg.Connection[tuple], sql: str, prepare: bool) -> list[str] | None:
    cursor = conn.execute(sql, prepare=prepare)  # type: ignore[call-overload]
    if cursor.description is None:
        return None
    cursor.fetchall()
    return [column.name for column in cursor.description]


@pytest.mark.parametrize("entry", CORPUS, ids=[f"{e['tool']}-{i}" for i, e in enumerate(CORPUS)])
def test_the_statement_answers_as_postgresql_does(
    ours: psycopg.Connection[tuple], postgres: psycopg.Connection[tuple], entry: dict[str, str]
) -> None:
    sql = entry["sql"]
    try:
        expected = columns(postgres, sql, prepare=False)
    except psycopg.errors.UndefinedFunction:  # an extension's (TimescaleDB's time_bucket)
        expected = columns(ours, sql, prepare=False)
    for prepare in (False, True):
        got = columns(ours, sql, prepare)
        if "natural join" in sql.lower() and got and expected:  # DuckDB orders its columns
            got, expected = sorted(got), sorted(expected)  # otherwise; the names are the same
        assert got == expected, entry["purpose"]
