"""The interactive shell, driven in a real pseudo-terminal (pexpect), plus its pure parts:
completion, table fitting, input completeness."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import psycopg
import pytest
from pygments.token import Keyword, Name

from byom_sql.cli import render
from byom_sql.cli.completion import MetaArguments, suggest
from byom_sql.cli.introspect import Names
from byom_sql.cli.lexer import ByomLexer
from byom_sql.cli.shell import is_complete, sample
from tests.model_server import Misbehaviour, ModelServer

ROOT = str(Path(__file__).resolve().parent.parent)
# a fresh prompt: prompt_toolkit turns bracketed paste on, then draws the prompt (the redraw
# of an accepted input turns it off, so it does not match)
FRESH_PROMPT = r"\x1b\[\?2004h(?:\x1b\[[0-9;?]*[A-Za-z])*byom[^>\s]*>"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\x08")
PG_URL = os.environ.get("BYOM_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_missing() -> bool:
    """True when the machine's PostgreSQL cannot be reached (an error under CI's
    BYOM_REQUIRE_SERVERS)."""
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        if os.environ.get("BYOM_REQUIRE_SERVERS"):
            raise
        return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean(text: str) -> str:
    return ANSI.sub("", text)


class Terminal:
    """`byom-sql` in a pseudo-terminal of `width` columns, its history under `data`."""

    def __init__(
        self, data: Path, *args: str, width: int = 120, env: dict[str, str] | None = None
    ) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": ROOT,
            "XDG_DATA_HOME": str(data),
            "PROMPT_TOOLKIT_NO_CPR": "1",  # pexpect does not answer cursor position requests
            "TERM": "xterm-256color",
            "BYOMSQLRC": str(data / "no-rc-file"),  # not the developer's own
            "PAGER": "",
            **(env or {}),
        }
        env.pop("NO_COLOR", None)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "byom_sql", *args],
            env=env,
            cwd=str(data),
            encoding="utf-8",
            dimensions=(40, width),
            timeout=30,
        )
        self.banner = self.prompt()

    def prompt(self, timeout: float = 30) -> str:
        """Wait for a fresh prompt; what was written since the last one (raw)."""
        self.child.expect(FRESH_PROMPT, timeout=timeout)
        return self.child.before

    def run(self, text: str) -> str:
        """Type `text`, press Enter, wait for the next prompt; the output, escapes removed."""
        self.child.send(text + "\r")
        return clean(self.prompt())

    def quit(self, keys: str = "\\q\r") -> int:
        self.child.send(keys)
        self.child.expect(pexpect.EOF, timeout=10)
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def terminals(tmp_path: Path) -> Iterator[list[Terminal]]:
    """Start shells with `terminals.append(Terminal(...))`; all are stopped afterwards."""
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.close()


@pytest.fixture
def shell(tmp_path: Path, terminals: list[Terminal]) -> Terminal:
    terminal = Terminal(tmp_path)
    terminals.append(terminal)
    return terminal


def create_predictor(shell: Terminal, server: ModelServer, name: str = "house_price_model") -> None:
    output = shell.run(
        f"CREATE PREDICTOR {name} PREDICT number_of_rooms USING\r"
        f"url.predict = '{server.url}/ray/predict', format = 'ray_serve',\r"
        'dtype_dict = {"number_of_rooms": "float", "initial_price": "integer", '
        '"rental_price": "integer"};'
    )
    assert "CREATE PREDICTOR" in output, output


# in a pseudo-terminal ------------------------------------------------------------------------


def test_multi_line_query_shows_a_table(shell: Terminal) -> None:
    assert "byom-sql" in shell.banner and "\\?" in shell.banner
    shell.child.send("SELECT 1 AS a,\r")
    shell.child.expect("->")  # Enter before the ; continues the statement on a new line
    shell.child.send("'x' AS b,\r")
    shell.child.expect("->")
    shell.child.send("NULL AS c;\r")
    raw = shell.prompt()
    output = clean(raw)
    lines = [line.rstrip() for line in output.splitlines()]
    header = lines.index(" a | b |  c")
    assert lines[header + 1 : header + 3] == ["---+---+------", " 1 | x | NULL"]
    assert re.match(r"\(1 row\)  \d+\.\d ms$", lines[header + 3])
    assert "\x1b[2mNULL" in raw  # NULL is dimmed: distinct from the string 'NULL'
    assert shell.quit(".quit\r") == 0


def test_completion_of_a_predictor_name(shell: Terminal, model_server: ModelServer) -> None:
    create_predictor(shell, model_server)
    shell.child.send("SELECT number_of_rooms FROM house_pr")
    shell.child.send("\t")
    shell.child.expect("house_price_model")
    shell.child.send(" WHERE initial_pr")
    shell.child.send("\t")
    shell.child.expect("initial_price")
    output = shell.run(" = 3000 AND rental_price = 3000;")
    assert "SELECT number_of_rooms FROM house_price_model WHERE initial_price = 3000" in output
    assert " 6000.0" in output and "(1 row)" in output
    assert model_server.rows_received() == 1
    listed = shell.run("\\dp")  # fitted to the screen: the name may be cut
    assert re.search(r"\n house_price_\S* +\| mindsdb +\| complete", listed), listed
    described = shell.run("\\d house_price_model")
    assert re.search(r"\n features +\| initial_price, rental_price\n", described)


def test_errors_are_red_with_a_caret_and_no_traceback(shell: Terminal) -> None:
    shell.child.send("SELECT 1,\r  2 FRM t;\r")
    raw = shell.prompt()
    output = clean(raw)
    assert "\x1b[31mERROR:" in raw
    assert 'syntax error at or near "t"\nLINE 2, column 9:\n  2 FRM t;\n        ^\n' in output
    output = shell.run("CREATE PREDICTOR p PREDICT y USING format = 'nope', url.predict = 'x';")
    assert "ERROR: unknown format 'nope'" in output
    assert "Traceback" not in output
    assert " 3" in shell.run("SELECT 3;")  # the session goes on


def test_ctrl_c_cancels_a_slow_prediction(shell: Terminal, model_server: ModelServer) -> None:
    create_predictor(shell, model_server)
    shell.run(
        "CREATE TABLE h AS SELECT i AS initial_price, 2 * i AS rental_price FROM range(3) r(i);"
    )
    model_server.misbehaviour = Misbehaviour(delay=5)
    shell.child.send("SELECT t.*, p.number_of_rooms FROM h t JOIN house_price_model p;\r")
    # the progress line appears once the statement has run for a second
    shell.child.expect(r"scoring house_price_model: 0/3 rows \(0%\) · 1 in flight", timeout=10)
    shell.child.sendintr()
    shell.child.expect("canceling statement due to user request", timeout=3)  # not after 5 s
    shell.prompt(timeout=3)
    model_server.misbehaviour = None
    output = shell.run(
        "SELECT t.*, p.number_of_rooms FROM h t JOIN house_price_model p ORDER BY 1;"
    )
    assert re.search(r"\n +2 \| +4 \| +6\.0\n\(3 rows\)", output), output  # numbers right-aligned


def test_history_persists_across_runs(tmp_path: Path, terminals: list[Terminal]) -> None:
    first = Terminal(tmp_path)
    terminals.append(first)
    first.run("SELECT 'from the first run' AS marker;")
    first.run("SELECT 'another one' AS other;")
    assert first.quit("\x04") == 0  # Ctrl-D
    history = tmp_path / "byom-sql" / "history"
    assert "from the first run" in history.read_text()

    second = Terminal(tmp_path)
    terminals.append(second)
    second.child.send("\x1b[A")  # Up: the last statement of the first run
    second.child.expect("another one")
    output = second.run("")
    assert " another one" in output and "(1 row)" in output
    second.child.send("\x12")  # Ctrl-R: search the history
    second.child.send("first run")
    second.child.expect("reverse-i-search")
    output = second.run("")
    assert " from the first run" in output


def test_meta_commands(shell: Terminal, tmp_path: Path) -> None:
    help_text = shell.run("\\?")
    assert "\\dt" in help_text and ".tables" in help_text and "\\q" in help_text
    shell.run("CREATE TABLE things (id INTEGER, label VARCHAR);")
    shell.run("INSERT INTO things VALUES (1, 'one'), (2, NULL);")
    tables = shell.run("\\dt")
    assert re.search(r"memory\s+\| main\s+\| things\s+\| table", tables)
    assert "things" in shell.run(".tables thi*") and "things" not in shell.run("\\dt zzz*")
    shell.run("ATTACH ':memory:' AS side; CREATE SCHEMA side.extra;")
    assert re.search(r"\n side +\| extra, main\n", shell.run("\\l"))
    described = shell.run("\\d things")
    assert re.search(r"id\s+\| INTEGER", described) and re.search(r"label\s+\| VARCHAR", described)
    assert "Output format is csv." in shell.run("\\format csv")
    assert "id,label\n1,one\n2,\n" in shell.run("SELECT * FROM things ORDER BY id;")
    shell.run(".mode json")
    assert '{"id":2,"label":null}' in shell.run("SELECT * FROM things ORDER BY id;")
    shell.run("\\format table")
    assert "Column types are on." in shell.run("\\types")
    typed = shell.run("SELECT * FROM things;")
    assert re.search(r"INTEGER \| VARCHAR", typed)
    assert "Timing is off." in shell.run("\\timing")
    assert re.search(r"\(2 rows\)\n", shell.run("SELECT * FROM things;"))
    assert "Expanded display is on." in shell.run("\\x")
    record = shell.run("SELECT * FROM things WHERE id = 1;")
    assert "-[ RECORD 1 ]" in record and re.search(r"label \| one", record)
    shell.run("\\x off")
    shell.run("\\types off")
    shell.run("\\maxrows 4")
    long = shell.run("SELECT * FROM range(100) r(i);")
    assert re.search(r"\n  0\n  1\n +…\n 98\n 99\n\(100 rows, 4 shown\)", long), long
    script = tmp_path / "script.sql"
    script.write_text(
        "INSERT INTO things VALUES (3, 'three');\nSELECT count(*) AS n FROM things;\n"
    )
    assert re.search(r"\n 3\n", shell.run(f"\\i {script}"))
    out = tmp_path / "out.csv"
    assert f"Results go to {out}." in shell.run(f"\\o {out}")
    shell.run("\\format csv")
    quiet = shell.run("SELECT id, label FROM things ORDER BY id;")
    assert "(3 rows)" in quiet and "three" not in quiet
    assert "screen" in shell.run("\\o")
    assert out.read_text() == "id,label\n1,one\n2,\n3,three\n"
    assert "unknown command \\nope" in shell.run("\\nope")
    assert "cannot read" in shell.run("\\i /nonexistent.sql")
    assert shell.quit() == 0


def test_wide_results_fit_the_screen(tmp_path: Path, terminals: list[Terminal]) -> None:
    shell = Terminal(tmp_path, width=80)
    terminals.append(shell)
    columns = ", ".join(f"repeat('x', 30) AS c{i}" for i in range(12))
    output = shell.run(f"SELECT {columns};")
    table = [line for line in output.splitlines() if "|" in line or line.startswith("---")]
    assert table and all(len(line) < 80 for line in table)
    header = [name.strip() for name in table[0].split("|")]
    assert header[0] == "c0" and header[-1] == "c11" and "…" in header
    assert "xxxxxxx…" in table[2]
    shell.run("\\x auto")
    expanded = shell.run(f"SELECT {columns};")
    assert "-[ RECORD 1 ]" in expanded and f"c6  | {'x' * 30}\n" in expanded


def test_connect_runs_the_shell_on_a_remote_server(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    if _postgres_missing():
        pytest.skip(f"no PostgreSQL at {PG_URL}")
    table = f"shell_{secrets.token_hex(4)}"
    shell = Terminal(tmp_path, "--connect", PG_URL)
    terminals.append(shell)
    try:
        assert "127.0.0.1:5432" in clean(shell.banner)
        shell.run(f"CREATE TABLE {table} (id int, label text);")
        shell.run(f"INSERT INTO {table} VALUES (1, 'one'), (2, NULL);")
        output = shell.run(f"SELECT * FROM {table}\rORDER BY id;")
        assert re.search(r" +1 \| one\n +2 \| NULL\n\(2 rows\)", output), output
        assert table in shell.run(f"\\dt {table}")
        shell.run("\\types on")
        assert re.search(r"int4\s+\|\s+text", shell.run(f"SELECT * FROM {table};"))
        error = shell.run("SELECT nope\rFROM nowhere;")
        assert 'ERROR: relation "nowhere" does not exist' in error
        assert re.search(r"LINE 2, column 6:\nFROM nowhere;\n {5}\^", error), error
        shell.child.send("SELECT pg_sleep(30);\r")
        shell.child.expect("running…", timeout=5)
        shell.child.sendintr()
        shell.child.expect("canceling statement due to user request", timeout=5)
        shell.prompt(timeout=5)
        assert " 42" in shell.run("SELECT 42;")
        assert shell.quit() == 0
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def test_connect_errors_and_one_shot_use(tmp_path: Path) -> None:
    def byom_sql(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "byom_sql", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": ROOT},
        )

    refused = byom_sql(
        "--connect", f"postgresql://u:secret@127.0.0.1:{free_port()}/", "-c", "SELECT 1"
    )
    assert refused.returncode == 1 and refused.stderr.startswith("ERROR: cannot connect to")
    assert "secret" not in refused.stderr and "Traceback" not in refused.stderr
    if _postgres_missing():
        return
    result = byom_sql(
        "--connect", PG_URL, "-c", "SELECT 1 AS a; SELECT 'x' AS b", "--format", "csv"
    )
    assert result.returncode == 0 and result.stdout == "a\n1\nb\nx\n", result.stderr


# the pure parts ------------------------------------------------------------------------------

NAMES = Names(
    relations={
        ("memory", "main", "home_rentals"): ["number_of_rooms", "initial_price", "rental_price"],
        ("mydb", "test_data", "homes"): ["sqft", "location"],
    },
    predictors={("mindsdb", "house_price_model"): ["number_of_rooms", "initial_price"]},
    databases=["memory", "mydb"],
)
META = {"\\d": MetaArguments("relation"), "\\format": MetaArguments("format", ("table", "csv"))}


def texts(before_cursor: str) -> list[str]:
    return [s.text for s in suggest(before_cursor, NAMES, META)]


def test_completion_follows_the_context() -> None:
    assert texts("SELECT * FROM hou") == ["house_price_model"]
    assert texts("SELECT * FROM home_rentals AS t WHERE t.ren") == ["rental_price"]
    assert texts("SELECT * FROM homes JOIN house_price_model AS p WHERE p.") == [
        "number_of_rooms",
        "initial_price",
    ]
    assert texts("SELECT * FROM mydb.") == ["test_data"]
    assert texts("SELECT * FROM mydb.test_data.") == ["homes"]
    assert texts("SELECT * FROM mindsdb.") == ["house_price_model"]
    assert texts("sel")[0] == "select" and texts("SEL")[0] == "SELECT"
    assert texts("SELECT * FROM home_rentals WHERE ini")[0] == "initial_price"
    assert texts("CREATE PREDICTOR p PREDICT y USING url.") == ["url.predict", "url.train"]
    assert "dtype_dict" in texts("CREATE MODEL p PREDICT y USING format = 'mlflow', dt")
    assert texts("CREATE PREDICTOR p PREDICT y USING format = 'ray") == ["ray_serve", "ray_server"]
    assert texts("SELECT 1; SELECT * FROM mydb.test_data.h") == ["homes"]
    assert texts("\\for") == ["\\format"] and texts("\\format c") == ["csv"]
    assert texts("\\d hou") == ["house_price_model"]


def test_input_is_complete_at_a_semicolon_outside_strings() -> None:
    assert is_complete("SELECT 1;") and is_complete("SELECT 1;  -- done")
    assert not is_complete("SELECT 1") and not is_complete("SELECT ';")
    assert not is_complete("-- just a comment")
    assert is_complete("\\dt") and is_complete("") and is_complete(".quit")


def test_table_fits_a_width_and_marks_omitted_rows() -> None:
    names = [f"c{i}" for i in range(10)]
    rows = [tuple("v" * 20 for _ in names)] * 5
    text = render.table(names, sample(rows, 2), width=60, footer=False)
    lines = text.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[0].split("|")[0].strip() == "c0" and lines[0].endswith("c9")
    assert " … " in lines[0] and lines[3].strip(" …|") == ""  # the omitted rows' line
    assert len(lines) == 2 + 2 + 1
    assert sample(rows, 0) == rows and sample(rows[:2], 2) == rows[:2]
    assert sample([(i,) for i in range(10)], 4) == [(0,), (1,), render.Omitted(6), (8,), (9,)]


def test_highlighting_knows_our_keywords() -> None:
    text = "CREATE PREDICTOR p PREDICT `1` USING url.predict = 'x'; RETRAIN p; SHOW MODELS"
    tokens = {value: kind for kind, value in ByomLexer().get_tokens(text)}
    for word in ("CREATE", "PREDICTOR", "PREDICT", "USING", "RETRAIN", "SHOW", "MODELS"):
        assert tokens[word] in Keyword, word
    assert tokens["p"] in Name and tokens["`1`"] in Name and tokens["predict"] in Name
