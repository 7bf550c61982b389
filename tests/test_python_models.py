"""Python models: functions, objects and classes as predictors (the Superduper and Verta seeds),
saved in the artifact store, refused where they are not trusted."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import byom_sql
from byom_sql import InsufficientPrivilege, ModelCodeError
from tests import pymodels

ROOT = Path(__file__).resolve().parent.parent


def python(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


# the seeds -------------------------------------------------------------------------------------


def test_function_from_the_superduper_seed(con: byom_sql.Connection) -> None:
    status = con.create_predictor(
        "my_model",
        model=pymodels.my_model,
        predict=["z"],
        dtype_dict={"x": "int", "y": "int", "z": "int"},
    ).status
    assert status == "CREATE PREDICTOR"
    assert con.sql("SELECT z FROM my_model WHERE x = 2 AND y = 4").fetchall() == [(6,)]
    con.sql("CREATE TABLE t AS SELECT range AS x, 10 * range AS y FROM range(4)")
    rows = con.sql("SELECT t.x, t.y, m.z FROM t JOIN my_model AS m ORDER BY t.x").fetchall()
    assert rows == [(0, 0, 0), (1, 10, 11), (2, 20, 22), (3, 30, 33)]
    # dtype_dict of the inputs only: they are cast, the output keeps the model's type
    inputs = {"x": "float", "y": "float"}
    con.create_predictor("floats", pymodels.my_model, predict="z", dtype_dict=inputs)
    assert con.sql("SELECT z FROM floats WHERE x = 2 AND y = 4").fetchall() == [(6.0,)]


def test_the_model_like_class_and_its_array_survive_a_restart(tmp_path: Path) -> None:
    database = str(tmp_path / "state.duckdb")
    array = np.random.default_rng(7).standard_normal((100_000, 20))
    expected = 2 + 4 + 2 + array[2, 4]
    with byom_sql.connect(database) as con:
        model = pymodels.AnotherModel(my_argument=2, my_array=array)
        con.create_predictor("another", model=model, predict="z")
        assert con.sql("SELECT z FROM another WHERE x = 2 AND y = 4").fetchone() == (expected,)
    store = Path(f"{database}.artifacts") / "blobs"
    [npy] = store.glob("*.npy")
    [pkl] = store.glob("*.pkl")
    assert np.array_equal(np.load(npy), array)  # the array as .npy, not inside the pickle
    assert pkl.stat().st_size < 10_000

    with byom_sql.connect(database) as con:  # a new engine on the same file
        assert con.sql("SELECT z FROM another WHERE x = 2 AND y = 4").fetchone() == (expected,)
    other = python(
        f"""
        import byom_sql
        with byom_sql.connect({database!r}) as con:
            print(con.sql("SELECT z FROM another WHERE x = 99999 AND y = 19").fetchone()[0])
        """
    )
    assert other.returncode == 0, other.stderr
    assert float(other.stdout) == 99999 + 19 + 2 + array[99999, 19]


def test_a_class_with_artifacts_is_built_once(con: byom_sql.Connection, tmp_path: Path) -> None:
    weights = tmp_path / "weights.npy"
    np.save(weights, np.array([3.0, 1.0]))
    built = pymodels.VertaModel.built
    con.create_predictor(
        "verta", model=pymodels.VertaModel, artifacts={"weights": str(weights)}, predict="y"
    )
    con.sql("CREATE TABLE t AS SELECT range::DOUBLE AS x FROM range(3)")
    rows = con.sql("SELECT t.x, v.y, v.y_confidence FROM t JOIN verta AS v ORDER BY t.x")
    assert rows.fetchall() == [(0.0, 1.0, 0.9), (1.0, 4.0, 0.9), (2.0, 7.0, 0.9)]
    con.sql("SELECT * FROM verta WHERE x = 5").fetchall()
    assert pymodels.VertaModel.built == built + 1


def test_verta_class_from_sql_with_an_artifacts_folder(tmp_path: Path) -> None:
    folder = tmp_path / "artifacts"
    folder.mkdir()
    np.save(folder / "weights.npy", np.array([2.0, 5.0]))
    database = str(tmp_path / "state.duckdb")
    with byom_sql.connect(database) as con:
        con.sql(
            "CREATE PREDICTOR verta PREDICT y USING format = 'python', "
            f"module = 'tests.pymodels:VertaModel', artifacts = '{folder}'"
        )
        assert con.sql("SELECT y FROM verta WHERE x = 10").fetchone() == (25.0,)
    (folder / "weights.npy").unlink()  # the store holds its own copy
    with byom_sql.connect(database) as con:
        assert con.sql("SELECT y FROM verta WHERE x = 1").fetchone() == (7.0,)
        described = dict(con.sql("DESCRIBE verta").fetchall())
    assert described["format"] == "python"
    assert described["callable"] == "tests.pymodels.VertaModel.predict"
    assert json.loads(described["options"])["module"] == "tests.pymodels:VertaModel"


def test_a_function_from_main_is_kept_by_value(tmp_path: Path) -> None:
    database = str(tmp_path / "state.duckdb")
    created = python(
        f"""
        import byom_sql
        def double_it(x):
            return 2 * x
        with byom_sql.connect({database!r}) as con:
            types = {{"x": "int", "y": "int"}}
            con.create_predictor("doubler", model=double_it, predict="y", dtype_dict=types)
        """
    )
    assert created.returncode == 0, created.stderr
    with byom_sql.connect(database) as con:
        assert con.sql("SELECT y FROM doubler WHERE x = 21").fetchall() == [(42,)]


def test_a_model_whose_code_is_gone_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "gone_models.py").write_text("def add(x, y):\n    return x + y\n")
    database = str(tmp_path / "state.duckdb")
    created = python(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path / "code")!r})
        import byom_sql, gone_models
        with byom_sql.connect({database!r}) as con:
            con.create_predictor("add", gone_models.add, predict="z")
        """
    )
    assert created.returncode == 0, created.stderr
    with byom_sql.connect(database) as con:
        with pytest.raises(ModelCodeError) as caught:
            con.sql("SELECT z FROM add WHERE x = 1 AND y = 2").fetchall()
        assert str(caught.value).startswith(
            "predictor add: cannot load its Python model: ModuleNotFoundError: "
            "No module named 'gone_models'"
        )
        assert "PYTHONPATH" in str(caught.value)
        [blob] = Path(f"{database}.artifacts", "blobs").glob("*.pkl")
        blob.write_bytes(blob.read_bytes() + b"tampered")
        with pytest.raises(byom_sql.Error, match="is corrupt"):
            con.sql("SELECT z FROM add WHERE x = 1 AND y = 2").fetchall()


# how models are called -------------------------------------------------------------------------


def test_one_parameter_gets_the_batch(con: byom_sql.Connection) -> None:
    pymodels.BATCHES.clear()
    con.create_predictor("scale", pymodels.scale, predict="p", batch_size=2)
    con.sql("CREATE TABLE t AS SELECT range AS a, 3 AS b FROM range(5)")
    assert con.sql("SELECT sum(p) FROM t JOIN scale").fetchone() == (30,)
    frames = pymodels.BATCHES
    assert [len(f) for f in frames] == [2, 2, 1]
    assert all(isinstance(f, pd.DataFrame) and list(f.columns) == ["a", "b"] for f in frames)

    con.create_predictor("arrow", pymodels.ArrowModel(), predict="p")
    assert con.sql("SELECT p FROM arrow WHERE x = 21").fetchone() == (42,)


def test_predict_batches_is_preferred_and_gets_columns(con: byom_sql.Connection) -> None:
    model = pymodels.BatchModel(my_argument=1, my_array=np.arange(12.0).reshape(3, 4))
    calls = pymodels.BatchModel.calls
    con.create_predictor("batched", model, predict="z", batch_size=1000)
    con.sql("CREATE TABLE t AS SELECT range AS x, range + 1 AS y FROM range(2500)")
    total = con.sql("SELECT sum(z) FROM t JOIN batched").fetchone()[0]
    x = np.arange(2500)
    assert total == pytest.approx(float(np.sum(2 * x + 2 + model.my_array[x % 3, (x + 1) % 4])))
    assert pymodels.BatchModel.calls == calls + 3


def test_outputs_of_every_shape(con: byom_sql.Connection) -> None:
    def pair(x: int) -> tuple[int, int]:  # one parameter with a scalar type: called per row
        return x, -x

    def vector(x: int) -> np.ndarray:
        return np.array([x, x])

    dtypes = {"x": "int", "a": "int", "b": "int"}
    con.create_predictor("pair", pair, predict=["a", "b"], dtype_dict=dtypes)
    assert con.sql("SELECT a, b FROM pair WHERE x = 3").fetchall() == [(3, -3)]
    con.create_predictor(
        "frame", lambda df: pd.DataFrame({"a": df["x"], "b": df["x"] * 10}), predict=["a", "b"]
    )
    assert con.sql("SELECT a, b FROM frame WHERE x = 2").fetchall() == [(2, 20)]
    con.create_predictor("vector", vector, predict="v", dtype_dict={"x": "int", "v": "num_array"})
    assert con.sql("SELECT v FROM vector WHERE x = 4").fetchone() == ([4.0, 4.0],)
    con.create_predictor("table", lambda t: pa.table({"p": t["x"]}), predict="q")
    assert con.sql("SELECT q FROM table WHERE x = 5").fetchone() == (5,)


def test_keyword_only_and_optional_parameters(con: byom_sql.Connection) -> None:
    def model(x: int, *, y: int, scale: int = 10) -> int:
        return (x - y) * scale

    con.create_predictor("kw", model, predict="z")
    assert con.sql("SELECT z FROM kw WHERE x = 5 AND y = 3").fetchone() == (20,)
    assert dict(con.sql("DESCRIBE kw").fetchall())["features"] == "x, y"


# errors ----------------------------------------------------------------------------------------


def test_an_exception_in_the_model_names_the_predictor(con: byom_sql.Connection) -> None:
    con.create_predictor("failing", pymodels.Failing(), predict="y")
    con.sql("CREATE TABLE t AS SELECT range AS x FROM range(5)")
    with pytest.raises(ModelCodeError) as caught:
        con.sql("SELECT * FROM t JOIN failing").fetchall()
    error = caught.value
    assert error.sqlstate == "38000"
    assert str(error) == (
        "predictor failing: tests.pymodels.Failing.predict raised ValueError: x = 3 is out of range"
    )
    assert con.sql("SELECT y FROM failing WHERE x = 2").fetchall() == [(2,)]  # still working


def test_interrupt_cancels_a_query_waiting_on_a_model(con: byom_sql.Connection) -> None:
    pymodels.STARTED.clear()
    pymodels.RELEASE.clear()
    con.create_predictor("blocked", pymodels.blocked, predict="y")
    interrupter = threading.Thread(target=lambda: pymodels.STARTED.wait(30) and con.interrupt())
    interrupter.start()
    try:
        with pytest.raises(byom_sql.QueryCanceled):
            con.sql("SELECT y FROM blocked WHERE x = 1").fetchall()
    finally:
        pymodels.RELEASE.set()
        interrupter.join()
    assert con.sql("SELECT y FROM blocked WHERE x = 2").fetchall() == [(2.0,)]


def test_debug_puts_the_traceback_in_the_error() -> None:
    with byom_sql.connect(debug=True) as con:
        con.create_predictor("failing", pymodels.Failing(), predict="y")
        with pytest.raises(ModelCodeError) as caught:
            con.sql("SELECT y FROM failing WHERE x = 7").fetchall()
    assert "Traceback" in str(caught.value) and "pymodels.py" in str(caught.value)


def test_errors_when_registering(con: byom_sql.Connection, tmp_path: Path) -> None:
    with pytest.raises(ModelCodeError, match="creating tests.pymodels.BadInit raised RuntimeError"):
        con.create_predictor("bad", pymodels.BadInit, artifacts={}, predict="y")
    with pytest.raises(byom_sql.InvalidOption, match="also a PREDICT column"):
        con.create_predictor("clash", pymodels.my_model, predict="y")
    with pytest.raises(byom_sql.InvalidOption, match="dtype_dict has no such column"):
        con.create_predictor(
            "m", pymodels.my_model, predict="z", dtype_dict={"x": "int", "z": "int"}
        )
    with pytest.raises(byom_sql.InvalidOption, match="a int is not a model"):
        con.create_predictor("m", 42, predict="z")
    with pytest.raises(byom_sql.InvalidOption, match="not a class"):
        con.create_predictor("m", pymodels.my_model, artifacts={"a": 1}, predict="z")
    with pytest.raises(byom_sql.InvalidOption, match="cannot be saved"):
        con.create_predictor("m", pymodels.Locked(), predict="z")
    with pytest.raises(byom_sql.InvalidOption, match="cannot import 'no_such_module'"):
        con.sql("CREATE PREDICTOR m PREDICT y USING format = 'python', module = 'no_such_module:M'")
    with pytest.raises(byom_sql.InvalidOption, match="has no attribute 'Nope'"):
        con.sql(
            "CREATE PREDICTOR m PREDICT y USING format = 'python', module = 'tests.pymodels:Nope'"
        )
    with pytest.raises(byom_sql.SqlSyntaxError, match="module is required"):
        con.sql("CREATE PREDICTOR m PREDICT y USING format = 'python'")
    with pytest.raises(
        byom_sql.SqlSyntaxError, match="url.predict does not apply to format 'python'"
    ):
        con.sql(
            "CREATE PREDICTOR m PREDICT y USING format = 'python', "
            "module = 'tests.pymodels:Failing', url.predict = 'http://127.0.0.1:9/p'"
        )
    with pytest.raises(byom_sql.SqlSyntaxError, match="module does not apply to format 'mlflow'"):
        con.sql(
            "CREATE PREDICTOR m PREDICT y USING format = 'mlflow', module = 'a.b:C', "
            "url.predict = 'http://127.0.0.1:9/p'"
        )
    assert con.sql("SHOW PREDICTORS").fetchall() == []


# trust -----------------------------------------------------------------------------------------


def test_untrusted_sessions_use_but_never_create(tmp_path: Path) -> None:
    with byom_sql.Engine(":memory:") as engine:
        with engine.connect() as embedding:
            embedding.create_predictor("my_model", pymodels.my_model, predict="z")
        with engine.connect(trusted=False) as remote:
            assert remote.sql("SELECT z FROM my_model WHERE x = 1 AND y = 2").fetchone() == (3,)
            with pytest.raises(InsufficientPrivilege) as caught:
                remote.sql(
                    "CREATE PREDICTOR m PREDICT y USING format = 'python', "
                    "module = 'tests.pymodels:VertaModel'"
                )
            assert caught.value.sqlstate == "42501"
            assert "not over the network" in str(caught.value)
            with pytest.raises(InsufficientPrivilege):
                remote.create_predictor("m", pymodels.my_model, predict="z")
            assert remote.sql("SHOW PREDICTORS").fetchall()[0][0] == "my_model"


def test_an_engine_without_python_models_loads_none(tmp_path: Path) -> None:
    database = str(tmp_path / "state.duckdb")
    with byom_sql.connect(database) as con:
        con.create_predictor("my_model", pymodels.my_model, predict="z")
    with byom_sql.connect(database, python_models=False) as con:
        with pytest.raises(InsufficientPrivilege, match="does not load Python models") as caught:
            con.sql("SELECT z FROM my_model WHERE x = 1 AND y = 2").fetchall()
        assert caught.value.sqlstate == "42501"
        assert dict(con.sql("DESCRIBE my_model").fetchall())["callable"] == (
            "tests.pymodels.my_model"
        )
        with pytest.raises(InsufficientPrivilege, match="not configured to run Python models"):
            con.sql(
                "CREATE PREDICTOR m PREDICT y USING format = 'python', "
                "module = 'tests.pymodels:VertaModel'"
            )


# training --------------------------------------------------------------------------------------


def test_create_from_data_trains_a_copy(con: byom_sql.Connection) -> None:
    con.sql("CREATE TABLE d AS SELECT range::DOUBLE AS x, 4 * range + 2.0 AS y FROM range(10)")
    con.sql(
        "CREATE PREDICTOR line FROM (SELECT x, y FROM d) PREDICT y "
        "USING format = 'python', module = 'tests.pymodels:VertaModel'"
    )
    assert con.sql("SELECT y FROM line WHERE x = 100").fetchone()[0] == pytest.approx(402.0)
    con.sql("RETRAIN line FROM (SELECT x, 2 * x AS y FROM d)")
    assert con.sql("SELECT y FROM line WHERE x = 100").fetchone()[0] == pytest.approx(200.0)
    assert con.sql("SELECT y FROM line.1 WHERE x = 100").fetchone()[0] == pytest.approx(402.0)
    assert con.sql(
        "SELECT version, status, url_predict FROM mindsdb.models_versions ORDER BY version"
    ).fetchall() == [
        (1, "complete", "python:tests.pymodels.VertaModel.predict"),
        (2, "complete", "python:tests.pymodels.VertaModel.predict"),
    ]


def test_in_memory_artifacts_go_when_the_engine_closes() -> None:
    engine = byom_sql.Engine(":memory:")
    with engine.connect() as con:
        con.create_predictor("my_model", pymodels.my_model, predict="z")
    root = engine.python.store.root
    assert any(root.rglob("*.pkl"))
    engine.close()
    assert not root.exists()


def test_the_documentation_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/python-models.md: every ```python block runs, in order, and each `expression   #
    value` line gives that value."""
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "python-models.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    checks = 0
    namespace: dict[str, object] = {"__name__": "docs_example"}
    try:
        for block in blocks:
            lines = []
            for line in block.splitlines():
                found = re.fullmatch(r"(\S.*?)\s{2,}# (.+)", line)
                if found:
                    line, checks = f"assert ({found[1]}) == ({found[2]})", checks + 1
                lines.append(line)
            exec(compile("\n".join(lines), "docs/python-models.md", "exec"), namespace)
    finally:
        con = namespace.get("con")
        if isinstance(con, byom_sql.Connection):
            con.close()
    assert len(blocks) >= 3 and checks >= 4


def test_the_command_line_shows_the_error_and_the_traceback_only_with_debug(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "state.duckdb")
    with byom_sql.connect(database) as con:
        con.create_predictor("failing", pymodels.Failing(), predict="y")
    command = [sys.executable, "-m", "byom_sql", "-d", database]
    query = ["-c", "SELECT y FROM failing WHERE x = 5"]
    plain = subprocess.run(command + query, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert plain.returncode == 1
    assert plain.stderr.startswith(
        "ERROR: predictor failing: tests.pymodels.Failing.predict raised ValueError: "
        "x = 5 is out of range"
    )
    assert "Traceback" not in plain.stderr
    debug = subprocess.run(
        [*command, "--debug", *query], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "pymodels.py" in debug.stderr
