"""PEP 249 over the engine (byom_sql.dbapi) and the SQLAlchemy dialect on top of it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import byom_sql
from byom_sql import dbapi
from tests.model_server import ModelServer

PREDICTOR = (
    "CREATE PREDICTOR byom PREDICT number_of_rooms USING url.predict = '{url}/ray/predict', "
    'format = \'ray_serve\', dtype_dict = {{"number_of_rooms": "integer", '
    '"initial_price": "integer", "rental_price": "integer"}}'
)


def test_module_globals() -> None:
    assert dbapi.apilevel == "2.0" and dbapi.threadsafety == 1 and dbapi.paramstyle == "qmark"
    for name in ("Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
                 "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
                 "NotSupportedError"):  # fmt: skip
        assert issubclass(getattr(dbapi, name), Exception)
    assert issubclass(dbapi.ProgrammingError, dbapi.DatabaseError)
    assert issubclass(dbapi.DatabaseError, dbapi.Error)
    assert issubclass(byom_sql.SqlSyntaxError, dbapi.ProgrammingError)
    assert issubclass(byom_sql.ModelUnavailable, dbapi.OperationalError)
    assert dbapi.Error is byom_sql.Error


def test_cursor_round_trip() -> None:
    with dbapi.connect() as conn:
        cur = conn.cursor()
        assert cur.description is None and cur.rowcount == -1
        cur.execute("CREATE TABLE t (a INTEGER, b VARCHAR)")
        cur.executemany("INSERT INTO t VALUES (?, ?)", [(1, "one"), (2, "two"), (3, None)])
        assert cur.rowcount == 3
        cur.execute("SELECT a, b FROM t WHERE a >= ? ORDER BY a", (2,))
        names = [d[0] for d in cur.description or []]
        assert names == ["a", "b"] and len(cur.description[0]) == 7  # type: ignore[index]
        assert cur.description[0][1] == dbapi.NUMBER  # type: ignore[index]
        assert cur.description[1][1] == dbapi.STRING  # type: ignore[index]
        assert cur.fetchone() == (2, "two")
        assert cur.fetchall() == [(3, None)]
        cur.execute("SELECT a FROM t ORDER BY a")
        cur.arraysize = 2
        assert cur.fetchmany() == [(1,), (2,)] and cur.fetchmany(5) == [(3,)]
        assert [row for row in cur.execute("SELECT a FROM t ORDER BY a")] == [(1,), (2,), (3,)]
        cur.execute("UPDATE t SET b = 'x' WHERE a < 3")
        assert cur.rowcount == 2
        with pytest.raises(dbapi.ProgrammingError, match="no rows"):
            cur.fetchall()
        cur.close()
        with pytest.raises(dbapi.InterfaceError):
            cur.execute("SELECT 1")


def test_errors_are_pep_249_classes() -> None:
    with dbapi.connect() as conn:
        cur = conn.cursor()
        with pytest.raises(dbapi.ProgrammingError) as raised:
            cur.execute("SELECT * FROM missing")
        assert raised.value.sqlstate == "42P01"  # type: ignore[attr-defined]
        cur.execute("CREATE TABLE k (id INTEGER PRIMARY KEY)")
        cur.execute("INSERT INTO k VALUES (1)")
        with pytest.raises(dbapi.IntegrityError):
            cur.execute("INSERT INTO k VALUES (1)")
        with pytest.raises(dbapi.DataError):
            cur.execute("SELECT CAST('x' AS INTEGER)")


def test_commit_and_rollback_end_a_transaction() -> None:
    with dbapi.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE t (a INTEGER)")
        conn.commit()  # autocommit: nothing to commit, no error
        cur.execute("BEGIN")
        cur.execute("INSERT INTO t VALUES (1)")
        conn.rollback()
        assert conn.cursor().execute("SELECT count(*) FROM t").fetchone() == (0,)
        cur.execute("BEGIN")
        cur.execute("INSERT INTO t VALUES (2)")
        conn.commit()
        assert conn.cursor().execute("SELECT a FROM t").fetchall() == [(2,)]
    with pytest.raises(dbapi.InterfaceError):
        conn.cursor()


def test_pandas_read_sql_on_a_raw_connection(model_server: ModelServer) -> None:
    with dbapi.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE h AS SELECT i AS initial_price, 2 * i AS rental_price "
                    "FROM range(3) r(i)")  # fmt: skip
        cur.execute(PREDICTOR.format(url=model_server.url))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pandas names only sqlite3 as tested
            frame = pd.read_sql(
                "SELECT t.initial_price, p.number_of_rooms FROM h t JOIN byom p "
                "WHERE t.initial_price >= ? ORDER BY 1",
                conn,
                params=(1,),
            )
    assert frame.to_dict("list") == {"initial_price": [1, 2], "number_of_rooms": [3, 6]}


def test_sqlalchemy_engine_round_trip(tmp_path: Path, model_server: ModelServer) -> None:
    engine = sa.create_engine(f"byom_sql:///{tmp_path / 'sa.duckdb'}")
    meta = sa.MetaData()
    homes = sa.Table(
        "home_rentals",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("initial_price", sa.Integer),
        sa.Column("rental_price", sa.Integer),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            homes.insert(),
            [{"id": i, "initial_price": 1000 * i, "rental_price": 100 * i} for i in range(3)],
        )
        conn.execute(sa.text(PREDICTOR.format(url=model_server.url)))
    with engine.connect() as conn:
        joined = conn.execute(
            sa.text(
                "SELECT t.id, p.number_of_rooms FROM home_rentals t JOIN mindsdb.byom p "
                "WHERE t.id > :id ORDER BY t.id"
            ),  # fmt: skip
            {"id": 0},
        ).fetchall()
        assert joined == [(1, 1100), (2, 2200)]
        inspector = sa.inspect(conn)
        assert inspector.get_schema_names() == ["main", "mindsdb"]
        assert inspector.get_table_names() == ["home_rentals", "byom"]
        assert inspector.get_table_names(schema="mindsdb") == ["byom"]
        columns = inspector.get_columns("byom", schema="mindsdb")
        assert [(c["name"], str(c["type"])) for c in columns] == [
            ("number_of_rooms", "BIGINT"),
            ("number_of_rooms_confidence", "DOUBLE PRECISION"),  # Ray Serve's extra output
            ("initial_price", "BIGINT"),
            ("rental_price", "BIGINT"),
        ]
        assert [c["name"] for c in inspector.get_columns("home_rentals")] == [
            "id",
            "initial_price",
            "rental_price",
        ]
    assert len(pd.read_sql("SELECT * FROM home_rentals", engine)) == 3
    engine.dispose()


def test_sqlalchemy_in_memory_is_one_database() -> None:
    engine = sa.create_engine("byom_sql://")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE kept AS SELECT 1 AS a"))
    with engine.connect() as conn:  # a later checkout sees the same in-memory database
        assert conn.execute(sa.text("SELECT a FROM kept")).fetchall() == [(1,)]
    engine.dispose()
