"""What a network client (an untrusted session) may not do, whatever DuckDB allows.

- DuckDB's lock on external access does not cover everything: the SQLite extension opens files
  itself (`ATTACH '/x' (TYPE sqlite)`, `sqlite_scan`). When the engine is locked, untrusted
  sessions may not attach, install or load either. The catalog tables in schema `byom` are
  the engine's to write.
- Settings: a session may change only DuckDB settings whose scope is the session (search_path,
  schema…); `SET threads = 1` or `SET memory_limit = '20MB'` would change every session's.
- A read-only session (a user of the server's --read-only-users) runs queries, SHOW, DESCRIBE,
  EXPLAIN, transaction control and session settings: nothing that creates, changes or drops.
  This is an allowlist of statement kinds, so it holds for any spelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from byom_sql.catalog import CATALOG_SCHEMA
from byom_sql.dialect import nodes
from byom_sql.errors import InsufficientPrivilege

Scope = Callable[[str], str | None]
"""The scope (GLOBAL or LOCAL) of a DuckDB setting, None when DuckDB has no such setting."""

_FILE_COMMANDS = ("ATTACH", "DETACH", "INSTALL", "LOAD", "FORCE", "IMPORT", "EXPORT")
_RISKY_TEXT = re.compile(
    r"\b(attach|detach|install|load|import|export)\b|\bsqlite_\w+\s*\(|\bbyom\s*\.", re.I
)
_READS = (
    exp.Describe,
    exp.Show,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Use,
    nodes.DescribePredictor,
    nodes.ShowPredictors,
    nodes.ShowDatabases,
    nodes.ShowSecrets,
)
_READ_COMMANDS = ("SHOW", "DESCRIBE", "EXPLAIN", "SUMMARIZE", "BEGIN", "COMMIT", "ROLLBACK")


def check(node: exp.Expr | None, sql: str, *, locked: bool, read_only: bool, scope: Scope) -> None:
    """Raise InsufficientPrivilege when an untrusted session may not run this statement."""
    if node is None:  # sqlglot could not read it: judge the text, conservatively
        if _RISKY_TEXT.search(sql) or (read_only and not _reads_text(sql)):
            _refuse("this statement")
        return
    if read_only and not _only_reads(node):
        _refuse_writing(node)
    _check_settings(node, scope)
    for table in node.find_all(exp.Table):
        if table.db.lower() != CATALOG_SCHEMA:
            continue
        if not isinstance(node, exp.Query):
            _refuse(f"changing the catalog table {table.db}.{table.name}")
        if not table.catalog:  # reading it is harmless (no secrets there), but not an API
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


def _only_reads(node: exp.Expr) -> bool:
    if isinstance(node, exp.Set | exp.Pragma):
        return True  # what they may change is _check_settings' to say
    if isinstance(node, exp.Query):
        return not node.find(exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create)
    if isinstance(node, exp.Command):
        return _reads_text(node.name)
    return isinstance(node, _READS)


def _reads_text(sql: str) -> bool:
    words = sql.split(None, 1)
    return bool(words) and words[0].upper().rstrip(";") in _READ_COMMANDS


def _check_settings(node: exp.Expr, scope: Scope) -> None:
    """Only settings of the session's own scope; PRAGMA x = v and RESET x set things too."""
    names: list[str] = []
    if isinstance(node, exp.Set):
        for item in node.expressions:
            if str(item.args.get("kind") or "").upper() == "GLOBAL":
                _refuse("SET GLOBAL")
            assignment = item.this if isinstance(item, exp.SetItem) else item
            if isinstance(assignment, exp.EQ):
                names.append(assignment.this.name)
    elif isinstance(node, exp.Pragma) and isinstance(node.this, exp.EQ):
        names.append(node.this.this.name)
    elif isinstance(node, exp.Command) and node.name.upper() == "RESET":
        names.append(str(node.expression.this if node.expression else "").split(" ")[-1])
    for name in names:
        if scope(name) == "GLOBAL":
            _refuse(
                f"SET {name}",
                hint=f"{name} is engine-wide: it would change every session; the server's "
                "operator sets it",
            )


def _refuse_writing(node: exp.Expr) -> None:
    raise InsufficientPrivilege(
        f"permission denied: this user may only read ({node.key.upper()} is not allowed)",
        hint="the server lists its read-only users in --read-only-users / --writers",
    )


def _refuse(what: str, hint: str | None = None) -> None:
    raise InsufficientPrivilege(
        f"{what} is not allowed over the network",
        hint=hint or "run it from the byom-sql command or the Python API on the server",
    )
