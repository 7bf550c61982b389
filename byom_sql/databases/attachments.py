"""Keeping the catalog's databases attached to DuckDB.

A database in the catalog is attached when it is created and again each time an engine opens
the file (`attach_all`). One that cannot be attached does not stop the engine: SHOW DATABASES
shows it `unavailable` with the reason, and a statement that uses it tries once more, then fails
with that reason (sources.py).

Network servers lock DuckDB down (`lock_down`): external access off, for good. Databases
attached before the lock keep working; PostgreSQL and MySQL cannot be attached after it, so a
server attaches the catalog's databases first, then locks, and CREATE DATABASE for those
engines is refused while it runs.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from typing import Any

import duckdb

from byom_sql.catalog import Catalog, Database
from byom_sql.databases import kinds
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.errors import DatabaseConnectionError, Error, InsufficientPrivilege, QueryError
from byom_sql.redact import remember
from byom_sql.sqlbuild import quote_string

log = logging.getLogger("byom_sql.databases")
_DRIVER_NOISE = re.compile(r'\s*(?:at|with parameters) ""')


class Attachments:
    """What DuckDB has attached of the engine's catalog databases, and why not the others."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, catalog: Catalog):
        self.cursor = cursor  # its own: ATTACH must not run inside a session's transaction
        self.catalog = catalog  # resolves passwords
        self.lock = threading.RLock()
        self.errors: dict[str, str] = {}  # lower name -> why that database is not attached
        self.loaded: set[str] = set()  # extensions loaded into this DuckDB instance
        self.locked = False  # external access is off for good (lock_down)
        self.allowed: list[str] = []  # the directories DuckDB may still read once locked

    def status(self, name: str) -> str:
        return "unavailable" if name.lower() in self.errors else "attached"

    def attach(self, database: Database) -> None:
        """Attach `database`, or record why not and raise that."""
        with self.lock:
            try:
                self._attach(database, kinds.kind_of(database.engine))
            except (QueryError, DatabaseConnectionError) as error:
                detail = " ".join(_DRIVER_NOISE.sub("", error.message).split())
                message = f"cannot attach database {database.name} ({database.engine}): {detail}"
                self.errors[database.name.lower()] = message
                raise DatabaseConnectionError(message) from None
            except Error as error:
                self.errors[database.name.lower()] = error.message
                raise
            self.errors.pop(database.name.lower(), None)

    def _attach(self, database: Database, kind: kinds.Kind) -> None:
        name, parameters = database.name, database.parameters
        if self.locked:
            self._check_allowed(name, kind, parameters)
        password = self.catalog.password(database)
        if password:
            remember(password)
        if kind.extension:
            self.load(kind)
        kinds.probe(kind, parameters)
        statements = kinds.attach_sql(name, kind, parameters, password)
        try:
            for sql in statements:
                self.run(sql)
        except Error:
            self.detach(name, kind)
            raise

    def _check_allowed(self, name: str, kind: kinds.Kind, parameters: dict[str, Any]) -> None:
        """What DuckDB's lock-down does not stop by itself: the SQLite extension opens files
        with SQLite's own I/O, outside DuckDB's allowed_directories."""
        if kind.remote:
            raise InsufficientPrivilege(
                f"database {name} ({kind.name}) can only be attached when the server starts: "
                "the server has turned off DuckDB's external access",
                hint="restart the server once the database can be reached",
            )
        path = kinds.local_path(kind, parameters)
        if path is not None and not kinds.is_inside(path, self.allowed):
            raise InsufficientPrivilege(
                f"{path} is outside the directories this server may read "
                f"({', '.join(self.allowed) or 'none'})"
            )

    def load(self, kind: kinds.Kind) -> None:
        if kind.extension not in self.loaded:
            if self.locked:
                raise InsufficientPrivilege(
                    f"engine {kind.name} needs DuckDB's {kind.extension} extension, which cannot "
                    "be loaded any more: the server has turned off DuckDB's external access",
                    hint=f"restart the server with a {kind.name} database in the catalog",
                )
            self.run(f"LOAD {quote_string(str(kinds.extension_file(kind)))}")
            self.loaded.add(str(kind.extension))

    def detach(self, name: str, kind: kinds.Kind) -> None:
        with self.lock:
            for sql in kinds.detach_sql(name, kind):
                self.run(sql)

    def forget(self, name: str) -> None:
        self.errors.pop(name.lower(), None)

    def run(self, sql: str) -> None:
        with duckdb_errors():
            self.cursor.execute(sql)


def attach_all(catalog: Catalog, cursor: duckdb.DuckDBPyConnection) -> Attachments:
    """Attach the catalog's databases when an engine opens its file (on a cursor of their own);
    failures are recorded, logged and shown by SHOW DATABASES, never raised."""
    attachments = Attachments(cursor, catalog)
    for database in catalog.databases():
        try:
            attachments.attach(database)
        except Error as error:
            log.warning("database %s is unavailable: %s", database.name, error.message)
        else:
            log.info("attached database %s (%s)", database.name, database.engine)
    return attachments


def lock_down(
    attachments: Attachments, catalog: Catalog, allowed_directories: Sequence[str] = ()
) -> None:
    """Turn DuckDB's external access off for good (for network clients): only the allowed
    directories, plus those the files databases read, stay readable. Attach the catalog's
    databases before (Engine does at open): PostgreSQL and MySQL cannot be attached after."""
    with attachments.lock:
        if attachments.locked:
            return
        allowed = [os.path.abspath(d) for d in allowed_directories]
        for database in catalog.databases():
            kind = kinds.kind_of(database.engine)
            path = kinds.local_path(kind, database.parameters)
            if kind.name == "files" and path is not None:
                allowed.append(path)
        listed = ", ".join(quote_string(d.rstrip("/") + "/") for d in allowed)
        attachments.run(f"SET allowed_directories = [{listed}]")
        attachments.run("SET enable_external_access = false")
        attachments.allowed = allowed
        attachments.locked = True
