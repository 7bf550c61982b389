"""PostgreSQL's type names that DuckDB lacks, as PostgreSQL defines them: a SERIAL column is an
integer with a sequence of its own as its default; JSONB is JSON (in casts too). SQLAlchemy's
create_all and inserts, and pandas' to_sql, emit both."""

from __future__ import annotations

from sqlglot import exp

from byom_sql.sqlbuild import quote

SERIALS = {"SMALLSERIAL": "SMALLINT", "SERIAL": "INTEGER", "BIGSERIAL": "BIGINT"}
SERIALS.update({"SERIAL2": "SMALLINT", "SERIAL4": "INTEGER", "SERIAL8": "BIGINT"})


def needs_rewrite(node: exp.Expr) -> bool:
    return any(_is_jsonb(t) for t in node.find_all(exp.DataType)) or (
        isinstance(node, exp.Create) and any(_serial(c) for c in node.find_all(exp.ColumnDef))
    )


def rewrite(node: exp.Expr) -> tuple[exp.Expr, list[str]]:
    """The statement with PostgreSQL's types made DuckDB's, and the CREATE SEQUENCE statements
    its SERIAL columns need, to run before it."""
    node = node.copy()
    for found in list(node.find_all(exp.DataType)):
        if _is_jsonb(found):
            found.replace(exp.DataType.build("JSON"))
    table = node.find(exp.Table)
    if not isinstance(node, exp.Create) or table is None:
        return node, []
    schema = [p.name for p in (table.args.get("catalog"), table.args.get("db")) if p]
    sequences = []
    for column in node.find_all(exp.ColumnDef):
        serial = _serial(column)
        if serial is None:
            continue
        name = [*schema, f"{table.name}_{column.name}_seq"]
        sequences.append(f"CREATE SEQUENCE IF NOT EXISTS {'.'.join(map(quote, name))}")
        column.set("kind", exp.DataType.build(SERIALS[serial]))
        nextval = exp.func("nextval", exp.Literal.string(".".join(name)))
        column.append(
            "constraints", exp.ColumnConstraint(kind=exp.DefaultColumnConstraint(this=nextval))
        )
    return node, sequences


def _serial(column: exp.ColumnDef) -> str | None:
    kind = column.args.get("kind")
    if isinstance(kind, exp.DataType) and kind.this == exp.DataType.Type.USERDEFINED:
        name = str(kind.args.get("kind") or "").upper()
        return name if name in SERIALS else None
    return None


def _is_jsonb(data_type: exp.DataType) -> bool:
    return bool(data_type.this == exp.DataType.Type.JSONB)
