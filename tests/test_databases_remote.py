"""CREATE DATABASE against the machine's real PostgreSQL and MariaDB: the seed's training and
scoring through `mydb`, pushdown seen in the servers' own logs, restarts, failures, secrets."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow.compute as pc
import pytest

import byom_sql
from tests.model_server import ModelServer
from tests.remote_servers import (
    ROWS,
    RemoteSchema,
    TcpRelay,
    free_port,
    mysql_general_log,
    pg_statement_log,
)

DTYPES = '{"number_of_rooms": "categorical", "initial_price": "integer", "rental_price": "integer"}'


def _seed_predictor(con: byom_sql.Connection, server: ModelServer, schema: str) -> None:
    """The seed's CREATE PREDICTOR, reading from mydb in the server's own dialect."""
    con.sql(
        "CREATE PREDICTOR byom FROM mydb (SELECT number_of_rooms, initial_price, rental_price "
        f"FROM {schema}.home_rentals) PREDICT number_of_rooms "
        f"USING url.train = '{server.url}/ray/train', url.predict = '{server.url}/ray/predict', "
        f"dtype_dict = {DTYPES}, format = 'ray_server'"
    )


def _seed_join(schema: str) -> str:
    return (
        f"SELECT tb.number_of_rooms, t.rental_price FROM mydb.{schema}.home_rentals AS t "
        "JOIN mindsdb.byom AS tb WHERE t.rental_price > 5300"
    )


@pytest.fixture
def con() -> Iterator[byom_sql.Connection]:
    with byom_sql.connect() as connection:
        yield connection


def test_three_part_names_read_the_remote_table(
    con: byom_sql.Connection, remote: RemoteSchema
) -> None:
    assert con.sql(remote.server.create_sql()).status == "CREATE DATABASE"
    count, total = con.sql(
        f"SELECT count(*), sum(rental_price) FROM mydb.{remote.name}.home_rentals "
        "WHERE rental_price > 5300"
    ).fetchone()
    expected = remote.data.filter(pc.greater(remote.data["rental_price"], 5300))
    assert (count, total) == (expected.num_rows, pc.sum(expected["rental_price"]).as_py())
    assert 0 < count < ROWS
    columns = con.sql(f"DESCRIBE mydb.{remote.name}.home_rentals").fetchall()
    assert [c[0] for c in columns] == remote.data.column_names


def test_seed_training_reads_mydb_in_its_own_dialect(
    con: byom_sql.Connection, remote: RemoteSchema, model_server: ModelServer
) -> None:
    con.sql(remote.server.create_sql())
    _seed_predictor(con, model_server, remote.name)
    [train] = model_server.trained
    assert train.body["target"] == "number_of_rooms"
    assert train.rows == ROWS
    assert train.columns == ["number_of_rooms", "initial_price", "rental_price"]
    assert train.data[:3] == remote.data.select(train.columns).slice(0, 3).to_pylist()
    described = dict(con.sql("DESCRIBE byom").fetchall())
    assert described["status"] == "complete"
    assert described["from_database"] == "mydb"
    assert described["training_rows"] == str(ROWS)


def test_seed_join_scores_only_the_filtered_rows(
    con: byom_sql.Connection, remote: RemoteSchema, model_server: ModelServer
) -> None:
    con.sql(remote.server.create_sql())
    _seed_predictor(con, model_server, remote.name)
    model_server.reset()
    rows = con.sql(_seed_join(remote.name)).fetchall()
    wanted = remote.data.filter(pc.greater(remote.data["rental_price"], 5300)).to_pylist()
    assert len(rows) == len(wanted)
    expected = sorted((r["initial_price"] + r["rental_price"], r["rental_price"]) for r in wanted)
    assert sorted((float(p), r) for p, r in rows) == expected
    sent = [row for request in model_server.predict_requests() for row in request.data]
    assert {tuple(r) for r in (row.keys() for row in sent)} == {("initial_price", "rental_price")}
    assert all(row["rental_price"] > 5300 for row in sent)
    distinct = {(r["initial_price"], r["rental_price"]) for r in wanted}
    assert len(sent) == len(distinct)  # each distinct input once


def test_postgres_runs_the_filter_and_projection(
    con: byom_sql.Connection, pg_schema: RemoteSchema, model_server: ModelServer
) -> None:
    con.sql(
        "CREATE PREDICTOR byom PREDICT number_of_rooms USING "
        f"url.predict = '{model_server.url}/ray/predict', format = 'ray_serve', "
        f"dtype_dict = {DTYPES}"
    )
    with pg_statement_log(pg_schema) as (role, statements):
        con.sql(pg_schema.server.create_sql(user=role, password=None))
        rows = con.sql(_seed_join(pg_schema.name)).fetchall()
        con.sql("DROP DATABASE mydb")  # closes the connections before the role goes
    scans = [s for s in statements if "home_rentals" in s and s.startswith("COPY")]
    assert scans, f"no scan of home_rentals in the server's log: {statements}"
    for scan in scans:
        assert re.search(r"WHERE \"rental_price\" > '?5300'?\)", scan), scan
        assert "sqft" not in scan and "neighborhood" not in scan, scan  # projection
    assert (
        len(rows)
        == pg_schema.data.filter(pc.greater(pg_schema.data["rental_price"], 5300)).num_rows
    )


def test_mariadb_runs_the_filter_and_projection(
    con: byom_sql.Connection, mysql_schema: RemoteSchema, model_server: ModelServer
) -> None:
    con.sql(mysql_schema.server.create_sql())
    con.sql(
        "CREATE PREDICTOR byom PREDICT number_of_rooms USING "
        f"url.predict = '{model_server.url}/ray/predict', format = 'ray_serve', "
        f"dtype_dict = {DTYPES}"
    )
    with mysql_general_log(mysql_schema) as statements:
        rows = con.sql(_seed_join(mysql_schema.name)).fetchall()
    scans = [s for s in statements if "home_rentals" in s and "information_schema" not in s]
    assert scans, f"no scan of home_rentals in the general log: {statements}"
    for scan in scans:
        assert re.search(r"WHERE `rental_price` > '?5300'?", scan), scan
        assert "sqft" not in scan and "neighborhood" not in scan, scan
    data = mysql_schema.data
    assert len(rows) == data.filter(pc.greater(data["rental_price"], 5300)).num_rows


def test_raw_query_as_a_table_source(con: byom_sql.Connection, remote: RemoteSchema) -> None:
    con.sql(remote.server.create_sql())
    # text only the server's dialect reads: PostgreSQL's :: casts, MySQL's backticks
    raw = (
        f"SELECT rental_price::text AS price FROM {remote.name}.home_rentals LIMIT 3"
        if remote.server.engine == "postgres"
        else f"SELECT CAST(`rental_price` AS CHAR) AS price FROM `{remote.name}`.home_rentals "
        "LIMIT 3"
    )
    rows = con.sql(f"SELECT r.price FROM mydb ({raw}) AS r ORDER BY 1").fetchall()
    assert rows == sorted((str(p),) for p in remote.data["rental_price"][:3].to_pylist())
    joined = con.sql(f"SELECT count(*) FROM range(3) AS n JOIN mydb ({raw}) r ON true").fetchone()
    assert joined == (9,)


def test_raw_query_joined_with_a_predictor(
    con: byom_sql.Connection, remote: RemoteSchema, model_server: ModelServer
) -> None:
    con.sql(remote.server.create_sql())
    _seed_predictor(con, model_server, remote.name)
    model_server.reset()
    rows = con.sql(
        f"SELECT p.number_of_rooms, r.initial_price FROM mydb (SELECT initial_price, "
        f"rental_price FROM {remote.name}.home_rentals WHERE rental_price > 7800) AS r "
        "JOIN byom AS p ORDER BY 2"
    ).fetchall()
    wanted = remote.data.filter(pc.greater(remote.data["rental_price"], 7800)).to_pylist()
    assert sorted(rows) == sorted(
        (float(r["initial_price"] + 7900), r["initial_price"]) for r in wanted
    )
    assert all(
        row["rental_price"] == 7900 for r in model_server.predict_requests() for row in r.data
    )


def test_engine_reopening_its_file_reattaches(
    tmp_path: Path, remote: RemoteSchema, model_server: ModelServer
) -> None:
    path = str(tmp_path / "state.duckdb")
    with byom_sql.connect(path) as con:
        con.sql(remote.server.create_sql())
        _seed_predictor(con, model_server, remote.name)
    with byom_sql.connect(path) as con:
        [row] = con.sql("SHOW DATABASES").fetchall()
        assert row[:4] == ("mydb", remote.server.engine, "attached", None)
        assert len(con.sql(_seed_join(remote.name)).fetchall()) > 0
        con.sql("RETRAIN byom")  # the stored raw query runs again
        assert len(model_server.trained) == 2


def test_unreachable_at_open_does_not_stop_the_engine(
    tmp_path: Path, pg_schema: RemoteSchema
) -> None:
    relay = TcpRelay(pg_schema.server.host, pg_schema.server.port).start()
    path = str(tmp_path / "state.duckdb")
    query = f"SELECT count(*) FROM mydb.{pg_schema.name}.home_rentals"
    try:
        with byom_sql.connect(path) as con:
            con.sql(pg_schema.server.create_sql(host="127.0.0.1", port=relay.port))
            assert con.sql(query).fetchone() == (ROWS,)
        relay.stop()
        with byom_sql.connect(path) as con:
            [row] = con.sql("SHOW DATABASES").fetchall()
            assert row[2] == "unavailable"
            assert str(relay.port) in row[3] and "Connection refused" in row[3]
            assert con.sql("SELECT 42").fetchone() == (42,)  # the engine works
            with pytest.raises(byom_sql.Error) as raised:
                con.sql(query)
            assert raised.value.sqlstate == "08006"
            assert "cannot attach database mydb (postgres)" in raised.value.message
            relay.start()  # back: the next statement that needs it attaches it
            assert con.sql(query).fetchone() == (ROWS,)
            assert con.sql("SHOW DATABASES").fetchone()[2:4] == ("attached", None)
    finally:
        relay.stop()


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_unreachable_host_is_a_clear_error(con: byom_sql.Connection, engine: str) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(byom_sql.Error) as raised:
        con.sql(
            f"CREATE DATABASE mydb WITH ENGINE = '{engine}', PARAMETERS = "
            f'{{"host": "127.0.0.1", "port": {port}, "password": "s3cret-Pw"}}'
        )
    assert raised.value.sqlstate == "08006"
    assert raised.value.message == (
        f"cannot attach database mydb ({engine}): cannot reach 127.0.0.1:{port}: Connection refused"
    )
    assert con.sql("SHOW DATABASES").fetchall() == []  # nothing half-made


def test_wrong_password_is_a_clear_error_without_the_password(
    con: byom_sql.Connection, mysql_schema: RemoteSchema, caplog: pytest.LogCaptureFixture
) -> None:
    user = mysql_schema.name  # unique, and a valid user name
    mysql_schema.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'right-Pw-1'")
    mysql_schema.execute(f"GRANT SELECT ON {mysql_schema.name}.* TO '{user}'@'%'")
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(byom_sql.Error) as raised:
            con.sql(mysql_schema.server.create_sql(user=user, password="wrong-Pw-2", database=user))
        assert raised.value.sqlstate == "08006"
        assert f"Access denied for user '{user}'" in raised.value.message
        assert raised.value.message.startswith("cannot attach database mydb (mysql)")
        con.sql(mysql_schema.server.create_sql(user=user, password="right-Pw-1", database=user))
        assert con.sql("SELECT count(*) FROM mydb.home_rentals").fetchone() == (ROWS,)
        shown = str(con.sql("SHOW DATABASES").fetchall())
    finally:
        mysql_schema.execute(f"DROP USER '{user}'@'%'")
    for text in (str(raised.value), shown, caplog.text):
        assert "wrong-Pw-2" not in text and "right-Pw-1" not in text
    assert '"password": "********"' in shown


def test_server_errors_never_show_the_password(
    con: byom_sql.Connection, pg_schema: RemoteSchema, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(byom_sql.Error) as raised:
        con.sql(pg_schema.server.create_sql(database="no_such_db", password="s3cret-Pw"))
    assert 'database "no_such_db" does not exist' in raised.value.message
    con.sql(pg_schema.server.create_sql(password="s3cret-Pw"))
    looked_at = [
        con.sql("SHOW DATABASES").fetchall(),
        con.sql("SELECT * FROM duckdb_databases()").fetchall(),
        con.sql("SELECT * FROM duckdb_secrets()").fetchall(),
        con.sql(f"DESCRIBE mydb.{pg_schema.name}.home_rentals").fetchall(),
    ]
    with pytest.raises(byom_sql.Error) as missing:
        con.sql(f"SELECT * FROM mydb.{pg_schema.name}.no_such_table")
    # sqlglot logs statements it cannot parse, such as DuckDB's own CREATE SECRET
    con.sql("CREATE SECRET other (TYPE postgres, HOST '127.0.0.1', PASSWORD 's3cret-Pw')")
    assert "CREATE SECRET other" in caplog.text
    for text in (str(raised.value), str(looked_at), str(missing.value), caplog.text):
        assert "s3cret-Pw" not in text


def test_password_env_keeps_the_secret_out_of_the_catalog(
    tmp_path: Path, pg_schema: RemoteSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYOM_TEST_PGPASS", "env-Pw-3")  # trust auth accepts any password
    path = str(tmp_path / "state.duckdb")
    with byom_sql.connect(path) as con:
        con.sql(pg_schema.server.create_sql(password_env="BYOM_TEST_PGPASS"))
        stored = con.sql("SELECT parameters FROM byom.databases").fetchone()[0]
        assert "env-Pw-3" not in stored and "BYOM_TEST_PGPASS" in stored
        assert con.sql(f"SELECT count(*) FROM mydb.{pg_schema.name}.home_rentals").fetchone()[0]
    monkeypatch.delenv("BYOM_TEST_PGPASS")
    with byom_sql.connect(path) as con:
        row = con.sql("SHOW DATABASES").fetchone()
        assert row[2] == "unavailable"
        assert row[3] == (
            "environment variable BYOM_TEST_PGPASS (password_env of database mydb) is not set"
        )


def test_postgres_schema_parameter(con: byom_sql.Connection, pg_schema: RemoteSchema) -> None:
    con.sql(pg_schema.server.create_sql(schema=pg_schema.name))
    assert con.sql("SELECT count(*) FROM mydb.home_rentals").fetchone() == (ROWS,)
    raw = con.sql("SELECT count(*) FROM mydb (SELECT * FROM home_rentals)").fetchone()
    assert raw == (ROWS,)  # the raw query searches the schema too


def test_read_only_unless_asked(con: byom_sql.Connection, remote: RemoteSchema) -> None:
    table = f"mydb.{remote.name}.home_rentals"
    con.sql(remote.server.create_sql())
    with pytest.raises(byom_sql.Error, match="read-only"):
        con.sql(f"DELETE FROM {table}")
    con.sql(remote.server.create_sql(read_only=False).replace("CREATE", "CREATE OR REPLACE", 1))
    assert con.sql("SHOW DATABASES").fetchone()[4] is False  # read_only
    con.sql(f"DELETE FROM {table} WHERE rental_price > 5300")
    [(left,)] = remote.execute(f"SELECT count(*) FROM {remote.name}.home_rentals")
    assert left == remote.data.filter(pc.less_equal(remote.data["rental_price"], 5300)).num_rows


def test_lock_down_keeps_attached_databases_and_refuses_new_remote_ones(
    remote: RemoteSchema,
) -> None:
    engine = byom_sql.Engine()
    try:
        con = engine.connect()
        con.sql(remote.server.create_sql())
        engine.lock_down()
        query = f"SELECT count(*) FROM mydb.{remote.name}.home_rentals"
        assert con.sql(query).fetchone() == (ROWS,)
        with pytest.raises(byom_sql.Error) as raised:
            con.sql(remote.server.create_sql("other"))
        assert raised.value.sqlstate == "42501"
        assert "while the server runs" in raised.value.message
        con.sql("DROP DATABASE mydb")
        with pytest.raises(byom_sql.Error, match="mydb"):
            con.sql(query)
    finally:
        engine.close()


def test_explain_shows_the_remote_read_with_its_filter_and_limit(
    con: byom_sql.Connection, remote: RemoteSchema, model_server: ModelServer
) -> None:
    con.sql(remote.server.create_sql())
    _seed_predictor(con, model_server, remote.name)
    model_server.reset()
    query = f"{_seed_join(remote.name)} LIMIT 5"
    lines = [row[0] for row in con.sql(f"EXPLAIN {query}").fetchall()]
    assert model_server.requests == []
    text = "\n".join(lines)
    read = lines.index(next(line for line in lines if line.startswith("Materialize")))
    assert "reads a remote database" in lines[read]
    assert "5300" in lines[read + 1] and "LIMIT 5" in lines[read + 1]
    assert "requests: 1" in text and "distinct inputs: 5" in text
    con.sql(query).fetchall()
    assert len(model_server.predict_requests()) == 1
