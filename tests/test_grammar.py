"""The grammar corpus and the EBNF, checked against the parser, the docs and the CLI.

grammar/valid/*.sql each hold one statement that must parse and round-trip; those named
NNN_duckdb_*.sql must parse exactly as sqlglot's DuckDB dialect parses them. grammar/invalid/*.sql
each fail with the error in the sibling .expected file (`line:column: message`).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlglot

from byom_sql import options, types
from byom_sql.cli.backends import open_backend
from byom_sql.cli.main import run_scripts
from byom_sql.dialect import is_byom_statement, parse, parse_one, to_sql
from byom_sql.dialect.parser import PREDICTOR_KINDS
from byom_sql.errors import SqlSyntaxError

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "grammar"
EBNF = (GRAMMAR / "byom.ebnf").read_text()
DOCS = (ROOT / "docs" / "sql.md").read_text()
VALID = sorted((GRAMMAR / "valid").glob("*.sql"))
INVALID = sorted((GRAMMAR / "invalid").glob("*.sql"))
DUCKDB_ONLY = [p for p in VALID if "_duckdb_" in p.stem]


def test_corpus_is_large_enough() -> None:
    assert len(VALID) >= 60
    assert len(INVALID) >= 30
    assert len(DUCKDB_ONLY) >= 20


# valid ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_statement_parses_and_round_trips(path: Path) -> None:
    statements = parse(path.read_text())
    assert len(statements) == 1
    node = statements[0].node
    assert node is not None
    generated = to_sql(node)
    again = parse_one(generated)
    assert again == node, generated
    assert to_sql(again) == generated


@pytest.mark.parametrize("path", DUCKDB_ONLY, ids=lambda p: p.stem)
def test_duckdb_statement_parses_as_duckdb_dialect_does(path: Path) -> None:
    text = path.read_text()
    node = parse_one(text)
    assert not is_byom_statement(node)
    assert node == sqlglot.parse_one(text, read="duckdb")
    # DuckDB itself reads both the corpus text and what we generate from it
    with duckdb.connect() as con:
        assert con.extract_statements(text)
        assert con.extract_statements(to_sql(node))


# invalid --------------------------------------------------------------------------------------


def invalid(name: str) -> Path:
    """The invalid statement called NNN_<name>.sql."""
    [path] = (GRAMMAR / "invalid").glob(f"[0-9][0-9][0-9]_{name}.sql")
    return path


def expected_error(path: Path) -> tuple[int, int, str]:
    line, column, message = path.with_suffix(".expected").read_text().strip().split(":", 2)
    return int(line), int(column), message.strip()


def test_every_invalid_statement_has_its_expected_error() -> None:
    expected = sorted((GRAMMAR / "invalid").glob("*.expected"))
    assert [p.stem for p in expected] == [p.stem for p in INVALID]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_statement_fails_with_expected_error(path: Path) -> None:
    line, column, message = expected_error(path)
    with pytest.raises(SqlSyntaxError) as caught:
        parse(path.read_text())
    error = caught.value
    assert (error.line, error.column, error.message) == (line, column, message)
    assert error.sqlstate == "42601"


def test_no_sqlglot_wording_reaches_users() -> None:
    for path in INVALID:
        message = expected_error(path)[2]
        for internal in ("Required keyword", "<class", "TokenType", "Expecting ", "Invalid expr"):
            assert internal not in message, path.name


def test_invalid_corpus_covers_multi_line_statements() -> None:
    assert sum(expected_error(p)[0] > 1 for p in INVALID) >= 10


# the CLI ---------------------------------------------------------------------------------------


def assert_reported(path: Path, status: int, err: str) -> None:
    """Exit status 1, `ERROR` and no traceback; our own errors word for word with the offending
    line and a caret under the expected column."""
    assert status == 1
    assert err.startswith("ERROR") and "Traceback" not in err
    line, column, message = expected_error(path)
    text = path.read_text()
    try:
        parse(text, lenient=True)
    except SqlSyntaxError:
        assert f"{message} at line {line}, column {column}\n" in err
        caret = text.split("\n")[line - 1] + "\n" + " " * (column - 1) + "^"
        assert caret in err
    else:  # plain DuckDB SQL that sqlglot cannot read: DuckDB's parser has the last word
        assert re.search(r"\n *\^$", err.rstrip("\n"))


def run_cli_script(source: str, sql: str) -> tuple[int, str, str]:
    """What `byom-sql -f`/`-c` does with one script, in this process: exit status, stdout and
    stderr (own streams: other tests' server threads may write to sys.stderr meanwhile)."""
    out, err = io.StringIO(), io.StringIO()
    backend = open_backend(":memory:", None)
    try:
        status = run_scripts(backend, [(source, sql)], "table", out, err)
    finally:
        backend.close()
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_cli_reports_invalid_statement(path: Path) -> None:
    status, out, err = run_cli_script(str(path), path.read_text())
    assert out == ""
    assert_reported(path, status, err)


def byom_sql_command(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command in its own process."""
    command = [sys.executable, "-m", "byom_sql", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "name", ["create_unknown_option", "create_mlflow_with_url_train", "select_unterminated_call"]
)
def test_byom_sql_command_reports_invalid_file(name: str) -> None:
    path = invalid(name)
    done = byom_sql_command("-f", str(path))
    assert_reported(path, done.returncode, done.stderr)


def test_byom_sql_command_reports_invalid_command() -> None:
    path = invalid("create_format_missing")
    done = byom_sql_command("-c", path.read_text())
    assert_reported(path, done.returncode, done.stderr)
    assert "HINT: add format = 'mlflow'" in done.stderr


# the EBNF ----------------------------------------------------------------------------------------


def ebnf_rules(text: str) -> dict[str, str]:
    """rule name -> its definition, comments removed and blanks normalised."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    parts = re.split(r"^(\w+)\s*::=", text, flags=re.M)
    names, bodies = parts[1::2], parts[2::2]
    return {name: " ".join(body.split()) for name, body in zip(names, bodies, strict=True)}


RULES = ebnf_rules(EBNF)
EXTERNAL = {
    "DUCKDB_STATEMENT",
    "DUCKDB_QUERY",
    "DUCKDB_EXPRESSION",
    "RAW_TOKEN",
    "JSON_NUMBER",
    "JSON_ESCAPE",
}


def test_ebnf_defines_every_rule_it_uses() -> None:
    used = set()
    for body in RULES.values():
        bare = re.sub(r"\[[^\]]*\]|'[^']*'|\"[^\"]*\"", " ", body)  # classes and terminals
        used |= set(re.findall(r"[A-Za-z_]\w*", bare))
    assert used - RULES.keys() - EXTERNAL == set()
    assert EXTERNAL <= used
    for name in EXTERNAL:
        assert name in EBNF.split("*/", 1)[0], f"{name} is not explained in the header"


def test_ebnf_names_every_statement_keyword() -> None:
    keywords = {
        *"CREATE OR REPLACE IF NOT EXISTS FROM PREDICT USING RETRAIN DROP DESCRIBE SHOW".split(),
        *"IN LIKE WHERE DATABASE DATABASES WITH ENGINE PARAMETERS TRUE FALSE NULL".split(),
        *PREDICTOR_KINDS,
        *(f"{kind}S" for kind in PREDICTOR_KINDS),
    }
    for keyword in keywords:
        assert f"'{keyword}'" in EBNF, keyword


def test_ebnf_and_docs_name_every_option_format_and_type() -> None:
    request_formats = {f for fs in options.REQUEST_FORMATS.values() for f in fs}
    for key in [*options.OPTIONS, *options.ALIASES]:
        assert f"'{key}'" in EBNF, key
        assert f"`{key}`" in DOCS, key
    for name in [*options.FORMATS, *request_formats]:
        assert f"\"'{name}'\"" in EBNF, name
        assert f"`'{name}'`" in DOCS, name
    for dtype in [*types.known_dtypes(), *types.ALIASES]:
        assert f"'\"{dtype}\"'" in EBNF, dtype
        assert f"`{dtype}`" in DOCS, dtype


# the docs ---------------------------------------------------------------------------------------


def fenced(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOCS, flags=re.M | re.S)


def test_docs_quote_the_ebnf_exactly() -> None:
    quoted = {}
    for block in fenced("ebnf"):
        quoted.update(ebnf_rules(block))
    for name, body in quoted.items():
        assert RULES.get(name) == body, f"docs/sql.md quotes rule {name} differently"
    statements = [s.strip() for s in RULES["statement"].split("|")]
    assert set(statements) - {"DUCKDB_STATEMENT"} <= quoted.keys()


@pytest.mark.parametrize("block", fenced("sql"))
def test_docs_examples_parse(block: str) -> None:
    statements = parse(block)
    assert statements
    for statement in statements:
        assert parse_one(to_sql(statement.node)) == statement.node


def test_docs_error_example_is_what_the_cli_prints() -> None:
    example = next(b for b in fenced("text") if b.startswith("ERROR:"))
    assert run_cli_script("-c #1", example.split("\n")[1]) == (1, "", example)
