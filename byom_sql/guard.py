"""What a network client (an untrusted session) may not do, whatever DuckDB allows.

DuckDB's lock on external access does not cover everything: the SQLite extension opens files
itself (`ATTACH '/x' (TYPE sqlite)`, `sqlite_scan`), and the catalog tables in schema `byom`
hold connection parameters and model-call headers. Untrusted sessions are refused both; when
the engine is locked, they may not attach, install or load either.
"""

from __future__ import annotations

import re

from sqlglot import exp

from byom_sql.errors import InsufficientPrivilege

CATALOG_SCHEMA = "byom"
_FILE_COMMANDS = ("ATTACH", "DETACH", "INSTALL", "LOAD", "FORCE", "IMPORT", "EXPORT")
_RISKY_TEXT = re.compile(
    r"\b(attach|detach|install|load|import|export)\b|\bsqlite_\w+\s*\(|\bbyom\s*\.", re.I
)


def check(node: exp.Expr | None, sql: str, *, locked: bool) -> None:
    """Raise InsufficientPrivilege when an untrusted session may not run this statement."""
    if node is None:  # sqlglot could not read it: judge the text, conservatively
        if _RISKY_TEXT.search(sql):
            _refuse("this statement")
        return
    for table in node.find_all(exp.Table):
        if table.db.lower() == CATALOG_SCHEMA and not table.catalog:
            _refuse(
                f"reading the catalog table {table.db}.{table.name}",
                hint="SHOW PREDICTORS, SHOW DATABASES and mindsdb.models show it safely",
            )
    for function in node.find_all(exp.Func):
        name = (
            function.name if isinstance(function, exp.Anonymous) else function.sql_name()
        ).lower()
        if name.startswith("sqlite_"):
            _refuse(f"{name}()")
    if not locked:
        return
    if isinstance(node, exp.Attach | exp.Detach | exp.Install) or (
        isinstance(node, exp.Command) and node.name.upper() in _FILE_COMMANDS
    ):
        _refuse(node.key.upper() if not isinstance(node, exp.Command) else node.name.upper())


def _refuse(what: str, hint: str | None = None) -> None:
    raise InsufficientPrivilege(
        f"{what} is not allowed over the network",
        hint=hint or "run it from the byom-sql command or the Python API on the server",
    )
