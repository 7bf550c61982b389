"""Results are reusable: whole-result methods give every row each time, the cursor methods
share one DB-API cursor, and a later statement never empties an earlier result."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import byom_sql
from tests.conftest import create_byom, load_home_rentals
from tests.model_server import Misbehaviour, ModelServer

ROOT = Path(__file__).parent.parent


@pytest.fixture
def numbers(con: byom_sql.Connection) -> byom_sql.Connection:
    con.sql("CREATE TABLE n AS SELECT range AS x FROM range(25000)")
    return con


def test_whole_result_methods_repeat_and_mix(numbers: byom_sql.Connection) -> None:
    res = numbers.sql("SELECT x FROM n ORDER BY x")
    assert res.arrow().num_rows == 25000
    assert len(res.df()) == 25000
    assert len(res.fetchall()) == 25000
    assert res.arrow().column("x").to_pylist() == list(range(25000))
    assert res.fetchnumpy()["x"].tolist() == list(range(25000))
    assert res.pl().height == 25000
    assert isinstance(res.fetchnumpy()["x"], np.ndarray)


def test_cursor_methods_share_one_cursor(numbers: byom_sql.Connection) -> None:
    res = numbers.sql("SELECT x FROM n ORDER BY x")
    assert res.fetchone() == (0,)
    assert res.fetchmany(3) == [(1,), (2,), (3,)]
    assert next(iter(res)) == (4,)
    rest = res.fetchall()
    assert rest[0] == (5,) and len(rest) == 25000 - 5
    assert res.fetchall() == [] and res.fetchone() is None
    assert res.arrow().num_rows == 25000  # the whole result is still there


def test_iteration_and_fetchmany_cross_batches(numbers: byom_sql.Connection) -> None:
    res = numbers.sql("SELECT x FROM n ORDER BY x")
    chunks = []
    while chunk := res.fetchmany(7000):
        chunks.append(len(chunk))
    assert chunks == [7000, 7000, 7000, 4000]
    assert [row[0] for row in numbers.sql("SELECT x FROM n ORDER BY x")] == list(range(25000))


def test_a_later_statement_keeps_the_earlier_result(numbers: byom_sql.Connection) -> None:
    r1 = numbers.sql("SELECT x FROM n WHERE x < 3 ORDER BY x")
    r2 = numbers.sql("SELECT count(*) FROM n")
    assert r1.fetchall() == [(0,), (1,), (2,)]
    assert r2.fetchall() == [(25000,)]
    partly = numbers.sql("SELECT x FROM n ORDER BY x")
    assert partly.fetchone() == (0,)
    numbers.sql("SELECT 1")
    assert len(partly.fetchall()) == 24999 and partly.arrow().num_rows == 25000


def test_fetchone_of_a_large_result_reads_one_batch(con: byom_sql.Connection) -> None:
    res = con.sql("SELECT * FROM range(10000000)")
    assert res.fetchone() == (0,)
    assert res.rowcount < 1_000_000  # rows read from DuckDB so far


def test_batches_stream_and_then_say_why_nothing_is_left(con: byom_sql.Connection) -> None:
    res = con.sql("SELECT * FROM range(300000)")
    assert sum(batch.num_rows for batch in res.batches()) == 300000
    with pytest.raises(byom_sql.Error, match=r"streamed by batches\(\)"):
        res.arrow()
    closed = con.sql("SELECT * FROM range(300000)")
    closed.fetchone()
    closed.close()
    with pytest.raises(byom_sql.Error, match=r"it was closed"):
        closed.fetchall()


def test_a_command_result(con: byom_sql.Connection) -> None:
    res = con.sql("CREATE TABLE t (a INTEGER)")
    assert not res.has_rows and res.status == "CREATE TABLE"
    assert res.arrow() == pa.table({}) or res.arrow().num_rows == 0


def test_the_readme_snippet_runs_verbatim(
    tmp_path: Path, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The Python API") :]
    snippet = re.search(r"```python\n(.*?)```", section, re.S)
    assert snippet is not None
    monkeypatch.chdir(tmp_path)
    with byom_sql.connect("state.duckdb") as con:
        load_home_rentals(con)
        create_byom(con, model_server)
    shown: list[object] = []
    lines = [
        f"shown.append({line.split('#')[0].strip()})" if line.startswith("res.") else line
        for line in snippet.group(1).splitlines()
    ]
    exec("\n".join(lines), {"shown": shown})  # noqa: S102 - the README's own code
    table, frame, rows, columns = shown
    assert isinstance(table, pa.Table) and table.num_rows == 1
    assert len(frame) == 1 and len(rows) == 1  # type: ignore[arg-type]
    assert columns == table.column_names


def test_an_extra_output_named_for_its_target_keeps_its_name(
    con: byom_sql.Connection, model_server: ModelServer
) -> None:
    """An MLflow model returning a DataFrame with number_of_rooms and
    number_of_rooms_confidence: no number_of_rooms_number_of_rooms_confidence."""
    load_home_rentals(con, 2)
    con.sql(
        "CREATE PREDICTOR m PREDICT number_of_rooms USING "
        f"url.predict = '{model_server.url}/invocations', format = 'mlflow'"
    )
    records = [{"number_of_rooms": n, "number_of_rooms_confidence": n / 10} for n in (1, 2)]
    model_server.misbehaviour = Misbehaviour(body=json.dumps({"predictions": records}).encode())
    res = con.sql(
        "SELECT p.number_of_rooms, p.number_of_rooms_confidence "
        "FROM home_rentals t JOIN m p ORDER BY 1"
    )
    assert res.fetchall() == [(1, 0.1), (2, 0.2)]
    assert not any(
        "number_of_rooms_number_of_rooms" in c
        for c in con.sql("SELECT * FROM home_rentals t JOIN m p").columns
    )
