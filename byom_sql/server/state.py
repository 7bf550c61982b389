"""What a wire session knows about itself, and how pgcatalog answers a statement for it.

This is the boundary between the session (session.py) and the catalog emulation
(pgcatalog.py): the session calls `pgcatalog.intercept(state, sql)` for every statement before
the engine sees it; an `InterceptResult` carries rows or a command tag to send as they are, or
SQL to run instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from byom_sql import __version__

if TYPE_CHECKING:
    import pyarrow as pa

    from byom_sql.engine import Connection

SERVER_VERSION = "16.0"
SERVER_VERSION_NUM = "160000"
VERSION_STRING = f"PostgreSQL {SERVER_VERSION} (byom_sql {__version__}) on x86_64-pc-linux-gnu"

# Settings Postgres reports with ParameterStatus (GUC_REPORT), by canonical spelling: sent at
# startup, and again whenever a statement changes one of them.
REPORTED = (
    "application_name",
    "client_encoding",
    "DateStyle",
    "default_transaction_read_only",
    "in_hot_standby",
    "integer_datetimes",
    "IntervalStyle",
    "is_superuser",
    "server_encoding",
    "server_version",
    "session_authorization",
    "standard_conforming_strings",
    "TimeZone",
)

DEFAULT_SETTINGS = {
    "application_name": "",
    "client_encoding": "UTF8",
    "datestyle": "ISO, MDY",
    "default_transaction_read_only": "off",
    "extra_float_digits": "1",
    "in_hot_standby": "off",
    "integer_datetimes": "on",
    "intervalstyle": "postgres",
    "is_superuser": "on",
    "search_path": '"$user", public',
    "server_encoding": "UTF8",
    "server_version": SERVER_VERSION,
    "server_version_num": SERVER_VERSION_NUM,
    "standard_conforming_strings": "on",
    "timezone": "UTC",
    "transaction_isolation": "serializable",
    "default_transaction_isolation": "serializable",
}


@dataclass
class SessionState:
    """One wire session. `settings` holds session settings by lower-case name (startup
    parameters, SET, RESET; SHOW and current_setting read them). The session owns `transaction`
    (BEGIN/COMMIT/ROLLBACK are handled before `intercept` is called); read it, don't set it."""

    conn: Connection  # this session's engine connection (its own DuckDB cursor)
    user: str
    database: str
    backend_pid: int = 0
    settings: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    transaction: str = "I"  # ReadyForQuery status: I idle, T in a block, E failed block
    # pgcatalog's memory: the settings as the session started (RESET goes back to them), and
    # the open savepoints, each with whether the transaction wrote since it was taken
    session_defaults: dict[str, str] | None = None
    savepoints: dict[str, bool] = field(default_factory=dict)

    def reported(self) -> dict[str, str]:
        """The ParameterStatus values, by canonical name."""
        return {name: self.settings.get(name.lower(), "") for name in REPORTED}


@dataclass(frozen=True)
class InterceptResult:
    """The answer to one statement that the engine should not see as written.

    Either rows (`columns` + `oids` + `rows` as Python values, or an Arrow `table`, whose
    column OIDs come from pgtypes unless `oids` is given), or only a command `tag` (SET,
    SAVEPOINT …), or `sql`: a replacement statement (our dialect, one statement, same $n
    parameters) the session runs instead. `notices` become NoticeResponse (WARNING) messages.
    """

    tag: str = ""  # command tag; empty with rows means "SELECT <row count>"
    columns: Sequence[str] = ()
    oids: Sequence[int] = ()
    rows: Sequence[Sequence[Any]] = ()
    table: pa.Table | None = None
    sql: str | None = None
    notices: Sequence[str] = ()
    param_oids: Sequence[int] = ()  # the statement's parameter types, when pgcatalog knows them

    @property
    def has_rows(self) -> bool:
        return bool(self.columns) or self.table is not None
