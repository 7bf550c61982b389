"""Hostile and careless input through the Python API and the command line: a byom_sql error
with a SQLSTATE every time, never a foreign exception or a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import byom_sql

DEEP = 1200
BAD_INPUT = [
    ("SELECT " + "(" * DEEP + "1" + ")" * DEEP, "54001"),
    ("SELECT " + "NOT " * DEEP + "true", "54001"),
    ("SELECT 1 WHERE 1 IN " + "(SELECT " * DEEP + "1" + ")" * DEEP, "54001"),
    ("SELECT " + "CASE WHEN true THEN " * DEEP + "1" + " END" * DEEP, "54001"),
    (
        "CREATE PREDICTOR q PREDICT y USING format = 'mlflow', url.predict = 'http://h/x', "
        "dtype_dict = " + '{"a": ' * 3000 + "1" + "}" * 3000,
        "54001",
    ),
    ("CREATE PREDICTOR q PREDICT y USING format = 'mlflow', url.predict = 'http://[::1'", "42601"),
    (
        "CREATE PREDICTOR q PREDICT y USING format = 'mlflow', url.predict = 'http://h:99999/'",
        "42601",
    ),
    ("SELECT * FROM p WHERE a = 99999999999999999999999999", "22003"),
    ("SELECT '\ud800'", "22021"),
    ("SELECT 'a\x00b'", "22021"),
]


@pytest.fixture
def predictor(con: byom_sql.Connection) -> byom_sql.Connection:
    con.sql(
        "CREATE PREDICTOR p PREDICT y USING format = 'ray_serve', "
        "url.predict = 'http://127.0.0.1:9/p', check = false, "
        'dtype_dict = {"a": "integer", "y": "integer"}'
    )
    return con


@pytest.mark.parametrize(("sql", "sqlstate"), BAD_INPUT, ids=lambda v: str(v)[:30])
def test_the_api_answers_with_a_sqlstate(
    predictor: byom_sql.Connection, sql: str, sqlstate: str
) -> None:
    with pytest.raises(byom_sql.Error) as raised:
        predictor.sql(sql).fetchall()
    assert raised.value.sqlstate == sqlstate
    assert predictor.sql("SELECT 42").fetchall() == [(42,)]  # the connection still works


def test_deep_but_reasonable_nesting_works(con: byom_sql.Connection) -> None:
    depth = 150
    assert con.sql("SELECT " + "(" * depth + "1" + ")" * depth).fetchall() == [(1,)]
    case = "SELECT " + "CASE WHEN true THEN " * depth + "2" + " END" * depth
    assert con.sql(case).fetchall() == [(2,)]


def test_bad_parameters(con: byom_sql.Connection) -> None:
    with pytest.raises(byom_sql.Error) as raised:
        con.sql("SELECT ?", ["\udcff"])
    assert raised.value.sqlstate == "22021"


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "byom_sql", *args]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)


@pytest.mark.parametrize(("sql", "sqlstate"), BAD_INPUT[:5] + BAD_INPUT[8:9])
def test_the_command_line_prints_an_error_not_a_traceback(
    tmp_path: Path, sql: str, sqlstate: str
) -> None:
    script = tmp_path / "bad.sql"
    script.write_bytes(sql.encode("utf-8", "surrogatepass"))
    done = run_cli("-f", str(script))
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr and done.stderr.startswith(b"ERROR")


@pytest.mark.parametrize("data", [b"SELECT \xff\xfe", b"SELECT '\xc3'", b"SELECT 'a\x00'"])
def test_invalid_utf8_from_a_file_or_stdin(tmp_path: Path, data: bytes) -> None:
    script = tmp_path / "bad.sql"
    script.write_bytes(data)
    for done in (run_cli("-f", str(script)), run_cli(stdin=data)):
        assert done.returncode == 1
        assert b"Traceback" not in done.stderr
        assert b"invalid byte sequence for encoding UTF8" in done.stderr


def test_a_missing_file(tmp_path: Path) -> None:
    done = run_cli("-f", str(tmp_path / "nope.sql"))
    assert (
        done.returncode == 1 and b"cannot read" in done.stderr and b"Traceback" not in done.stderr
    )
