"""Expression nodes for the statements byom_sql adds to DuckDB's SQL. Plain data: SQL text is
produced by the generator, values are read by the engine."""

from __future__ import annotations

import json
from typing import Any

from sqlglot import exp


class JsonValue(exp.Expression):
    """A JSON object or array written inline (`dtype_dict = {"a": "integer"}`); `this` is the
    compact JSON text, so trees compare equal however the user spaced it."""

    arg_types = {"this": True}

    @property
    def decoded(self) -> Any:
        return json.loads(self.this)


class UsingOption(exp.Expression):
    """`key = value` in USING; `this` is the key as written, dots included (`url.predict`)."""

    arg_types = {"this": True, "expression": True}

    @property
    def option_name(self) -> str:
        return str(self.this)

    @property
    def option_value(self) -> Any:
        return literal_value(self.expression)


class CreatePredictor(exp.Expression):
    """CREATE [OR REPLACE] PREDICTOR|MODEL [IF NOT EXISTS] name [FROM …] PREDICT … [USING …].

    `query` is an embedded DuckDB query (`FROM (SELECT …)`); `raw_query` is text in the dialect
    of `database` (`FROM mydb (SELECT …)`), kept verbatim.
    """

    arg_types = {
        "this": True,
        "kind": True,
        "replace": False,
        "exists": False,
        "database": False,
        "query": False,
        "raw_query": False,
        "predict": True,
        "using": False,
    }


class Retrain(exp.Expression):
    arg_types = {
        "this": True,
        "kind": False,
        "database": False,
        "query": False,
        "raw_query": False,
        "using": False,
    }


class DropPredictor(exp.Expression):
    arg_types = {"this": True, "kind": True, "exists": False}


class DescribePredictor(exp.Expression):
    arg_types = {"this": True, "kind": True}


class ShowPredictors(exp.Expression):
    """SHOW PREDICTORS|MODELS [FROM project] [LIKE 'pat' | WHERE …]."""

    arg_types = {"kind": True, "project": False, "like": False, "where": False}


class ShowDatabases(exp.Expression):
    arg_types = {"like": False, "where": False}


class CreateDatabase(exp.Expression):
    """CREATE DATABASE [IF NOT EXISTS] name WITH ENGINE = 'kind', PARAMETERS = {…}."""

    arg_types = {
        "this": True,
        "replace": False,
        "exists": False,
        "engine": True,
        "parameters": False,
    }


class DropDatabase(exp.Expression):
    arg_types = {"this": True, "exists": False}


class CreateSecret(exp.Expression):
    """CREATE [OR REPLACE] SECRET [IF NOT EXISTS] name WITH VALUE = 'text'; DuckDB's own
    `CREATE SECRET name (TYPE …)` stays DuckDB's."""

    arg_types = {"this": True, "replace": False, "exists": False, "value": True}


class DropSecret(exp.Expression):
    arg_types = {"this": True, "exists": False}


class ShowSecrets(exp.Expression):
    arg_types = {"like": False, "where": False}


class RawQuery(exp.Expression):
    """`mydb (SELECT …) [AS t]` as a table source: `query` is text in the dialect of database
    `this`, kept verbatim; the engine turns it into DuckDB SQL once it knows mydb's engine."""

    arg_types = {"this": True, "query": True, "alias": False}


BYOM_STATEMENTS = (
    CreatePredictor,
    Retrain,
    DropPredictor,
    DescribePredictor,
    ShowPredictors,
    ShowDatabases,
    CreateDatabase,
    DropDatabase,
    CreateSecret,
    DropSecret,
    ShowSecrets,
)


def literal_value(node: exp.Expr) -> Any:
    """The Python value of a USING/PARAMETERS value node."""
    if isinstance(node, JsonValue):
        return node.decoded
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Neg):
        return -literal_value(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = node.this
        return int(text) if text.lstrip("-").isdigit() else float(text)
    raise TypeError(f"not a literal: {node.sql()}")
