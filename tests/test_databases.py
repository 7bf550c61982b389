"""CREATE DATABASE for the file engines (SQLite, DuckDB files, Parquet/CSV/JSON), the statement
rules shared by every engine, raw queries in SELECT, restarts and the server lock-down."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import byom_sql
from byom_sql.dialect import nodes, parse, to_sql
from tests.model_server import ModelServer
from tests.remote_servers import COLUMNS, ROWS, home_rentals

DTYPES = '{"number_of_rooms": "categorical", "initial_price": "integer", "rental_price": "integer"}'


@pytest.fixture(scope="module")
def data() -> pa.Table:
    return home_rentals()


@pytest.fixture
def sqlite_file(tmp_path: Path, data: pa.Table) -> str:
    path = str(tmp_path / "rentals.sqlite")
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE home_rentals ({COLUMNS})")
        marks = ", ".join("?" * data.num_columns)
        rows = [tuple(r.values()) for r in data.to_pylist()]
        db.executemany(f"INSERT INTO home_rentals VALUES ({marks})", rows)
    return path


@pytest.fixture
def duckdb_file(tmp_path: Path, data: pa.Table) -> str:
    path = str(tmp_path / "rentals.duckdb")
    with duckdb.connect(path) as db:
        db.register("data", data)
        db.execute("CREATE SCHEMA test_data; CREATE TABLE test_data.home_rentals AS FROM data")
    return path


@pytest.fixture
def data_dir(tmp_path: Path, data: pa.Table) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    with duckdb.connect() as db:
        db.register("data", data)
        db.execute(f"COPY data TO '{folder}/home_rentals.parquet'")
        db.execute(f"COPY (FROM data LIMIT 10) TO '{folder}/sample.csv'")
        db.execute(f"COPY (FROM data LIMIT 5) TO '{folder}/tiny.jsonl'")
    (folder / "notes.txt").write_text("not data")
    return folder


@pytest.fixture
def con() -> Iterator[byom_sql.Connection]:
    with byom_sql.connect() as connection:
        yield connection


def _create(
    con: byom_sql.Connection, engine: str, name: str = "mydb", **parameters: object
) -> None:
    con.sql(
        f"CREATE DATABASE {name} WITH ENGINE = '{engine}', PARAMETERS = {json.dumps(parameters)}"
    )


def _seed_predictor(con: byom_sql.Connection, server: ModelServer, raw: str) -> None:
    con.sql(
        f"CREATE PREDICTOR byom FROM mydb ({raw}) PREDICT number_of_rooms "
        f"USING url.train = '{server.url}/ray/train', url.predict = '{server.url}/ray/predict', "
        f"dtype_dict = {DTYPES}, format = 'ray_server'"
    )


def _above(data: pa.Table, price: int) -> pa.Table:
    return data.filter(pc.greater(data["rental_price"], price))


# the file engines ---------------------------------------------------------------------------


def test_sqlite_database(
    con: byom_sql.Connection, sqlite_file: str, data: pa.Table, model_server: ModelServer
) -> None:
    _create(con, "sqlite", db_file=sqlite_file)  # MindsDB's spelling
    assert con.sql("SELECT count(*) FROM mydb.home_rentals").fetchone() == (ROWS,)
    assert con.sql("SELECT count(*) FROM mydb.main.home_rentals").fetchone() == (ROWS,)
    # the raw query is SQLite's dialect: IFNULL, || and SUBSTR run through DuckDB
    raw = "SELECT SUBSTR(location || '!', 1, 20) AS l, IFNULL(sqft, 0) AS s FROM home_rentals"
    assert con.sql(f"SELECT count(*) FROM mydb ({raw})").fetchone() == (ROWS,)
    _seed_predictor(
        con, model_server, "SELECT number_of_rooms, initial_price, rental_price FROM home_rentals"
    )
    [train] = model_server.trained
    assert (train.rows, train.columns) == (
        ROWS,
        ["number_of_rooms", "initial_price", "rental_price"],
    )
    rows = con.sql(
        "SELECT tb.number_of_rooms, t.rental_price FROM mydb.home_rentals AS t "
        "JOIN mindsdb.byom AS tb WHERE t.rental_price > 5300"
    ).fetchall()
    assert len(rows) == _above(data, 5300).num_rows


def test_duckdb_file_database(
    con: byom_sql.Connection, duckdb_file: str, data: pa.Table, model_server: ModelServer
) -> None:
    _create(con, "duckdb", database=duckdb_file)
    table = "mydb.test_data.home_rentals"
    assert con.sql(f"SELECT count(*) FROM {table}").fetchone() == (ROWS,)
    _seed_predictor(
        con,
        model_server,
        "WITH r AS (SELECT * FROM test_data.home_rentals) "
        "SELECT number_of_rooms, initial_price, rental_price FROM r",
    )
    assert model_server.trained[0].rows == ROWS
    model_server.reset()
    rows = con.sql(
        f"SELECT tb.number_of_rooms, t.rental_price FROM {table} AS t "
        "JOIN mindsdb.byom AS tb WHERE t.rental_price > 5300"
    ).fetchall()
    wanted = _above(data, 5300).to_pylist()
    assert sorted((float(p), r) for p, r in rows) == sorted(
        (w["initial_price"] + w["rental_price"], w["rental_price"]) for w in wanted
    )
    assert all(
        row["rental_price"] > 5300 for r in model_server.predict_requests() for row in r.data
    )


def test_files_database(con: byom_sql.Connection, data_dir: Path, data: pa.Table) -> None:
    _create(con, "files", path=str(data_dir))
    tables = con.sql(
        "SELECT view_name FROM duckdb_views() WHERE database_name = 'mydb' ORDER BY 1"
    ).fetchall()
    assert tables == [("home_rentals",), ("sample",), ("tiny",)]  # notes.txt is no table
    assert con.sql("SELECT count(*) FROM mydb.home_rentals").fetchone() == (ROWS,)
    assert con.sql("SELECT count(*) FROM mydb.main.sample").fetchone() == (10,)
    assert con.sql("SELECT count(*) FROM mydb (SELECT * FROM tiny)").fetchone() == (5,)
    first = con.sql("SELECT * FROM mydb.tiny LIMIT 1").arrow().to_pylist()
    assert first == data.slice(0, 1).to_pylist()


def test_files_database_from_a_glob(con: byom_sql.Connection, data_dir: Path) -> None:
    _create(con, "files", path=str(data_dir / "*.csv"))
    tables = con.sql("SELECT view_name FROM duckdb_views() WHERE database_name = 'mydb'")
    assert tables.fetchall() == [("sample",)]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([], "no Parquet, CSV or JSON file at"),
        (["a.csv", "A.parquet"], "would both be table"),
    ],
)
def test_files_database_errors(
    con: byom_sql.Connection, tmp_path: Path, files: list[str], message: str
) -> None:
    for name in files:
        with duckdb.connect() as db:
            db.execute(f"COPY (SELECT 1 AS x) TO '{tmp_path / name}'")
    with pytest.raises(byom_sql.InvalidOption, match=message):
        _create(con, "files", path=str(tmp_path))
    assert con.sql("SHOW DATABASES").fetchall() == []


def test_missing_file_is_a_clear_error(con: byom_sql.Connection, tmp_path: Path) -> None:
    with pytest.raises(byom_sql.InvalidOption, match="sqlite database file .* does not exist"):
        _create(con, "sqlite", path=str(tmp_path / "nope.db"))


def test_read_only_unless_asked(con: byom_sql.Connection, sqlite_file: str) -> None:
    _create(con, "sqlite", path=sqlite_file)
    with pytest.raises(byom_sql.Error, match="read-only mode"):
        con.sql("DELETE FROM mydb.home_rentals")
    con.sql(
        "CREATE OR REPLACE DATABASE mydb WITH ENGINE = 'sqlite', "
        f'PARAMETERS = {{"path": "{sqlite_file}", "read_only": false}}'
    )
    con.sql("DELETE FROM mydb.home_rentals WHERE rental_price > 5300")
    with sqlite3.connect(sqlite_file) as db:
        [(count,)] = db.execute("SELECT count(*) FROM home_rentals WHERE rental_price > 5300")
    assert count == 0
    with pytest.raises(byom_sql.InvalidOption, match="files database is read-only"):
        _create(con, "files", name="f", path=".", read_only=False)


# the statements -----------------------------------------------------------------------------


def test_show_databases(con: byom_sql.Connection, sqlite_file: str, data_dir: Path) -> None:
    _create(con, "sqlite", name="b_lite", path=sqlite_file)
    _create(con, "files", name="a_files", path=str(data_dir))
    result = con.sql("SHOW DATABASES")
    assert result.columns == ["name", "engine", "status", "error", "read_only", "parameters"]
    assert result.fetchall() == [
        ("a_files", "files", "attached", None, True, json.dumps({"path": str(data_dir)})),
        ("b_lite", "sqlite", "attached", None, True, json.dumps({"path": sqlite_file})),
    ]
    assert con.sql("SHOW DATABASES LIKE 'B%'").fetchall()[0][0] == "b_lite"
    assert con.sql("SHOW DATABASES WHERE engine = 'files'").fetchall()[0][0] == "a_files"


def test_create_if_not_exists_or_replace_and_duplicates(
    con: byom_sql.Connection, sqlite_file: str, duckdb_file: str
) -> None:
    _create(con, "sqlite", path=sqlite_file)
    with pytest.raises(byom_sql.DuplicateObject, match="database mydb already exists") as raised:
        _create(con, "duckdb", path=duckdb_file)
    assert raised.value.sqlstate == "42710"
    con.sql(
        f"CREATE DATABASE IF NOT EXISTS mydb WITH ENGINE = 'duckdb', "
        f'PARAMETERS = {{"path": "{duckdb_file}"}}'
    )
    assert con.sql("SHOW DATABASES").fetchone()[1] == "sqlite"  # unchanged
    con.sql(
        f"CREATE OR REPLACE DATABASE mydb WITH ENGINE = 'duckdb', "
        f'PARAMETERS = {{"path": "{duckdb_file}"}}'
    )
    assert con.sql("SHOW DATABASES").fetchone()[1] == "duckdb"
    assert con.sql("SELECT count(*) FROM mydb.test_data.home_rentals").fetchone() == (ROWS,)


def test_failed_replace_keeps_the_old_database(con: byom_sql.Connection, sqlite_file: str) -> None:
    _create(con, "sqlite", path=sqlite_file)
    with pytest.raises(byom_sql.InvalidOption, match="does not exist"):
        con.sql(
            "CREATE OR REPLACE DATABASE mydb WITH ENGINE = 'sqlite', "
            'PARAMETERS = {"path": "/no/such/file.db"}'
        )
    assert con.sql("SELECT count(*) FROM mydb.home_rentals").fetchone() == (ROWS,)
    assert con.sql("SHOW DATABASES").fetchone()[2:4] == ("attached", None)


@pytest.mark.parametrize(
    ("statement", "error", "message"),
    [
        (
            "CREATE DATABASE d WITH ENGINE = 'oracle'",
            byom_sql.InvalidOption,
            "unknown database engine 'oracle'; engines: duckdb, file, files, mariadb, mysql, "
            "postgres, postgresql, sqlite, sqlite3",
        ),
        (
            'CREATE DATABASE d WITH ENGINE = \'postgres\', PARAMETERS = {"hots": "h"}',
            byom_sql.InvalidOption,
            "unknown parameter 'hots' for engine postgres; valid parameters: connect_timeout, "
            "database, dbname, host, password, password_env, password_secret, port, read_only, "
            "schema, sslmode, user, username",
        ),
        (
            'CREATE DATABASE d WITH ENGINE = \'mysql\', PARAMETERS = {"port": "x"}',
            byom_sql.InvalidOption,
            "parameter port must be a positive integer, not 'x'",
        ),
        (
            "CREATE DATABASE d WITH ENGINE = 'postgres', "
            'PARAMETERS = {"user": "a", "username": "b"}',
            byom_sql.InvalidOption,
            "parameter user is given twice",
        ),
        (
            "CREATE DATABASE d WITH ENGINE = 'sqlite'",
            byom_sql.InvalidOption,
            "engine sqlite needs parameter 'path'",
        ),
        (
            'CREATE DATABASE mindsdb WITH ENGINE = \'files\', PARAMETERS = {"path": "."}',
            byom_sql.DuplicateObject,
            "mindsdb is already the name of a schema; pick another name",
        ),
        (
            'CREATE DATABASE memory WITH ENGINE = \'files\', PARAMETERS = {"path": "."}',
            byom_sql.DuplicateObject,
            "memory is already the name of a DuckDB database; pick another name",
        ),
        (
            'CREATE DATABASE "my-db" WITH ENGINE = \'files\', PARAMETERS = {"path": "."}',
            byom_sql.InvalidOption,
            "invalid database name 'my-db': use letters, digits and _ (not first a digit)",
        ),
        ("DROP DATABASE nope", byom_sql.UndefinedObject, "database nope does not exist"),
        (
            "SELECT * FROM nope (SELECT 1)",
            byom_sql.UndefinedObject,
            "database nope does not exist: FROM nope ( … ) runs a query in a database made with "
            "CREATE DATABASE",
        ),
    ],
)
def test_clear_errors(
    con: byom_sql.Connection, statement: str, error: type[byom_sql.Error], message: str
) -> None:
    with pytest.raises(error) as raised:
        con.sql(statement)
    assert raised.value.message == message


def test_drop_database_detaches_and_forgets(con: byom_sql.Connection, sqlite_file: str) -> None:
    _create(con, "sqlite", path=sqlite_file)
    assert con.sql("DROP DATABASE mydb").status == "DROP DATABASE"
    assert con.sql("SHOW DATABASES").fetchall() == []
    with pytest.raises(byom_sql.Error, match="mydb"):
        con.sql("SELECT * FROM mydb.home_rentals")
    assert con.sql("DROP DATABASE IF EXISTS mydb").status == "DROP DATABASE"
    _create(con, "sqlite", path=sqlite_file)  # the name is free again


def test_mariadb_without_its_extension_names_the_extra(
    con: byom_sql.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(byom_sql.FeatureNotSupported) as raised:
        con.sql('CREATE DATABASE d WITH ENGINE = \'mariadb\', PARAMETERS = {"host": "127.0.0.1"}')
    assert "pip install 'byom-sql[mysql]'" in raised.value.message


# raw queries in SELECT ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM mydb (SELECT a FROM t WHERE (x > 1)) AS r",
        "SELECT * FROM mydb (WITH q AS (SELECT 1) SELECT * FROM `q`) AS r(y)",
        "SELECT a.x FROM a JOIN pg (SELECT x::text FROM s.t) AS r ON a.x = r.x",
        "FROM mydb (SHOW TABLES)",
    ],
)
def test_raw_query_sources_parse_and_round_trip(sql: str) -> None:
    [statement] = parse(sql)
    assert statement.node.find(nodes.RawQuery) is not None
    [again] = parse(to_sql(statement.node))
    assert again.node == statement.node


@pytest.mark.parametrize(
    "sql",
    ["SELECT * FROM range(3)", "SELECT * FROM read_csv('x.csv') AS t", "FROM range((SELECT 3))"],
)
def test_table_functions_are_not_raw_queries(sql: str) -> None:
    [statement] = parse(sql)
    assert statement.node.find(nodes.RawQuery) is None


def test_table_functions_still_run(con: byom_sql.Connection, data_dir: Path) -> None:
    _create(con, "files", name="range", path=str(data_dir))  # even with a database of that name
    assert con.sql("SELECT count(*) FROM range(3)").fetchone() == (3,)
    csv = con.sql(f"SELECT count(*) FROM read_csv('{data_dir}/sample.csv')").fetchone()
    assert csv == (10,)


# restarts -----------------------------------------------------------------------------------


@pytest.fixture
def state_file(tmp_path: Path, sqlite_file: str, data_dir: Path) -> str:
    """An engine file whose catalog has databases `lite` (sqlite) and `files`."""
    path = str(tmp_path / "state.duckdb")
    with byom_sql.connect(path) as con:
        _create(con, "sqlite", name="lite", path=sqlite_file)
        _create(con, "files", name="files", path=str(data_dir))
    return path


def test_reopened_file_reattaches_and_reports_what_is_gone(
    state_file: str, sqlite_file: str
) -> None:
    Path(sqlite_file).unlink()
    with byom_sql.connect(state_file) as con:
        rows = con.sql("SHOW DATABASES").fetchall()
        assert [r[:3] for r in rows] == [
            ("files", "files", "attached"),
            ("lite", "sqlite", "unavailable"),
        ]
        assert "does not exist" in rows[1][3]
        assert con.sql("SELECT count(*) FROM files.sample").fetchone() == (10,)
        with pytest.raises(byom_sql.InvalidOption, match="does not exist") as raised:
            con.sql("SELECT * FROM lite.home_rentals")
        assert "SHOW DATABASES shows its status" in str(raised.value)
        con.sql("DROP DATABASE lite")
        assert len(con.sql("SHOW DATABASES").fetchall()) == 1


def test_read_only_engine_attaches_but_does_not_change_the_catalog(
    state_file: str, data_dir: Path
) -> None:
    with byom_sql.connect(state_file, read_only=True) as con:
        assert [r[2] for r in con.sql("SHOW DATABASES").fetchall()] == ["attached", "attached"]
        assert con.sql("SELECT count(*) FROM files.sample").fetchone() == (10,)
        for statement in (
            "DROP DATABASE lite",
            f'CREATE DATABASE x WITH ENGINE = \'files\', PARAMETERS = {{"path": "{data_dir}"}}',
        ):
            with pytest.raises(byom_sql.InsufficientPrivilege, match="opened its file read-only"):
                con.sql(statement)
        assert con.sql("SELECT count(*) FROM lite.home_rentals").fetchone() == (ROWS,)


def test_training_query_with_a_raw_source_inside(
    con: byom_sql.Connection, sqlite_file: str, model_server: ModelServer
) -> None:
    _create(con, "sqlite", path=sqlite_file)
    con.sql(
        "CREATE PREDICTOR byom FROM (SELECT number_of_rooms, initial_price, rental_price "
        "FROM mydb (SELECT * FROM home_rentals WHERE rental_price > 5300) AS r) "
        f"PREDICT number_of_rooms USING url.train = '{model_server.url}/ray/train', "
        f"url.predict = '{model_server.url}/ray/predict', format = 'ray_serve'"
    )
    [train] = model_server.trained
    assert train.rows == _above(home_rentals(), 5300).num_rows
    assert all(row["rental_price"] > 5300 for row in train.data)


# the lock-down of network servers ----------------------------------------------------------


def test_lock_down(tmp_path: Path, sqlite_file: str, data_dir: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (tmp_path / "outside.csv").write_text("x\n1\n")
    engine = byom_sql.Engine()
    try:
        con = engine.connect()
        _create(con, "files", name="files", path=str(data_dir))
        _create(con, "sqlite", name="lite", path=sqlite_file)
        engine.lock_down([str(allowed)])
        assert con.sql("SELECT count(*) FROM files.sample").fetchone() == (10,)
        assert con.sql("SELECT count(*) FROM lite.home_rentals").fetchone() == (ROWS,)
        with pytest.raises(byom_sql.Error) as raised:
            con.sql(f"SELECT * FROM read_csv('{tmp_path / 'outside.csv'}')")
        assert raised.value.sqlstate == "42501"
        with pytest.raises(byom_sql.InsufficientPrivilege, match="while the server runs"):
            con.sql("CREATE DATABASE pg WITH ENGINE = 'postgres'")
        # SQLite opens files itself, past DuckDB's lock: byom_sql checks the path
        with pytest.raises(byom_sql.InsufficientPrivilege, match="outside the directories"):
            _create(con, "sqlite", path=sqlite_file)
        Path(sqlite_file).rename(allowed / "rentals.sqlite")
        _create(con, "sqlite", path=str(allowed / "rentals.sqlite"))
        assert con.sql("SELECT count(*) FROM mydb.home_rentals").fetchone() == (ROWS,)
        engine.lock_down()  # a second call changes nothing
    finally:
        engine.close()


def test_lock_down_before_any_sqlite_database(tmp_path: Path, sqlite_file: str) -> None:
    engine = byom_sql.Engine()
    try:
        engine.lock_down([str(tmp_path)])
        with pytest.raises(byom_sql.InsufficientPrivilege, match="cannot be loaded any more"):
            _create(engine.connect(), "sqlite", path=sqlite_file)
    finally:
        engine.close()
