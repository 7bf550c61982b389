"""DuckDB's exceptions → byom_sql errors, in one place."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from byom_sql.errors import Error, QueryCanceled, QueryError
from byom_sql.redact import redact

_SQLSTATES: list[tuple[type[BaseException], str]] = [
    (duckdb.ParserException, "42601"),
    (duckdb.CatalogException, "42P01"),
    (duckdb.BinderException, "42703"),
    (duckdb.ConversionException, "22018"),
    (duckdb.OutOfRangeException, "22003"),
    (duckdb.InvalidInputException, "22023"),
    (duckdb.ConstraintException, "23000"),
    (duckdb.TransactionException, "25000"),
    (duckdb.PermissionException, "42501"),
    (duckdb.IOException, "58030"),
    (duckdb.HTTPException, "58030"),
    (duckdb.NotImplementedException, "0A000"),
    (duckdb.InvalidTypeException, "42804"),
    (duckdb.TypeMismatchException, "42804"),
    (duckdb.SyntaxException, "42601"),
    (duckdb.OutOfMemoryException, "53200"),
    (duckdb.DataError, "22000"),
]
_PREFIX = re.compile(r"^[A-Z][A-Za-z ]* Error: ")
_LINE = re.compile(r"\n\nLINE (\d+): (.*)\n( *)\^\s*$", re.S)


def translate(exc: duckdb.Error, sql: str = "") -> Error:
    if isinstance(exc, duckdb.InterruptException):
        return QueryCanceled("canceling statement due to user request")
    message = redact(str(exc))
    position = None
    match = _LINE.search(message)
    if match:
        message = message[: match.start()]
        position = _position(
            sql,
            int(match.group(1)),
            match.group(2),
            len(match.group(3)) - len(f"LINE {match.group(1)}: "),
        )
    message = _PREFIX.sub("", message.strip(), count=1)
    if isinstance(exc, duckdb.CatalogException) and "does not exist" not in message:
        sqlstate = "42P01" if "not exist" in message else "42000"
    else:
        sqlstate = next((code for cls, code in _SQLSTATES if isinstance(exc, cls)), "XX000")
    return QueryError(message, sqlstate=sqlstate, position=position)


@contextmanager
def duckdb_errors(sql: str = "") -> Iterator[None]:
    try:
        yield
    except duckdb.Error as exc:
        raise translate(exc, sql) from None


def _position(sql: str, line: int, snippet: str, column: int) -> int | None:
    """Offset of DuckDB's caret in `sql`; DuckDB shows a window of the line, maybe with '...'."""
    lines = sql.split("\n")
    if not 0 < line <= len(lines):
        return None
    text = lines[line - 1]
    start = 0
    if snippet.startswith("..."):
        found = text.find(snippet[3:].rstrip(". "))
        if found < 0:
            return None
        start, column = found, column - 3
    return sum(len(t) + 1 for t in lines[: line - 1]) + start + max(column, 0)
