"""What the engine relies on from the dialect: decoded values, verbatim raw queries, names and
versions, error positions, and lenient parsing of DuckDB SQL sqlglot cannot read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp

import byom_sql
from byom_sql.dialect import nodes, parse, parse_one, to_sql
from byom_sql.errors import InvalidOption, QueryError, SqlSyntaxError
from byom_sql.options import check_options

GRAMMAR = Path(__file__).resolve().parent.parent / "grammar"
URL = "url.predict = 'http://127.0.0.1:5000/invocations'"


def using(sql: str) -> dict[str, Any]:
    node = parse_one(sql)
    return {o.option_name: o.option_value for o in node.args["using"]}


def syntax_error(sql: str, *, lenient: bool = False) -> SqlSyntaxError:
    with pytest.raises(SqlSyntaxError) as caught:
        parse(sql, lenient=lenient)
    return caught.value


# USING values ----------------------------------------------------------------------------------


def test_using_values_are_decoded_to_python_values() -> None:
    values = using(
        "CREATE PREDICTOR p PREDICT y USING FORMAT = 'mlflow', URL.Predict = 'http://h/x?a=it''s',"
        " batch_size = 500, timeout = 2.5, train_timeout = 1e3, retries = 0,"
        ' data_dtype = {"y": "float", "n": "integer"},'
        ' headers = {"X-A": "1", "X-B": "\\u00e9"}, mlflow_version = 2'
    )
    assert values == {
        "FORMAT": "mlflow",
        "URL.Predict": "http://h/x?a=it's",
        "batch_size": 500,
        "timeout": 2.5,
        "train_timeout": 1000.0,
        "retries": 0,
        "data_dtype": {"y": "float", "n": "integer"},
        "headers": {"X-A": "1", "X-B": "é"},
        "mlflow_version": 2,
    }
    assert type(values["batch_size"]) is int and type(values["train_timeout"]) is float


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("'text'", "'text'"),
        ("'it''s'", "'it''s'"),
        ("42", "42"),
        ("-42", "-42"),
        ("- 1.5", "-1.5"),
        ("1e3", "1000.0"),
        ("TRUE", "TRUE"),
        ("false", "FALSE"),
        ("NULL", "NULL"),
        ('[1, -2.5, "x", {"b": null}]', '[1, -2.5, "x", {"b": null}]'),
        ("[]", "[]"),
    ],
)
def test_every_value_form_decodes(written: str, shown: str) -> None:
    # dtype_dict rejects all of these, showing the decoded value as SQL would write it
    error = syntax_error(f"RETRAIN p USING dtype_dict = {written}")
    assert error.message == f"dtype_dict must be a JSON object of column: type, not {shown}"


def test_literal_value_of_each_node() -> None:
    option = nodes.UsingOption(this="k", expression=nodes.JsonValue(this="[1,2]"))
    assert (option.option_name, option.option_value) == ("k", [1, 2])
    assert nodes.literal_value(exp.Neg(this=exp.Literal.number("5"))) == -5
    assert nodes.literal_value(exp.Literal.number("0.5")) == 0.5
    assert nodes.literal_value(exp.Literal.string("5")) == "5"
    assert nodes.literal_value(exp.true()) is True
    assert nodes.literal_value(exp.null()) is None
    with pytest.raises(TypeError):
        nodes.literal_value(exp.column("a"))


def test_rejected_values_are_reported_as_written() -> None:
    cases = {
        "batch_size = -5": "batch_size must be a positive integer, not -5",
        "batch_size = 2.5": "batch_size must be a positive integer, not 2.5",
        "max_concurrency = TRUE": "max_concurrency must be a positive integer, not TRUE",
        "retries = -1": "retries must be an integer >= 0, not -1",
        "url.train = NULL": "url.train must be a non-empty string, not NULL",
        "timeout = 'x'": "timeout must be a positive number of seconds, not 'x'",
        'dtype_dict = [1, "a"]': 'dtype_dict must be a JSON object of column: type, not [1, "a"]',
    }
    for option, message in cases.items():
        assert syntax_error(f"RETRAIN p USING {option}").message == message


def test_json_value_is_compact_so_spacing_does_not_change_the_tree() -> None:
    spaced = parse_one(
        f"CREATE PREDICTOR p PREDICT y USING format='mlflow', {URL}, "
        'dtype_dict = {  "y" :\n "float" }'
    )
    tight = parse_one(
        f'CREATE PREDICTOR p PREDICT y USING format=\'mlflow\', {URL}, dtype_dict={{"y":"float"}}'
    )
    assert spaced == tight
    assert to_sql(spaced).endswith('dtype_dict = {"y":"float"}')


def test_json_stops_at_the_end_of_its_statement() -> None:
    error = syntax_error('CREATE DATABASE d ENGINE \'x\' PARAMETERS {"a": 1; SELECT "b"}')
    assert error.message == "Unterminated JSON: this { has no matching }"
    assert error.position == 40


# the raw query ---------------------------------------------------------------------------------


RAW = """-- rentals, from postgres
    SELECT a, (b + (c * 2)) AS "d)", ')' AS paren   /* ( not counted */
      FROM   t   WHERE x IN (SELECT x FROM u)   -- trailing ( comment"""


def test_raw_query_is_kept_verbatim() -> None:
    sql = (
        f"CREATE PREDICTOR p FROM mydb (  \n{RAW}\n  ) PREDICT d "
        "USING format = 'ray_serve', url.predict = 'http://h/p'"
    )
    node = parse_one(sql)
    assert node.args["database"].name == "mydb"
    assert node.args["raw_query"].this == RAW
    again = parse_one(to_sql(node))  # the trailing -- comment must not eat the )
    assert again == node
    assert again.args["raw_query"].this == RAW


def test_seed_statement_values() -> None:
    [path] = (GRAMMAR / "valid").glob("*_seed_create_byom.sql")
    node = parse_one(path.read_text())
    assert isinstance(node, nodes.CreatePredictor)
    assert (node.this.name, node.args["database"].name) == ("byom", "mydb")
    assert node.args["raw_query"].this == (
        "SELECT number_of_rooms, initial_price, rental_price \n    FROM test_data.home_rentals"
    )
    assert [p.name for p in node.args["predict"]] == ["number_of_rooms"]
    assert {o.option_name: o.option_value for o in node.args["using"]} == {
        "url.train": "http://127.0.0.1:8000/my_model/train",
        "url.predict": "http://127.0.0.1:8000/my_model/predict",
        "dtype_dict": {
            "number_of_rooms": "categorical",
            "initial_price": "integer",
            "rental_price": "integer",
        },
        "format": "ray_server",
    }


def test_retrain_keeps_raw_query_verbatim() -> None:
    node = parse_one(f"RETRAIN byom FROM pg ({RAW}\n)")
    assert isinstance(node, nodes.Retrain)
    assert node.args["raw_query"].this == RAW


def test_embedded_query_is_duckdb_sql() -> None:
    node = parse_one(
        "CREATE MODEL p FROM (SELECT a, y FROM t WHERE a > 1) PREDICT y "
        "USING format = 'ray_serve', url.predict = 'http://h/p'"
    )
    assert isinstance(node.args["query"], exp.Select)
    assert node.args.get("raw_query") is None


# names, versions, backticks ----------------------------------------------------------------------


def test_version_references() -> None:
    table = parse_one("SELECT * FROM byom.2").find(exp.Table)
    assert (table.db, table.name) == ("byom", "2")
    table = parse_one("SELECT * FROM mindsdb.byom.2 AS b").find(exp.Table)
    assert (table.catalog, table.db, table.name, table.alias) == ("mindsdb", "byom", "2", "b")
    assert to_sql(parse_one("SELECT * FROM mindsdb.byom.2")) == "SELECT * FROM mindsdb.byom.2"
    described = parse_one("DESCRIBE MODEL mindsdb.byom.2")
    assert isinstance(described, nodes.DescribePredictor)
    assert (described.this.catalog, described.this.db, described.this.name) == (
        "mindsdb",
        "byom",
        "2",
    )
    # a quoted name made of digits stays a quoted name
    assert to_sql(parse_one('SELECT * FROM byom."2"')) == 'SELECT * FROM byom."2"'


def test_versions_are_refused_where_a_name_is_needed() -> None:
    for sql in ("DROP MODEL byom.2", "CREATE MODEL byom.2 PREDICT y", "RETRAIN byom.2"):
        error = syntax_error(sql)
        assert error.message.startswith("A version (name.2) cannot be used here")
        assert error.position == sql.index("2")


def test_backtick_names() -> None:
    node = parse_one(f"CREATE PREDICTOR byom2 PREDICT `1`, `a``b` USING format='mlflow', {URL}")
    assert [(p.this, p.quoted) for p in node.args["predict"]] == [("1", True), ("a`b", True)]
    assert ' PREDICT "1", "a`b" ' in to_sql(node)
    where = parse_one("SELECT y FROM byom2 WHERE `0`=2").args["where"].this
    assert where.this == exp.column("0", quoted=True)


def test_project_and_predictor_names() -> None:
    node = parse_one(f"CREATE MODEL \"My Project\".Byom PREDICT y USING format='mlflow', {URL}")
    assert (node.this.db, node.this.name) == ("My Project", "Byom")
    assert node.args["kind"] == "MODEL"
    assert isinstance(parse_one("DESCRIBE model"), exp.Describe)  # a table called model


# error positions ---------------------------------------------------------------------------------


def test_errors_point_at_the_start_of_the_offending_token() -> None:
    sql = f"CREATE PREDICTOR p PREDICT y USING format = 'mlflow', {URL}, batchsize = 100"
    assert syntax_error(sql).position == sql.index("batchsize")
    sql = "CREATE PREDICTOR p PREDICT y USING format = 'mlflow', url.predict = 'ftp://h/x'"
    assert syntax_error(sql).position == sql.index("'ftp")
    sql = f"CREATE PREDICTOR p PREDICT y USING format = 'mlflow', {URL}, format = 'mlflow'"
    assert syntax_error(sql).position == sql.rindex("format")


def test_missing_text_is_reported_just_past_the_statement() -> None:
    sql = "SELECT 1;\nCREATE PREDICTOR p PREDICT y  ;\nSELECT 2"
    error = syntax_error(sql)
    assert error.message == "USING format is required"
    assert error.position == sql.index("y  ;") + 1
    assert (error.line, error.column) == (2, 29)
    assert error.hint and error.hint.startswith("add format = 'mlflow'")
    assert str(error) == (
        "USING format is required at line 2, column 29\n"
        "CREATE PREDICTOR p PREDICT y  ;\n"
        "                            ^\n"
        f"HINT: {error.hint}"
    )


def test_unterminated_quotes_point_at_the_opening_quote() -> None:
    assert syntax_error("SELECT 'it''s").position == 7
    assert syntax_error("SELECT 1;\nSELECT `a").position == 17
    error = syntax_error("SELECT 'it\\'s'")
    assert (error.position, error.message) == (13, "Unterminated string: add the closing '")
    assert "backslash" in (error.hint or "")


def test_bare_word_value_gets_a_hint() -> None:
    error = syntax_error(f"CREATE PREDICTOR p PREDICT y USING format = mlflow, {URL}")
    assert error.message.endswith('found "mlflow"')
    assert error.hint == "text values go in single quotes: 'mlflow'"


# lenient parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "EXPORT DATABASE 'target_dir'",
        "CREATE TABLE t (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL)",
    ],
)
def test_lenient_parse_leaves_unreadable_duckdb_sql_to_duckdb(sql: str) -> None:
    syntax_error(sql)  # sqlglot cannot read it ...
    script = f"SELECT 1;  {sql} ; SELECT 2"
    statements = parse(script, lenient=True)  # ... so DuckDB gets it verbatim
    assert [s.node is None for s in statements] == [False, True, False]
    assert statements[1].sql == sql
    assert statements[1].start == script.index(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE PREDICTOR p",
        "create or replace model p predict",
        "RETRAIN",
        "DROP MODEL IF EXISTS",
        "DROP DATABASE",
        "DESCRIBE PREDICTOR a.b.c",
        "SHOW MODELS FROM",
        "SHOW DATABASES LIKE 5",
        "CREATE DATABASE d",
        "SELECT 'unterminated",
    ],
)
def test_lenient_parse_still_reports_errors_in_our_statements(sql: str) -> None:
    syntax_error(sql, lenient=True)


def test_empty_and_comment_only_scripts() -> None:
    assert parse("") == []
    assert parse(" -- nothing\n /* at all */ ;; ") == []


# the layers above the parser ---------------------------------------------------------------------


def test_options_layer_names_aliases_given_twice() -> None:
    with pytest.raises(InvalidOption) as caught:
        check_options([("dtype_dict", {"a": "integer"}), ("DATA_DTYPE", {"a": "integer"})])
    assert caught.value.message == (
        "option 'DATA_DTYPE' is given twice (data_dtype and dtype_dict are the same option): "
        "keep one"
    )


def test_describe_model_version_runs(con: byom_sql.Connection) -> None:
    con.sql(f"CREATE PREDICTOR byom PREDICT y USING format = 'mlflow', {URL}, check = false")
    rows = dict(con.sql("DESCRIBE MODEL mindsdb.byom.1").fetchall())
    assert (rows["name"], rows["version"]) == ("byom", "1")
    with pytest.raises(byom_sql.Error, match="has no version 7"):
        con.sql("DESCRIBE PREDICTOR byom.7")


def test_duckdb_end_of_input_error_has_a_position(con: byom_sql.Connection) -> None:
    sql = "CREATE TABLE t (a INTEGER);\nSELECT * FROM t WHERE a IN (1, 2"
    with pytest.raises(QueryError) as caught:
        con.sql(sql)
    assert caught.value.message == "syntax error at end of input"
    assert caught.value.position == len(sql)
