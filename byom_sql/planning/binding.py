"""Names and values in a statement: which table references are predictors, and bound
parameters put into the tree.

    byom, mindsdb.byom        the predictor (a table or view named byom wins over the bare name)
    byom.2, mindsdb.byom.2    version 2 of it
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlglot import exp

from byom_sql.catalog import DEFAULT_PROJECT, Catalog, Predictor
from byom_sql.errors import Error, UndefinedObject
from byom_sql.sqlbuild import literal

Params = Sequence[Any] | Mapping[str, Any] | None
TableExists = Callable[[str], bool]
"""Whether a table or view of the current schema has this name (it shadows a predictor)."""


def resolve_predictor(
    catalog: Catalog, table: exp.Table, table_exists: TableExists
) -> Predictor | None:
    """`project.name`, `name` (unless a table has that name), `name.2`, `project.name.2`."""
    if not isinstance(table.this, exp.Identifier):
        return None
    name, db, project = table.name, table.db, table.catalog
    if db and name.isdigit():
        return _version(catalog, db, project or DEFAULT_PROJECT, int(name))
    if db:
        return None if project else catalog.predictor(name, db)
    if catalog.predictor(name) is not None and not table_exists(name):
        return catalog.predictor(name)
    return None


def reads_predictors(
    catalog: Catalog, node: exp.Expr, resolve: Callable[[exp.Table], Predictor | None]
) -> bool:
    return any(
        resolve(table) is not None
        for table in node.find_all(exp.Table)
        if catalog.has_predictor_named(table.name) or catalog.has_predictor_named(table.db)
    )


def _version(catalog: Catalog, name: str, project: str, version: int) -> Predictor | None:
    if catalog.latest(name, project) is None:
        return None
    found = catalog.predictor(name, project, version)
    if found is None:
        raise UndefinedObject(
            f"predictor {project}.{name} has no version {version}",
            hint=f"SELECT version FROM mindsdb.models_versions WHERE name = '{name}' lists them",
        )
    return found


def bind_parameters(node: exp.Expr, params: Params) -> exp.Expr:
    """Put bound values into the tree (in place) as literals: a plan splits the statement in
    several DuckDB queries, which cannot share positional parameters."""
    if not params:
        return node
    positional = list(params) if isinstance(params, Sequence) else []
    named = params if isinstance(params, Mapping) else {}
    counter = iter(range(len(positional)))

    def value_of(placeholder: exp.Placeholder) -> exp.Expr:
        key = str(placeholder.args.get("this") or "")
        if not key:
            index = next(counter, None)
            if index is None:
                raise Error("more ? placeholders than parameters")
            return literal(positional[index])
        if key.isdigit():
            index = int(key) - 1
            if not 0 <= index < len(positional):
                raise Error(f"no value for parameter ${key}")
            return literal(positional[index])
        if key not in named:
            raise Error(f"no value for parameter ${key}")
        return literal(named[key])

    return node.transform(
        lambda n: value_of(n) if isinstance(n, exp.Placeholder) else n, copy=False
    )
