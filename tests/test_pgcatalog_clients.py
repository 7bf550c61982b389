"""The catalog emulation through `byom-sql serve`, with the real clients: psql's backslash
commands, SQLAlchemy's Inspector and reflection, pandas, asyncpg's type introspection and pool
reset, pgjdbc's DatabaseMetaData. Predictors are listed as relations of schema `mindsdb`."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psycopg
import pytest

from tests.wire import SEED_DTYPES, WireServer, needs_pgjdbc, run_java

PSQL = "/usr/bin/psql"
SETUP = [
    "CREATE TABLE home_rentals (number_of_rooms INTEGER, initial_price BIGINT, "
    "rental_price DOUBLE, location VARCHAR DEFAULT 'paris')",
    "CREATE TABLE owners (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL)",
    "CREATE VIEW cheap_rentals AS SELECT * FROM home_rentals WHERE rental_price < 99",
    "CREATE PREDICTOR byom PREDICT number_of_rooms USING "
    "url.predict = 'http://127.0.0.1:9/ray/predict', check = false, format = 'ray_server', "
    f"dtype_dict = {SEED_DTYPES}",
]
BYOM_COLUMNS = [
    ("number_of_rooms", "text"),
    ("number_of_rooms_confidence", "double precision"),
    ("initial_price", "bigint"),
    ("rental_price", "bigint"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WireServer]:
    server = WireServer(tmp_path_factory.mktemp("pgcatalog"))
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        for statement in SETUP:
            conn.execute(statement)
    yield server
    server.stop()


# psql ------------------------------------------------------------------------------------------


def psql_output(server: WireServer, command: str, *options: str) -> str:
    done = subprocess.run(
        [PSQL, "-X", *options, "-h", "127.0.0.1", "-p", str(server.port)]
        + ["-U", "tester", "-d", "byom", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout


def psql(server: WireServer, command: str) -> list[list[str]]:
    """The rows psql prints for one backslash command (unaligned, tuples only)."""
    output = psql_output(server, command, "-A", "-t", "-F", "|")
    return [line.split("|") for line in output.splitlines() if line]


needs_psql = pytest.mark.skipif(not Path(PSQL).exists(), reason="psql is not installed")


@needs_psql
def test_psql_dt_and_d(server: WireServer) -> None:
    assert psql(server, r"\dt") == [
        ["main", "home_rentals", "table", "tester"],
        ["main", "owners", "table", "tester"],
        ["mindsdb", "byom", "table", "tester"],
    ]
    assert ["main", "cheap_rentals", "view", "tester"] in psql(server, r"\d")


@needs_psql
def test_psql_d_predictor(server: WireServer) -> None:
    rows = psql(server, r"\d byom")
    assert [tuple(row[:2]) for row in rows] == BYOM_COLUMNS
    described = psql(server, r"\d+ mindsdb.byom")
    assert [row[-1] for row in described] == ["target", "extra output", "feature", "feature"]


@needs_psql
def test_psql_d_table_with_primary_key(server: WireServer) -> None:
    rows = psql(server, r"\d owners")
    assert rows[:2] == [["id", "integer", "", "not null", ""], ["name", "text", "", "not null", ""]]
    assert '"owners_id_pkey" PRIMARY KEY, btree (id)' in psql_output(server, r"\d owners")
    assert psql(server, r"\d home_rentals")[3] == ["location", "text", "", "", "'paris'"]


@needs_psql
def test_psql_l_dn_df(server: WireServer) -> None:
    assert [row[:3] for row in psql(server, r"\l")] == [["wire", "tester", "UTF8"]]
    assert psql(server, r"\dn") == [["main", "tester"], ["mindsdb", "tester"]]
    assert psql(server, r"\df") == []


# SQLAlchemy and pandas -----------------------------------------------------------------------


@pytest.mark.parametrize("driver", ["psycopg", "pg8000"])
def test_sqlalchemy_inspector(server: WireServer, driver: str) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(f"postgresql+{driver}://tester@127.0.0.1:{server.port}/byom")
    try:
        with engine.connect() as conn:
            inspector = sqlalchemy.inspect(conn)
            assert inspector.get_schema_names() == ["information_schema", "main", "mindsdb"]
            # no ORDER BY in SQLAlchemy's query: PostgreSQL promises no order either
            assert sorted(inspector.get_table_names()) == ["byom", "home_rentals", "owners"]
            assert inspector.get_table_names(schema="mindsdb") == ["byom"]
            assert inspector.get_view_names() == ["cheap_rentals"]
            columns = inspector.get_columns("byom", schema="mindsdb")
            assert [(c["name"], str(c["type"]).lower()) for c in columns] == BYOM_COLUMNS
            assert inspector.get_pk_constraint("owners")["constrained_columns"] == ["id"]
            comment = inspector.get_table_comment("byom", schema="mindsdb")["text"]
            assert comment == "predictor (ray_serve): predicts number_of_rooms"
            owners = sqlalchemy.Table("owners", sqlalchemy.MetaData(), autoload_with=conn)
            assert [c.name for c in owners.primary_key] == ["id"]
            assert not owners.c.name.nullable
    finally:
        engine.dispose()


def test_pandas_read_sql_table(server: WireServer) -> None:
    pandas = pytest.importorskip("pandas")
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(f"postgresql+psycopg://tester@127.0.0.1:{server.port}/byom")
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("INSERT INTO owners VALUES (7, 'ann')"))
            conn.commit()
            frame = pandas.read_sql_table("owners", conn)
            assert frame.to_dict("records") == [{"id": 7, "name": "ann"}]
            for _ in range(6):  # psycopg prepares it, then deallocates after the rollback
                pandas.read_sql("SELECT count(*) AS n FROM owners", conn)
    finally:
        engine.dispose()


# asyncpg ---------------------------------------------------------------------------------------


def test_asyncpg_arrays_use_type_introspection(server: WireServer) -> None:
    async def scenario() -> tuple:
        conn = await asyncpg.connect(f"postgresql://tester@127.0.0.1:{server.port}/byom")
        try:
            row = await conn.fetchrow("SELECT [1, 2]::BIGINT[] AS a, ['x', NULL]::VARCHAR[] AS b")
            version = await conn.fetchval("SELECT version()")
            return tuple(row), version
        finally:
            await conn.close()

    row, version = asyncio.run(scenario())
    assert row == ([1, 2], ["x", None])
    assert version.startswith("PostgreSQL 16.0 (byom_sql ")


def test_asyncpg_pool_resets_settings(server: WireServer) -> None:
    async def scenario() -> list[str]:
        dsn = f"postgresql://tester@127.0.0.1:{server.port}/byom"
        seen = []
        async with asyncpg.create_pool(dsn, min_size=1, max_size=1) as pool:
            for _ in range(2):
                async with pool.acquire() as conn:
                    seen.append(await conn.fetchval("SHOW application_name"))
                    await conn.execute("SET application_name = 'changed'")
        return seen

    assert asyncio.run(scenario()) == ["", ""]


# psycopg: settings are reported -----------------------------------------------------------------


def test_set_is_reported_and_shown(server: WireServer) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("SET application_name = 'report me'")
        assert conn.info.parameter_status("application_name") == "report me"
        assert conn.execute("SHOW application_name").fetchone() == ("report me",)
        assert conn.execute("SELECT current_setting('server_version_num')").fetchone() == (
            "160000",
        )
        conn.execute("RESET application_name")
        assert conn.info.parameter_status("application_name") == ""
        shown = {name: value for name, value, _ in conn.execute("SHOW ALL").fetchall()}
        assert shown["server_version"] == "16.0" and shown["TimeZone"] == "UTC"


def test_rollback_to_savepoint_when_nothing_changed(server: WireServer) -> None:
    with psycopg.connect(server.dsn) as conn:
        with conn.transaction():
            conn.execute("SAVEPOINT before")
            assert conn.execute("SELECT 1").fetchone() == (1,)
            conn.execute("ROLLBACK TO SAVEPOINT before")
            conn.execute("RELEASE SAVEPOINT before")


# pgjdbc ------------------------------------------------------------------------------------------

JAVA_METADATA = """
import java.sql.*;
public class Metadata {
    static void print(ResultSet r, String... columns) throws SQLException {
        while (r.next()) {
            StringBuilder line = new StringBuilder();
            for (String c : columns) {
                line.append(line.length() > 0 ? "|" : "").append(r.getString(c));
            }
            System.out.println(line);
        }
    }
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0], "tester", "")) {
            DatabaseMetaData m = c.getMetaData();
            print(m.getTables(null, "mindsdb", "%", new String[] {"TABLE"}),
                  "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS");
            print(m.getTables(null, "main", "%", new String[] {"TABLE", "VIEW"}),
                  "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE");
            print(m.getColumns(null, "mindsdb", "byom", "%"),
                  "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE");
            print(m.getPrimaryKeys(null, "main", "owners"), "COLUMN_NAME", "PK_NAME");
            print(m.getSchemas(), "TABLE_SCHEM");
            System.out.println(m.getDatabaseProductVersion());
        }
    }
}
"""


@needs_pgjdbc
def test_pgjdbc_database_metadata(server: WireServer, tmp_path: Path) -> None:
    url = f"jdbc:postgresql://127.0.0.1:{server.port}/byom?sslmode=disable"
    assert run_java(tmp_path, JAVA_METADATA, url) == [
        "mindsdb|byom|TABLE|predictor (ray_serve): predicts number_of_rooms",
        "main|home_rentals|TABLE",
        "main|owners|TABLE",
        "main|cheap_rentals|VIEW",
        "number_of_rooms|text|12",
        "number_of_rooms_confidence|float8|8",
        "initial_price|int8|-5",
        "rental_price|int8|-5",
        "id|owners_id_pkey",
        "information_schema",
        "main",
        "mindsdb",
        "pg_catalog",
        "16.0",
    ]
