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
    sqlstate = next(
        (
            code
            for cls, pattern, code in _BY_MESSAGE
            if isinstance(exc, cls) and pattern.search(message)
        ),
        None,
    ) or next((code for cls, code in _SQLSTATES if isinstance(exc, cls)), "XX000")
    return QueryError(message, sqlstate=sqlstate, position=position)


# what PostgreSQL would report, where DuckDB's exception class alone does not tell
_BY_MESSAGE: list[tuple[type[BaseException], re.Pattern[str], str]] = [
    (duckdb.CatalogException, re.compile(r"Function with name .* does not exist"), "42883"),
    (duckdb.CatalogException, re.compile(r"Type with name .* does not exist"), "42704"),
    (duckdb.CatalogException, re.compile(r"^Schema with name .* does not exist"), "3F000"),
    (duckdb.CatalogException, re.compile(r"^(Table|View) with name .* already exists"), "42P07"),
    (duckdb.CatalogException, re.compile(r"^Schema with name .* already exists"), "42P06"),
    (duckdb.CatalogException, re.compile(r"already exists"), "42710"),
    (duckdb.CatalogException, re.compile(r"does not exist|not exist"), "42P01"),
    (duckdb.CatalogException, re.compile(r"."), "42000"),
    (duckdb.ConversionException, re.compile(r"^Could not convert string"), "22P02"),
    (duckdb.ConstraintException, re.compile(r"primary key|unique", re.I), "23505"),
    (duckdb.ConstraintException, re.compile(r"NOT NULL"), "23502"),
    (duckdb.ConstraintException, re.compile(r"foreign key", re.I), "23503"),
    (duckdb.ConstraintException, re.compile(r"CHECK constraint"), "23514"),
]


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
