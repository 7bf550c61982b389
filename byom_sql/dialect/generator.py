"""SQL text for our nodes; everything else is DuckDB's generator."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.generators.duckdb import DuckDBGenerator

from byom_sql.dialect import nodes


def _source(gen: DuckDBGenerator, node: exp.Expr) -> str:
    if node.args.get("query"):
        return f" FROM ({gen.sql(node, 'query')})"
    if node.args.get("database"):
        return f" FROM {gen.sql(node, 'database')} {_parenthesised(node.args['raw_query'].this)}"
    return ""


def _parenthesised(raw: str) -> str:
    """A raw query in parentheses, verbatim; a -- comment on its last line would swallow the
    closing parenthesis, so that one goes on a line of its own."""
    end = "\n" if "--" in raw.rsplit("\n", 1)[-1] else ""
    return f"({raw}{end})"


def _using(gen: DuckDBGenerator, node: exp.Expr) -> str:
    options = node.args.get("using") or []
    return f" USING {', '.join(gen.sql(o) for o in options)}" if options else ""


def _create_predictor(gen: DuckDBGenerator, node: nodes.CreatePredictor) -> str:
    replace = " OR REPLACE" if node.args.get("replace") else ""
    exists = " IF NOT EXISTS" if node.args.get("exists") else ""
    predict = ", ".join(gen.sql(p) for p in node.args["predict"])
    return (
        f"CREATE{replace} {node.args['kind']}{exists} {gen.sql(node, 'this')}"
        f"{_source(gen, node)} PREDICT {predict}{_using(gen, node)}"
    )


def _retrain(gen: DuckDBGenerator, node: nodes.Retrain) -> str:
    kind = f" {node.args['kind']}" if node.args.get("kind") else ""
    return f"RETRAIN{kind} {gen.sql(node, 'this')}{_source(gen, node)}{_using(gen, node)}"


def _drop_predictor(gen: DuckDBGenerator, node: nodes.DropPredictor) -> str:
    exists = " IF EXISTS" if node.args.get("exists") else ""
    return f"DROP {node.args['kind']}{exists} {gen.sql(node, 'this')}"


def _describe_predictor(gen: DuckDBGenerator, node: nodes.DescribePredictor) -> str:
    return f"DESCRIBE {node.args['kind']} {gen.sql(node, 'this')}"


def _show_filter(gen: DuckDBGenerator, node: exp.Expr) -> str:
    if node.args.get("like"):
        return f" LIKE {gen.sql(node, 'like')}"
    return gen.sql(node, "where")


def _show_predictors(gen: DuckDBGenerator, node: nodes.ShowPredictors) -> str:
    project = f" FROM {gen.sql(node, 'project')}" if node.args.get("project") else ""
    return f"SHOW {node.args['kind']}{project}{_show_filter(gen, node)}"


def _show_databases(gen: DuckDBGenerator, node: nodes.ShowDatabases) -> str:
    return f"SHOW DATABASES{_show_filter(gen, node)}"


def _create_database(gen: DuckDBGenerator, node: nodes.CreateDatabase) -> str:
    replace = " OR REPLACE" if node.args.get("replace") else ""
    exists = " IF NOT EXISTS" if node.args.get("exists") else ""
    parameters = (
        f", PARAMETERS = {gen.sql(node, 'parameters')}" if node.args.get("parameters") else ""
    )
    return (
        f"CREATE{replace} DATABASE{exists} {gen.sql(node, 'this')} "
        f"WITH ENGINE = {gen.sql(node, 'engine')}{parameters}"
    )


def _drop_database(gen: DuckDBGenerator, node: nodes.DropDatabase) -> str:
    exists = " IF EXISTS" if node.args.get("exists") else ""
    return f"DROP DATABASE{exists} {gen.sql(node, 'this')}"


def _create_secret(gen: DuckDBGenerator, node: nodes.CreateSecret) -> str:
    replace = " OR REPLACE" if node.args.get("replace") else ""
    exists = " IF NOT EXISTS" if node.args.get("exists") else ""
    return (
        f"CREATE{replace} SECRET{exists} {gen.sql(node, 'this')} "
        f"WITH VALUE = {gen.sql(node, 'value')}"
    )


def _drop_secret(gen: DuckDBGenerator, node: nodes.DropSecret) -> str:
    exists = " IF EXISTS" if node.args.get("exists") else ""
    return f"DROP SECRET{exists} {gen.sql(node, 'this')}"


def _raw_query(gen: DuckDBGenerator, node: nodes.RawQuery) -> str:
    alias = gen.sql(node, "alias")
    raw = _parenthesised(node.args["query"].this)
    return f"{gen.sql(node, 'this')} {raw}{f' AS {alias}' if alias else ''}"


class ByomGenerator(DuckDBGenerator):
    TRANSFORMS = {
        **DuckDBGenerator.TRANSFORMS,
        nodes.JsonValue: lambda gen, node: node.this,
        nodes.UsingOption: lambda gen, node: f"{node.this} = {gen.sql(node, 'expression')}",
        nodes.CreatePredictor: _create_predictor,
        nodes.Retrain: _retrain,
        nodes.DropPredictor: _drop_predictor,
        nodes.DescribePredictor: _describe_predictor,
        nodes.ShowPredictors: _show_predictors,
        nodes.ShowDatabases: _show_databases,
        nodes.CreateDatabase: _create_database,
        nodes.DropDatabase: _drop_database,
        nodes.CreateSecret: _create_secret,
        nodes.DropSecret: _drop_secret,
        nodes.ShowSecrets: lambda gen, node: f"SHOW SECRETS{_show_filter(gen, node)}",
        nodes.RawQuery: _raw_query,
    }

    def identifier_sql(self, expression: exp.Identifier) -> str:
        # `byom.2` (a predictor version) is the only place an unquoted all-digit name comes from
        if not expression.quoted and expression.this.isdigit():
            return str(expression.this)
        return str(super().identifier_sql(expression))
