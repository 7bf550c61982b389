"""The errors byom_sql raises, each carrying a SQLSTATE and a message fit for a user.

    Error (XX000)
    ├── SqlSyntaxError (42601)          the text does not parse; has line, column, caret
    ├── InvalidOption (22023)           a USING/PARAMETERS value is wrong
    ├── UndefinedObject (42P01)         no such predictor, table, database
    ├── UndefinedColumn (42703)
    ├── DuplicateObject (42710)
    ├── FeatureNotSupported (0A000)
    ├── DataError (22000)               a value cannot be converted to its declared type
    │   ├── NumericValueOutOfRange (22003)
    │   └── InvalidText (22021)         not valid UTF-8, a NUL, a lone surrogate
    ├── InsufficientPrivilege (42501)   forbidden in this context (e.g. over the wire)
    ├── StatementTooComplex (54001)     nested too deep to parse or plan
    ├── TooManyColumns (54011)
    ├── ModelError (39000)              the model endpoint misbehaved (class 39: an external
    │   │                               routine failed; not 08, which pools read as a dead
    │   │                               connection to the server)
    │   ├── ModelUnavailable (39M01)    could not connect / timed out
    │   ├── ModelProtocolError (39M02)  bad status, bad JSON, wrong row count
    │   └── ModelCodeError (38000)      a Python model's own code raised an exception
    ├── DatabaseConnectionError (08006) an attached database cannot be reached
    ├── QueryError                      anything DuckDB reported (SQLSTATE by its class)
    └── QueryCanceled (57014)

Each is also one of PEP 249's classes (ProgrammingError, OperationalError, DataError …,
defined here under Error and exported by byom_sql.dbapi).

Foreign exceptions (sqlglot, duckdb, httpx) are translated where they are caught, once each;
the rest of the code only sees these classes.
"""

from __future__ import annotations

from typing import ClassVar

_BY_SQLSTATE: dict[str, type[Error]] = {}


class Error(Exception):
    """Base class: `sqlstate` and `message` are all a front door needs to render it."""

    sqlstate: ClassVar[str] = "XX000"

    def __init_subclass__(cls, code: str | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if code:
            cls.sqlstate = code
            _BY_SQLSTATE.setdefault(code, cls)

    def __init__(self, message: str, *, position: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.position = position  # 0-based character offset in the statement text, if known
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHINT: {self.hint}"


# PEP 249's classes (byom_sql.dbapi exports them): each of ours below is one of them too


class Warning(Exception):  # noqa: A001 - the name PEP 249 gives it
    """PEP 249: important warnings (byom_sql raises none)."""


class InterfaceError(Error):
    """PEP 249: the interface was misused (a closed cursor, a bad parameter list)."""


class DatabaseError(Error):
    """PEP 249: errors of the database (every error a statement raises)."""


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


class SqlSyntaxError(ProgrammingError, code="42601"):
    def __init__(
        self, message: str, *, sql: str = "", position: int = 0, hint: str | None = None
    ) -> None:
        super().__init__(message, position=position, hint=hint)
        self.sql = sql
        self.line, self.column = line_and_column(sql, position)

    def __str__(self) -> str:
        where = f"at line {self.line}, column {self.column}"
        text = f"{self.message} {where}\n{caret(self.sql, self.position or 0)}"
        return text if not self.hint else f"{text}\nHINT: {self.hint}"


class InvalidOption(ProgrammingError, code="22023"):
    def __init__(self, message: str, *, key: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.key = key  # the option at fault, so a parser can point at it


class UndefinedObject(ProgrammingError, code="42P01"):
    pass


class UndefinedColumn(ProgrammingError, code="42703"):
    pass


class DuplicateObject(ProgrammingError, code="42710"):
    pass


class FeatureNotSupported(NotSupportedError, code="0A000"):
    pass


class DataError(DatabaseError, code="22000"):
    pass


class NumericValueOutOfRange(DataError, code="22003"):
    pass


class InvalidText(DataError, code="22021"):
    """PostgreSQL's character_not_in_repertoire."""


class InsufficientPrivilege(ProgrammingError, code="42501"):
    pass


class StatementTooComplex(ProgrammingError, code="54001"):
    pass


class TooManyColumns(ProgrammingError, code="54011"):
    pass


class ModelError(OperationalError, code="39000"):
    trace: tuple[int | None, ...] = ()
    """HTTP status of each attempt of the failed call (None: no reply), for the call log."""
    reason: str | None = None
    """The cause without the predictor and URL ("HTTP 422: bad value"), for a per-row error."""


class ModelUnavailable(ModelError, code="39M01"):
    pass


class ModelProtocolError(ModelError, code="39M02"):
    pass


class ModelCodeError(ModelError, code="38000"):
    """SQLSTATE class 38 is "external routine exception": user code run by the engine."""


class DatabaseConnectionError(OperationalError, code="08006"):
    pass


class QueryCanceled(OperationalError, code="57014"):
    pass


class QueryError(DatabaseError):
    """An error DuckDB reported; its SQLSTATE is chosen from DuckDB's exception class, and
    its class (one of PEP 249's too) from the SQLSTATE's class."""

    def __new__(
        cls, message: str, *, sqlstate: str = "XX000", position: int | None = None
    ) -> QueryError:
        if cls is QueryError:
            cls = _QUERY_ERRORS.get(sqlstate[:2], QueryError)
        return super().__new__(cls, message)

    def __init__(self, message: str, *, sqlstate: str = "XX000", position: int | None = None):
        super().__init__(message, position=position)
        self.sqlstate = sqlstate  # type: ignore[misc]


class QueryDataError(QueryError, DataError):
    pass


class QueryIntegrityError(QueryError, IntegrityError):
    pass


class QueryProgrammingError(QueryError, ProgrammingError):
    pass


class QueryOperationalError(QueryError, OperationalError):
    pass


class QueryNotSupportedError(QueryError, NotSupportedError):
    pass


_QUERY_ERRORS: dict[str, type[QueryError]] = {
    "22": QueryDataError,
    "23": QueryIntegrityError,
    "42": QueryProgrammingError,
    "08": QueryOperationalError,
    "53": QueryOperationalError,
    "57": QueryOperationalError,
    "58": QueryOperationalError,
    "25": QueryOperationalError,
    "0A": QueryNotSupportedError,
}


def line_and_column(sql: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based offset."""
    before = sql[:position]
    line = before.count("\n") + 1
    return line, position - (before.rfind("\n") + 1) + 1


def caret(sql: str, position: int) -> str:
    """The line holding `position` and a caret under it, as shells print syntax errors."""
    line_start = sql.rfind("\n", 0, position) + 1
    line_end = sql.find("\n", position)
    text = sql[line_start : line_end if line_end != -1 else len(sql)]
    return f"{text}\n{' ' * (position - line_start)}^"
