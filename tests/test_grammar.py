"""The grammar corpus: valid statements parse and round-trip, invalid ones fail where and how
grammar/invalid/*.expected says — through the parser and through the `byom-sql` command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot

from byom_sql.cli.main import main
from byom_sql.dialect import is_byom_statement, nodes, parse, to_sql
from byom_sql.errors import SqlSyntaxError
from byom_sql.options import ALIASES, OPTIONS

GRAMMAR = Path(__file__).parent.parent / "grammar"
VALID = sorted((GRAMMAR / "valid").glob("*.sql"))
INVALID = sorted((GRAMMAR / "invalid").glob("*.sql"))


def test_corpus_size() -> None:
    assert len(VALID) >= 60 and len(INVALID) >= 30


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_statement_round_trips(path: Path) -> None:
    [statement] = parse(path.read_text())
    generated = to_sql(statement.node)
    [again] = parse(generated)
    assert again.node == statement.node, generated
    assert to_sql(again.node) == generated


@pytest.mark.parametrize(
    "path",
    [p for p in VALID if "duckdb" in p.stem],
    ids=[p.stem for p in VALID if "duckdb" in p.stem],
)
def test_duckdb_statements_parse_as_duckdb_does(path: Path) -> None:
    sql = path.read_text()
    [statement] = parse(sql)
    assert not is_byom_statement(statement.node)
    assert statement.node == sqlglot.parse_one(sql, read="duckdb")


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_statement_fails_as_expected(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text().strip()
    with pytest.raises(SqlSyntaxError) as raised:
        parse(path.read_text())
    error = raised.value
    assert f"{error.line}:{error.column}: {error.message}" == expected


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_statement_through_the_command(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-f", str(path)]) == 1
    err = capsys.readouterr().err
    line, column, message = path.with_suffix(".expected").read_text().strip().split(":", 2)
    ours = is_byom_statement_text(path.read_text())
    assert err.startswith(f"ERROR ({path}): {message.strip() if ours else ''}")
    assert f"line {line}, column {column}".lower() in err.lower()
    assert err.rstrip().endswith("^") and "Traceback" not in err


def is_byom_statement_text(sql: str) -> bool:
    """Our statements fail in our parser; plain DuckDB SQL fails with DuckDB's own words."""
    try:
        parse(sql, lenient=True)
    except SqlSyntaxError:
        return True
    return False


def test_invalid_statement_in_a_real_process() -> None:
    path = INVALID[0]
    result = subprocess.run(
        [sys.executable, "-m", "byom_sql", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr.startswith("ERROR")


def test_every_option_is_in_the_grammar() -> None:
    ebnf = (GRAMMAR / "byom.ebnf").read_text()
    for key in [*OPTIONS, *ALIASES]:
        assert re.search(rf"\b{re.escape(key)}\b", ebnf), key
    for keyword in (
        "PREDICTOR",
        "MODEL",
        "PREDICT",
        "USING",
        "RETRAIN",
        "DESCRIBE",
        "PREDICTORS",
        "MODELS",
        "DATABASES",
        "ENGINE",
        "PARAMETERS",
    ):
        assert f'"{keyword}"' in ebnf, keyword


def test_seed_values_are_decoded() -> None:
    node = parse(next(p for p in VALID if "seed_create_byom." in p.name).read_text())[0].node
    assert isinstance(node, nodes.CreatePredictor)
    options = {o.option_name: o.option_value for o in node.args["using"]}
    assert options["dtype_dict"] == {
        "number_of_rooms": "categorical",
        "initial_price": "integer",
        "rental_price": "integer",
    }
    assert options["format"] == "ray_server"
    assert node.args["database"].name == "mydb"
    assert node.args["raw_query"].this == (
        "SELECT number_of_rooms, initial_price, rental_price \n    FROM test_data.home_rentals"
    )


def test_raw_query_is_verbatim() -> None:
    sql = (
        "CREATE MODEL m FROM pg (SELECT a::int, b -- note (\n FROM t WHERE x ~ 'y(' ) "
        "PREDICT b USING format = 'ray_serve', url.predict = 'http://h/p'"
    )
    node = parse(sql)[0].node
    assert node.args["raw_query"].this == "SELECT a::int, b -- note (\n FROM t WHERE x ~ 'y('"


def test_literal_values() -> None:
    node = parse(
        "CREATE MODEL m PREDICT y USING format = 'mlflow', url.predict = 'http://h/i',"
        " retries = 0, timeout = 1.5, mlflow_version = 2"
    )[0].node
    values = {o.option_name: o.option_value for o in node.args["using"]}
    assert values == {
        "format": "mlflow",
        "url.predict": "http://h/i",
        "retries": 0,
        "timeout": 1.5,
        "mlflow_version": 2,
    }


def test_versions_and_backticks() -> None:
    table = parse("SELECT * FROM mindsdb.byom.2")[0].node.find(sqlglot.exp.Table)
    assert (table.catalog, table.db, table.name) == ("mindsdb", "byom", "2")
    column = parse("SELECT `0` FROM t")[0].node.expressions[0]
    assert column.name == "0" and column.this.quoted


def test_lenient_parse_hands_duckdb_what_sqlglot_cannot_read() -> None:
    [statement] = parse("SELEC 1", lenient=True)
    assert statement.node is None and statement.sql == "SELEC 1"
    with pytest.raises(SqlSyntaxError):
        parse("CREATE PREDICTOR p PREDICT", lenient=True)
