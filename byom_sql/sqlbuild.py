"""SQL that byom_sql builds for DuckDB: Python values as literals, names as identifiers.

Everything the code generates goes through sqlglot nodes or these helpers, so a name with a
quote in it, or a value with a quote in it, is never spliced into SQL by hand.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlglot import exp


@functools.lru_cache(maxsize=256)
def _data_type(name: str) -> exp.DataType:
    return exp.DataType.build(name, dialect="duckdb")


def cast(value: exp.Expr, type_name: str) -> exp.Cast:
    """CAST(value AS type_name), the type read once per name: sqlglot parses a type's text
    each time it is given one, which costs more than the rest of a one-row plan."""
    return exp.Cast(this=value, to=_data_type(type_name).copy())


def literal(value: Any) -> exp.Expr:
    """A Python value as a typed DuckDB literal."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        if math.isfinite(value):
            return exp.Literal.number(repr(value))
        return cast(exp.Literal.string(str(value)), "DOUBLE")
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo else "TIMESTAMP"
        return cast(exp.Literal.string(value.isoformat(sep=" ")), kind)
    if isinstance(value, dt.date):
        return cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, dt.time):
        return cast(exp.Literal.string(value.isoformat()), "TIME")
    if isinstance(value, bytes | bytearray | memoryview):
        return exp.func("from_hex", exp.Literal.string(bytes(value).hex()))
    return exp.Literal.string(str(value))


def quote(name: str) -> str:
    """A DuckDB identifier, always quoted: `a"b` → `"a""b"`."""
    return '"' + name.replace('"', '""') + '"'


def quote_string(text: str) -> str:
    """A DuckDB string literal: `it's` → `'it''s'`."""
    return "'" + text.replace("'", "''") + "'"


def names(columns: Iterable[str]) -> str:
    """`"a", "b"`: a list of quoted identifiers."""
    return ", ".join(quote(c) for c in columns)


def relation(name: str, alias: str | None = None) -> exp.Table:
    """A reference to a relation by name (quoted when it needs to be), with an optional alias."""
    table = exp.Table(this=exp.to_identifier(name))
    if alias is not None:
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return table
