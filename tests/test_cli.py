"""The one-shot command: -c, -f, stdin, formats, errors on stderr with exit status 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PREDICTOR = (
    "CREATE PREDICTOR byom PREDICT number_of_rooms USING format = 'ray_serve', "
    "url.predict = 'http://127.0.0.1:9/predict', check = false"
)


def byom_sql(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "byom_sql", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_predictors_are_shared_through_the_file(tmp_path: Path) -> None:
    database = str(tmp_path / "f.duckdb")
    created = byom_sql("--database", database, "-c", PREDICTOR)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "CREATE PREDICTOR"
    listed = byom_sql("--database", database, "-c", "SHOW PREDICTORS", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["name"], row["status"], row["format"]) == ("byom", "complete", "ray_serve")


def test_formats_and_repeated_commands() -> None:
    result = byom_sql(
        "-c", "SELECT 1 AS a, NULL AS b", "-c", "SELECT 'x,y' AS c", "--format", "csv"
    )
    assert result.stdout == 'a,b\n1,\nc\n"x,y"\n'
    table = byom_sql("-c", "SELECT 1 AS a, NULL AS b")
    assert "NULL" in table.stdout and "(1 row)" in table.stdout
    lines = byom_sql("-c", "SELECT * FROM range(3) r(i)", "--format", "jsonl").stdout
    assert [json.loads(line) for line in lines.splitlines()] == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_script_file_and_stdin(tmp_path: Path) -> None:
    script = tmp_path / "s.sql"
    script.write_text("CREATE TABLE t AS SELECT 7 AS x;\nSELECT x FROM t;\n")
    assert "7" in byom_sql("-f", str(script)).stdout
    assert byom_sql("--format", "csv", stdin="SELECT 8 AS y;").stdout == "y\n8\n"


def test_errors_go_to_stderr_with_status_1() -> None:
    result = byom_sql("-c", "SELECT 1;\nCREATE PREDICTOR p PREDICT y USING format = 'nope'")
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: unknown format 'nope'")
    assert "line 2, column 45" in result.stderr and "^" in result.stderr
    assert "Traceback" not in result.stderr
    missing = byom_sql("-c", "SELECT * FROM nowhere")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "nowhere" in missing.stderr
    unreadable = byom_sql("-f", "/nonexistent.sql")
    assert unreadable.returncode == 1 and "No such file" in unreadable.stderr


def test_output_that_is_not_a_screen_is_never_cut(tmp_path: Path) -> None:
    sql = "SELECT repeat('x', 200) AS long, 42 AS n"
    for fmt in ("table", "markdown", "csv", "json", "jsonl"):
        result = byom_sql("-c", sql, "--format", fmt)
        assert result.returncode == 0, result.stderr
        assert "x" * 200 in result.stdout and "…" not in result.stdout, fmt
    database = str(tmp_path / "d.duckdb")
    dtypes = '{"number_of_rooms": "integer", "a_feature_with_a_long_name": "integer"}'
    byom_sql("--database", database, "-c", PREDICTOR + f", dtype_dict = {dtypes}")
    described = byom_sql("--database", database, "-c", "DESCRIBE byom")
    assert '"a_feature_with_a_long_name": "integer"}' in described.stdout


def test_numbers_are_right_aligned_as_in_psql() -> None:
    result = byom_sql("-c", "SELECT * FROM (VALUES (1, 'a'), (1000, 'bbbb')) t(num, txt)")
    assert result.stdout.splitlines()[:4] == [
        " num  | txt",
        "------+------",
        "    1 | a",
        " 1000 | bbbb",
    ]


def test_commands_and_files_run_in_the_order_given(tmp_path: Path) -> None:
    script = tmp_path / "s.sql"
    script.write_text("SELECT 'file' AS step;")
    result = byom_sql("-c", "SELECT 'first' AS step", "-f", str(script), "-c", "SELECT 'last'",
                      "--format", "csv")  # fmt: skip
    assert result.stdout.split() == ["step", "first", "step", "file", "'last'", "last"]
