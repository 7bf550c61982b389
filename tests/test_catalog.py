"""Predictors persist in the DuckDB file; SHOW/DESCRIBE; duplicates; concurrent sessions."""

from __future__ import annotations

import threading

import pytest

import byom_sql
from byom_sql.engine import Engine

CREATE = (
    "CREATE {how} {exists} byom PREDICT number_of_rooms USING format = 'ray_serve', "
    "url.predict = 'http://127.0.0.1:9/predict', check = false, "
    'dtype_dict = {{"number_of_rooms": "categorical", "initial_price": "integer"}}'
)


def create(con: byom_sql.Connection, how: str = "PREDICTOR", exists: str = "") -> byom_sql.Result:
    return con.sql(CREATE.format(how=how, exists=exists))


def test_predictors_persist_in_the_file(tmp_path) -> None:
    path = str(tmp_path / "state.duckdb")
    with byom_sql.connect(path) as con:
        assert create(con).status == "CREATE PREDICTOR"
    with byom_sql.connect(path) as con:
        [row] = con.sql("SHOW PREDICTORS").fetchall()
        names = con.sql("SHOW PREDICTORS").columns
    assert names == [
        "name",
        "project",
        "status",
        "format",
        "predict",
        "url_predict",
        "version",
        "error",
        "created_at",
    ]
    assert row[:7] == (
        "byom",
        "mindsdb",
        "complete",
        "ray_serve",
        "number_of_rooms",
        "http://127.0.0.1:9/predict",
        1,
    )


def test_duplicates_and_missing(con: byom_sql.Connection) -> None:
    create(con)
    with pytest.raises(byom_sql.DuplicateObject, match="already exists") as raised:
        create(con, how="MODEL")
    assert raised.value.sqlstate == "42710"
    create(con, exists="IF NOT EXISTS")
    create(con, how="OR REPLACE PREDICTOR")
    assert con.sql("SELECT count(*) FROM mindsdb.models").fetchone() == (1,)
    con.sql("DROP MODEL byom")
    con.sql("DROP PREDICTOR IF EXISTS byom")
    with pytest.raises(byom_sql.UndefinedObject) as missing:
        con.sql("DROP PREDICTOR byom")
    assert missing.value.sqlstate == "42P01"


def test_show_filters_and_catalog_tables(con: byom_sql.Connection) -> None:
    create(con)
    con.sql(
        "CREATE MODEL proj.other PREDICT y USING format = 'mlflow', "
        "url.predict = 'http://127.0.0.1:9/invocations', check = false"
    )
    assert [r[0] for r in con.sql("SHOW MODELS").fetchall()] == ["byom", "other"]
    assert [r[0] for r in con.sql("SHOW PREDICTORS LIKE 'oth%'").fetchall()] == ["other"]
    assert [r[0] for r in con.sql("SHOW MODELS FROM proj").fetchall()] == ["other"]
    assert [r[0] for r in con.sql("SHOW MODELS WHERE format = 'mlflow'").fetchall()] == ["other"]
    assert con.sql("SELECT name FROM mindsdb.models WHERE status = 'error'").fetchall() == []
    assert con.sql("SELECT count(*) FROM mindsdb.models_versions").fetchone() == (2,)
    con.sql("DROP MODEL proj.other")


def test_describe(con: byom_sql.Connection) -> None:
    create(con)
    for statement in ("DESCRIBE byom", "DESCRIBE PREDICTOR byom", "DESCRIBE MODEL mindsdb.byom"):
        rows = dict(con.sql(statement).fetchall())
        assert rows["features"] == "initial_price"
        assert rows["predict"] == "number_of_rooms"
        assert rows["status"] == "complete"
    con.sql("CREATE TABLE t AS SELECT 1 AS a")
    assert con.sql("DESCRIBE t").fetchall()[0][:2] == ("a", "INTEGER")  # DuckDB's own


def test_reserved_names(con: byom_sql.Connection) -> None:
    with pytest.raises(byom_sql.InvalidOption, match="reserved"):
        con.sql(
            "CREATE MODEL models PREDICT y USING format = 'mlflow', "
            "url.predict = 'http://127.0.0.1:9/invocations', check = false"
        )


def test_sessions_share_one_consistent_catalog(tmp_path) -> None:
    engine = Engine(str(tmp_path / "shared.duckdb"))
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with engine.connect() as con:
                con.sql(
                    f"CREATE MODEL m{i} PREDICT y USING format = 'mlflow', "
                    "url.predict = 'http://127.0.0.1:9/invocations', check = false"
                )
                try:
                    create(con)
                except byom_sql.DuplicateObject:
                    pass
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as con:
        assert con.sql("SELECT count(*) FROM mindsdb.models").fetchone() == (9,)
    engine.close()
