"""The Python API: connect, sql, results as Arrow/pandas/tuples, errors."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

import byom_sql


def test_public_names() -> None:
    assert sorted(byom_sql.__all__) == sorted(
        [
            "Connection",
            "DataError",
            "DatabaseConnectionError",
            "DuplicateObject",
            "Engine",
            "EngineConfig",
            "Error",
            "FeatureNotSupported",
            "InsufficientPrivilege",
            "InvalidOption",
            "ModelCodeError",
            "ModelError",
            "ModelProtocolError",
            "ModelUnavailable",
            "Progress",
            "QueryCanceled",
            "QueryError",
            "Result",
            "SqlSyntaxError",
            "UndefinedColumn",
            "UndefinedObject",
            "connect",
        ]
    )
    for name in byom_sql.__all__:
        assert getattr(byom_sql, name)


def test_results(tmp_path) -> None:
    with byom_sql.connect(str(tmp_path / "f.duckdb")) as con:
        result = con.sql(
            "SELECT 1 AS a, 'x' AS b, NULL::INT AS c UNION ALL SELECT 2, 'y', 3 ORDER BY a"
        )
        assert result.columns == ["a", "b", "c"]
        assert result.fetchone() == (1, "x", None)
        assert result.fetchall() == [(2, "y", 3)]
        assert isinstance(con.sql("SELECT 1 AS a").arrow(), pa.Table)
        frame = con.sql("SELECT 1 AS a").df()
        assert isinstance(frame, pd.DataFrame) and frame["a"].tolist() == [1]
        assert con.sql("SELECT $1 + $2 AS s", params=[1, 2]).fetchall() == [(3,)]
        assert con.sql("SELECT ? || ? AS s", ["a", "b"]).fetchall() == [("ab",)]
        assert con.sql("CREATE TABLE t (a INT); INSERT INTO t VALUES (1), (2)").status == (
            "INSERT 0 2"
        )
        assert con.sql("SELECT * FROM t").rowcount == 0  # nothing read yet
        assert con.sql("").status == "EMPTY"


def test_errors_are_ours(con: byom_sql.Connection) -> None:
    with pytest.raises(byom_sql.SqlSyntaxError) as syntax:
        con.sql("SELECT 1;\nCREATE PREDICTOR p PREDICT")
    assert (syntax.value.sqlstate, syntax.value.line) == ("42601", 2)
    with pytest.raises(byom_sql.QueryError) as missing:
        con.sql("SELECT * FROM nowhere")
    assert missing.value.sqlstate == "42P01"
    assert missing.value.position == 14
    with pytest.raises(byom_sql.QueryError) as late:
        con.sql("SELECT 1;\nSELECT * FROM nowhere")
    assert late.value.position == 24  # offsets count from the start of the script
    with pytest.raises(byom_sql.Error, match="single statement"):
        con.sql("SELECT $1; SELECT $1", [1])


def test_duckdb_syntax_sqlglot_cannot_read_still_runs(con: byom_sql.Connection) -> None:
    assert con.sql("SELECT 42 AS x").fetchall() == [(42,)]
    assert con.sql("PRAGMA version").has_rows


def test_closed(con: byom_sql.Connection) -> None:
    con.close()
    with pytest.raises(byom_sql.Error, match="closed"):
        con.sql("SELECT 1")
