# ruff: noqa: F811 - the terminals fixture, imported
"""The shell's psql habits under a real pseudo-terminal: \\pset null, the pager, an rc file,
\\c to another database, \\e in $EDITOR, \\watch, \\copy, and \\dt listing predictors."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.test_shell import Terminal, terminals  # noqa: F401 - fixture


def test_pset_null_and_the_rc_file(tmp_path: Path, terminals: list[Terminal]) -> None:
    rc = tmp_path / "rc"
    rc.write_text("-- settings\n\\pset null (nothing)\nCREATE TABLE rc_made (a INTEGER);\n")
    shell = Terminal(tmp_path, env={"BYOMSQLRC": str(rc)})
    terminals.append(shell)
    output = shell.run("SELECT NULL AS a, 1 AS b FROM rc_made RIGHT JOIN (SELECT 1) x ON true;")
    assert "(nothing)" in output and "NULL" not in output.split("SELECT")[-1].split("\n", 1)[1]


def test_pager_pages_results_taller_than_the_screen(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    pager = tmp_path / "pager.py"
    pager.write_text("import sys\nsys.stdout.write('PAGED<' + sys.stdin.read() + '>PAGED')\n")
    shell = Terminal(tmp_path, env={"PAGER": f"{sys.executable} {pager}"})
    terminals.append(shell)
    tall = shell.run("SELECT * FROM range(100) r(i);")
    assert "PAGED<" in tall and " 99\n" in tall and "(100 rows)" in tall and "shown" not in tall
    short = shell.run("SELECT 1 AS one;")
    assert "PAGED" not in short
    assert "Pager usage is off" in shell.run("\\pset pager off")
    assert "PAGED" not in shell.run("SELECT * FROM range(100) r(i);")


def test_connect_switches_the_database_file(tmp_path: Path, terminals: list[Terminal]) -> None:
    shell = Terminal(tmp_path)
    terminals.append(shell)
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    assert f"Connected to {first}" in shell.run(f"\\c {first}")
    shell.run("CREATE TABLE only_in_first AS SELECT 1 AS x;")
    assert f"Connected to {second}" in shell.run(f".open {second}")
    assert "only_in_first" not in shell.run("\\dt")
    shell.run(f"\\c {first}")
    assert "only_in_first" in shell.run("\\dt")


def test_edit_runs_what_the_editor_saved(tmp_path: Path, terminals: list[Terminal]) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\np = sys.argv[1]\ntext = open(p).read()\n"
        "open(p, 'w').write(text.replace('41', '42'))\n"
    )
    shell = Terminal(tmp_path, env={"EDITOR": f"{sys.executable} {editor}"})
    terminals.append(shell)
    assert "41" in shell.run("SELECT 41 AS answer;")
    edited = shell.run("\\e")
    assert "SELECT 42 AS answer;" in edited and " 42\n" in edited


def test_watch_repeats_until_ctrl_c(tmp_path: Path, terminals: list[Terminal]) -> None:
    shell = Terminal(tmp_path)
    terminals.append(shell)
    shell.run("SELECT 'tick' AS t;")
    shell.child.send("\\watch 0.2\r")
    for _ in range(3):
        shell.child.expect("every 0.2s", timeout=10)
    shell.child.sendintr()
    shell.prompt(timeout=10)
    assert "1" in shell.run("SELECT 1 AS still_here;")


def test_copy_to_and_from_a_local_file(tmp_path: Path, terminals: list[Terminal]) -> None:
    shell = Terminal(tmp_path)
    terminals.append(shell)
    out = tmp_path / "out.csv"
    shell.run("CREATE TABLE src AS SELECT range AS id, 'n' || range AS name FROM range(3);")
    assert "COPY 3" in shell.run(f"\\copy (SELECT * FROM src ORDER BY id) TO '{out}' csv")
    assert out.read_text() == "id,name\n0,n0\n1,n1\n2,n2\n"
    shell.run("CREATE TABLE dst (id INTEGER, name VARCHAR);")
    assert "COPY 3" in shell.run(f"\\copy dst FROM '{out}'")
    assert "(3 rows)" in shell.run("SELECT * FROM dst JOIN src USING (id, name);")
    assert "ERROR" in shell.run("\\copy nonsense")


def test_dt_lists_predictors_as_the_server_does(tmp_path: Path, terminals: list[Terminal]) -> None:
    shell = Terminal(tmp_path)
    terminals.append(shell)
    shell.run(
        "CREATE PREDICTOR byom PREDICT y USING url.predict = 'http://127.0.0.1:9/p', "
        "check = false, format = 'ray_serve';"
    )
    listed = shell.run("\\dt")
    assert "byom" in listed and "predictor" in listed
