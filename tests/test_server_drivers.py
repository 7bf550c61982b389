"""Real Postgres drivers against a running `byom-sql serve`: psql, psycopg 3, asyncpg, pg8000,
SQLAlchemy + pandas, pgjdbc. Each creates the seed's predictor over the wire, runs the seed's
WHERE query and a JOIN, and checks the rows (predictions are sums: see tests/model_server.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

import asyncpg
import pg8000.native
import psycopg
import pytest

from tests.model_server import ModelServer
from tests.wire import (
    JOIN_QUERY,
    JOIN_ROWS,
    SEED_QUERY,
    SEED_ROWS,
    WireServer,
    create_seed_predictor,
    needs_pgjdbc,
    run_java,
    wire,  # noqa: F401 - fixture
)

PSQL = "/usr/bin/psql"


@pytest.fixture
def seeded(wire: WireServer, model_server: ModelServer) -> WireServer:  # noqa: F811
    with psycopg.connect(wire.dsn, autocommit=True) as conn:
        for statement in create_seed_predictor(model_server):
            conn.execute(statement)
    return wire


def psql(server: WireServer, *commands: str) -> subprocess.CompletedProcess[str]:
    args = [PSQL, "-X", "-A", "-F", "|", "-t", "-h", "127.0.0.1", "-p", str(server.port)]
    args += ["-U", "tester", "-d", "byom"]
    for command in commands:
        args += ["-c", command]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


# psql ----------------------------------------------------------------------------------------


@pytest.mark.skipif(not Path(PSQL).exists(), reason="psql is not installed")
def test_psql_seed_query_and_join(seeded: WireServer, model_server: ModelServer) -> None:
    done = psql(seeded, SEED_QUERY, JOIN_QUERY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["6000|0.5|3000|3000", "8400|5400", "6100|6000"]
    assert model_server.rows_received() == 3


@pytest.mark.skipif(not Path(PSQL).exists(), reason="psql is not installed")
def test_psql_several_statements_in_one_query(wire: WireServer) -> None:  # noqa: F811
    done = psql(wire, "SELECT 1 AS a; SELECT 'x' AS b, NULL AS c; SELECT 2.5::DOUBLE")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["1", "x|", "2.5"]


@pytest.mark.skipif(not Path(PSQL).exists(), reason="psql is not installed")
def test_psql_error_points_at_the_character(wire: WireServer) -> None:  # noqa: F811
    done = subprocess.run(
        [PSQL, "-X", "-h", "127.0.0.1", "-p", str(wire.port), "-U", "t", "-d", "b", "-c",
         "SELECT 1;\nSELECT * FROM no_such_table_x"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "no_such_table_x does not exist" in done.stderr
    assert "LINE 2: SELECT * FROM no_such_table_x" in done.stderr
    caret = done.stderr.split("LINE 2: ")[1].split("\n")[1]
    assert caret.index("^") == len("LINE 2: SELECT * FROM ")


# psycopg 3 -------------------------------------------------------------------------------------


def test_psycopg_seed_query_and_join(seeded: WireServer) -> None:
    with psycopg.connect(seeded.dsn) as conn:
        assert conn.execute(SEED_QUERY).fetchall() == SEED_ROWS
        assert conn.execute(JOIN_QUERY).fetchall() == JOIN_ROWS
        names = [d.name for d in conn.execute(SEED_QUERY).description or []]
        assert names == ["number_of_rooms", "number_of_rooms_confidence", "initial_price",
                         "rental_price"]  # fmt: skip


def test_psycopg_parameters_in_text_and_binary(
    seeded: WireServer, model_server: ModelServer
) -> None:
    query = "SELECT * FROM byom WHERE initial_price = %s AND rental_price = %s"
    with psycopg.connect(seeded.dsn, autocommit=True) as conn:
        assert conn.execute(query, (3000, 3000)).fetchall() == SEED_ROWS
        assert conn.cursor(binary=True).execute(query, (3000, 3000)).fetchall() == SEED_ROWS
        # one model call per statement, though each was described before it ran
        assert len(model_server.predict_requests()) == 2


def test_psycopg_types_round_trip(wire: WireServer) -> None:  # noqa: F811
    row = (
        7, "text", 1.5, dt.date(2024, 2, 29), True, Decimal("12.34"), None,
        dt.datetime(2024, 1, 2, 3, 4, 5, 600000), b"\x00\xff", [1, 2, None],
    )  # fmt: skip
    query = (
        "SELECT %s::INTEGER, %s::VARCHAR, %s::DOUBLE, %s::DATE, %s::BOOLEAN, "
        "%s::DECIMAL(10,2), %s::INTEGER, %s::TIMESTAMP, %s::BLOB, [1, 2, NULL]"
    )
    with psycopg.connect(wire.dsn) as conn:
        for binary in (False, True):
            assert conn.cursor(binary=binary).execute(query, row[:-1]).fetchone() == row


def test_psycopg_text_and_binary_results_of_every_common_type(wire: WireServer) -> None:  # noqa: F811
    expected = {
        "1::TINYINT": 1, "3::HUGEINT": Decimal(3), "4::UBIGINT": Decimal(4), "1.5::FLOAT": 1.5,
        "123.456::DECIMAL(10,3)": Decimal("123.456"), "'héllo'": "héllo",
        "TIME '12:34:56.789'": dt.time(12, 34, 56, 789000),
        "TIMESTAMPTZ '2020-01-02 03:04:05+02'": dt.datetime(2020, 1, 2, 1, 4, 5, tzinfo=dt.UTC),
        "INTERVAL '1 day 04:05:06'": dt.timedelta(days=1, seconds=14706),
        "'{\"a\": 1}'::JSON": {"a": 1}, "['a', NULL]": ["a", None],
        "{'x': 1, 'y': 'z'}": {"x": 1, "y": "z"}, "MAP {'k': 1}": {"k": 1},
        "[DATE '2020-01-01']": [dt.date(2020, 1, 1)], "3::UTINYINT": 3,
    }  # fmt: skip
    query = "SELECT " + ", ".join(expected)
    with psycopg.connect(wire.dsn) as conn:
        for binary in (False, True):
            row = conn.cursor(binary=binary).execute(query).fetchone()
            assert dict(zip(expected, row or (), strict=True)) == expected, binary


def test_psycopg_errors_keep_the_session(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(wire.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable) as caught:
            conn.execute("SELECT * FROM nowhere_at_all")
        assert caught.value.diag.statement_position == "15"
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("SELEC 1")
        assert conn.execute("SELECT 42").fetchone() == (42,)


def test_psycopg_failed_transaction(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(wire.dsn) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS tx_probe (a INTEGER)")
        conn.commit()
        conn.execute("INSERT INTO tx_probe VALUES (1)")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM nowhere_at_all")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM tx_probe").fetchone() == (0,)


def test_psycopg_server_side_cursor(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(wire.dsn) as conn:
        with conn.cursor(name="big") as cursor:
            cursor.itersize = 1000
            cursor.execute("SELECT range AS n FROM range(25000) WHERE range >= %s", (5,))
            assert [d.name for d in cursor.description or []] == ["n"]
            assert cursor.fetchmany(3) == [(5,), (6,), (7,)]
            assert sum(1 for _ in cursor) == 25000 - 5 - 3


def test_psycopg_cursor_with_hold_outlives_the_transaction(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(wire.dsn, autocommit=True) as conn:
        with conn.cursor(name="held", withhold=True) as cursor:
            cursor.execute("SELECT range AS n FROM range(5)")
            assert conn.execute("SELECT 'other statement'").fetchone() == ("other statement",)
            assert cursor.fetchall() == [(n,) for n in range(5)]


def test_psycopg_large_result_streams(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(wire.dsn) as conn:
        rows = conn.execute("SELECT range AS n, 'row ' || range AS s FROM range(200000)")
        total = sum(n for n, _ in rows)
    assert total == sum(range(200000))


# asyncpg ---------------------------------------------------------------------------------------


def test_asyncpg_fetch_prepared_parameters(seeded: WireServer, model_server: ModelServer) -> None:
    async def scenario() -> None:
        dsn = f"postgresql://tester@127.0.0.1:{seeded.port}/byom"
        conn = await asyncpg.connect(dsn)
        try:
            assert [tuple(r) for r in await conn.fetch(SEED_QUERY)] == SEED_ROWS
            assert [tuple(r) for r in await conn.fetch(JOIN_QUERY)] == JOIN_ROWS
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS typed (i INTEGER, f DOUBLE, t VARCHAR, d DATE, "
                "b BOOLEAN)"
            )
            await conn.execute("DELETE FROM typed")
            values = (5, 2.5, "five", dt.date(2020, 5, 5), True)
            await conn.execute("INSERT INTO typed VALUES ($1, $2, $3, $4, $5)", *values)
            statement = await conn.prepare(
                "SELECT * FROM typed WHERE i = $1 AND f = $2 AND t = $3 AND d = $4 AND b = $5"
            )
            assert [p.name for p in statement.get_parameters()] == [
                "int4", "float8", "text", "date", "bool"
            ]  # fmt: skip
            assert [tuple(r) for r in await statement.fetch(*values)] == [values]
            assert await conn.fetchval("SELECT count(*) FROM typed LIMIT $1", 1) == 1
            predicted = await conn.fetch(
                "SELECT number_of_rooms FROM byom WHERE initial_price = $1 AND rental_price = $2",
                100, 200,
            )  # fmt: skip
            # typed as the model was seen to return (dtype_dict leaves a label to the model)
            assert [tuple(r) for r in predicted] == [(300.0,)]
            # described before it runs, extra output included, and then returned exactly so
            warnings: list[str] = []
            conn.add_log_listener(lambda _, message: warnings.append(str(message)))
            seed = "SELECT * FROM byom WHERE initial_price = $1 AND rental_price = $2"
            assert [tuple(r) for r in await conn.fetch(seed, 3000, 3000)] == [
                (6000.0, 0.5, 3000, 3000)
            ]
            assert warnings == []
        finally:
            await conn.close()

    asyncio.run(scenario())
    # four statements read the predictor: four model calls, though each was described first
    assert len(model_server.predict_requests()) == 4


def test_asyncpg_pool(wire: WireServer) -> None:  # noqa: F811
    async def scenario() -> list[int]:
        dsn = f"postgresql://tester@127.0.0.1:{wire.port}/byom"
        async with asyncpg.create_pool(dsn, min_size=2, max_size=4) as pool:
            return await asyncio.gather(*(pool.fetchval("SELECT $1::INTEGER * 2", n)
                                          for n in range(10)))  # fmt: skip

    assert asyncio.run(scenario()) == [n * 2 for n in range(10)]


def test_asyncpg_cursor_with_row_limits(wire: WireServer) -> None:  # noqa: F811
    async def scenario() -> list[int]:
        conn = await asyncpg.connect(f"postgresql://tester@127.0.0.1:{wire.port}/byom")
        try:
            async with conn.transaction():
                cursor = conn.cursor("SELECT range::INTEGER AS n FROM range(10)", prefetch=3)
                return [record["n"] async for record in cursor]
        finally:
            await conn.close()

    assert asyncio.run(scenario()) == list(range(10))


# pg8000 ----------------------------------------------------------------------------------------


def test_pg8000_seed_query_join_and_parameters(seeded: WireServer) -> None:
    conn = pg8000.native.Connection("tester", host="127.0.0.1", port=seeded.port, database="b")
    try:
        assert [tuple(r) for r in conn.run(SEED_QUERY)] == SEED_ROWS
        assert [tuple(r) for r in conn.run(JOIN_QUERY)] == JOIN_ROWS
        found = conn.run(
            "SELECT number_of_rooms FROM byom WHERE initial_price = :a AND rental_price = :b",
            a=1, b=2,
        )  # fmt: skip
        # the target dtype_dict leaves to the model has the type the model was seen to return
        assert found == [[3.0]]
    finally:
        conn.close()


# SQLAlchemy + pandas -----------------------------------------------------------------------------


def test_sqlalchemy_and_pandas_read_sql(seeded: WireServer) -> None:
    pandas = pytest.importorskip("pandas")
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(
        f"postgresql+psycopg://tester@127.0.0.1:{seeded.port}/byom", poolclass=sqlalchemy.NullPool
    )
    try:
        frame = pandas.read_sql(SEED_QUERY, engine)
        assert list(frame.columns) == ["number_of_rooms", "number_of_rooms_confidence",
                                       "initial_price", "rental_price"]  # fmt: skip
        assert [tuple(r) for r in frame.itertuples(index=False)] == SEED_ROWS
        joined = pandas.read_sql(JOIN_QUERY, engine)
        assert [tuple(r) for r in joined.itertuples(index=False)] == JOIN_ROWS
    finally:
        engine.dispose()


# pgjdbc ----------------------------------------------------------------------------------------

JAVA_CLIENT = """
import java.sql.*;
public class WireClient {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0], "tester", "")) {
            for (int i = 1; i < args.length; i++) {
                try (PreparedStatement s = c.prepareStatement(args[i]);
                     ResultSet r = s.executeQuery()) {
                    int n = r.getMetaData().getColumnCount();
                    while (r.next()) {
                        StringBuilder line = new StringBuilder();
                        for (int k = 1; k <= n; k++) {
                            line.append(k > 1 ? "|" : "").append(r.getString(k));
                        }
                        System.out.println(line);
                    }
                }
            }
            try (PreparedStatement s = c.prepareStatement("SELECT ? + 1")) {
                for (int i = 0; i < 7; i++) {  // past prepareThreshold: named statements, binary
                    s.setInt(1, i);
                    try (ResultSet r = s.executeQuery()) {
                        r.next();
                        System.out.println(r.getInt(1));
                    }
                }
            }
        }
    }
}
"""


@needs_pgjdbc
def test_pgjdbc_seed_query_and_join(seeded: WireServer, tmp_path: Path) -> None:
    url = f"jdbc:postgresql://127.0.0.1:{seeded.port}/byom?sslmode=disable"
    lines = run_java(tmp_path, JAVA_CLIENT, url, SEED_QUERY, JOIN_QUERY)
    assert lines[:3] == ["6000|0.5|3000|3000", "8400|5400", "6100|6000"]
    assert lines[3:] == [str(i + 1) for i in range(7)]
