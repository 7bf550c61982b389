"""CREATE, DROP and SHOW DATABASE, and keeping the catalog's databases attached to DuckDB.

A database in the catalog is attached when it is created and again each time an engine opens
the file (`attach_all`). One that cannot be attached does not stop the engine: SHOW DATABASES
shows it `unavailable` with the reason, and a statement that uses it tries once more, then fails
with that reason. `FROM mydb (raw query)` becomes a DuckDB table source (`bind_sources`).

Network servers lock DuckDB down (`lock_down`): external access off, for good. Databases
attached before the lock keep working; PostgreSQL and MySQL cannot be attached after it, so a
server attaches the catalog's databases first, then locks, and CREATE DATABASE for those
engines is refused while it runs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from byom_sql import attach
from byom_sql.catalog import Database
from byom_sql.dialect import nodes, to_sql
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.errors import (
    DatabaseConnectionError,
    DuplicateObject,
    Error,
    InsufficientPrivilege,
    QueryError,
    UndefinedObject,
)
from byom_sql.redact import remember
from byom_sql.result import Result

if TYPE_CHECKING:
    from byom_sql.engine import Connection, Engine

log = logging.getLogger(__name__)
_DRIVER_NOISE = re.compile(r'\s*(?:at|with parameters) ""')
_REMOTE_FUNCTIONS = tuple(f"{k.name}_query" for k in attach.KINDS.values() if k.remote)
SHOW_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("engine", pa.string()),
        ("status", pa.string()),  # attached | unavailable
        ("error", pa.string()),  # why it is unavailable
        ("read_only", pa.bool_()),
        ("parameters", pa.string()),  # JSON, secrets masked
    ]
)


class Attachments:
    """What DuckDB has attached of the engine's catalog databases, and why not the others."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self.cursor = cursor  # its own: ATTACH must not run inside a session's transaction
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
                self._attach(database.name, attach.kind_of(database.engine), database.parameters)
            except (QueryError, DatabaseConnectionError) as error:
                detail = " ".join(_DRIVER_NOISE.sub("", error.message).split())
                message = f"cannot attach database {database.name} ({database.engine}): {detail}"
                self.errors[database.name.lower()] = message
                raise DatabaseConnectionError(message) from None
            except Error as error:
                self.errors[database.name.lower()] = error.message
                raise
            self.errors.pop(database.name.lower(), None)

    def _attach(self, name: str, kind: attach.Kind, parameters: dict[str, Any]) -> None:
        if self.locked:
            self._check_allowed(name, kind, parameters)
        secret = attach.password(name, parameters)
        if secret:
            remember(secret)
        if kind.extension:
            self.load(kind)
        attach.probe(kind, parameters)
        statements = attach.attach_sql(name, kind, parameters)
        try:
            for sql in statements:
                self.run(sql)
        except Error:
            self.detach(name, kind)
            raise

    def _check_allowed(self, name: str, kind: attach.Kind, parameters: dict[str, Any]) -> None:
        """What DuckDB's lock-down does not stop by itself: the SQLite extension opens files
        with SQLite's own I/O, outside DuckDB's allowed_directories."""
        if kind.remote:
            raise InsufficientPrivilege(
                f"database {name} ({kind.name}) can only be attached when the server starts: "
                "the server has turned off DuckDB's external access",
                hint="restart the server once the database can be reached",
            )
        path = attach.local_path(kind, parameters)
        if path is not None and not attach.is_inside(path, self.allowed):
            raise InsufficientPrivilege(
                f"{path} is outside the directories this server may read "
                f"({', '.join(self.allowed) or 'none'})"
            )

    def load(self, kind: attach.Kind) -> None:
        if kind.extension not in self.loaded:
            if self.locked:
                raise InsufficientPrivilege(
                    f"engine {kind.name} needs DuckDB's {kind.extension} extension, which cannot "
                    "be loaded any more: the server has turned off DuckDB's external access",
                    hint=f"restart the server with a {kind.name} database in the catalog",
                )
            path = str(attach.extension_file(kind)).replace("'", "''")
            self.run(f"LOAD '{path}'")
            self.loaded.add(str(kind.extension))

    def detach(self, name: str, kind: attach.Kind) -> None:
        with self.lock:
            for sql in attach.detach_sql(name, kind):
                self.run(sql)

    def forget(self, name: str) -> None:
        self.errors.pop(name.lower(), None)

    def run(self, sql: str) -> None:
        with duckdb_errors():
            self.cursor.execute(sql)


def attach_all(engine: Engine) -> Attachments:
    """Attach the catalog's databases when an engine opens its file; failures are recorded,
    logged and shown by SHOW DATABASES, never raised."""
    attachments = Attachments(engine._db.cursor())
    for database in engine.catalog.databases():
        try:
            attachments.attach(database)
        except Error as error:
            log.warning("database %s is unavailable: %s", database.name, error.message)
        else:
            log.info("attached database %s (%s)", database.name, database.engine)
    return attachments


def lock_down(engine: Engine, allowed_directories: Sequence[str] = ()) -> None:
    """Turn DuckDB's external access off for good (for network clients): only the allowed
    directories, plus those the files databases read, stay readable. Attach the catalog's
    databases before (Engine does at open): PostgreSQL and MySQL cannot be attached after."""
    attachments = engine.attachments
    with attachments.lock:
        if attachments.locked:
            return
        allowed = [os.path.abspath(d) for d in allowed_directories]
        for database in engine.catalog.databases():
            kind = attach.kind_of(database.engine)
            path = attach.local_path(kind, database.parameters)
            if kind.name == "files" and path is not None:
                allowed.append(path)
        listed = ", ".join("'" + d.rstrip("/").replace("'", "''") + "/'" for d in allowed)
        attachments.run(f"SET allowed_directories = [{listed}]")
        attachments.run("SET enable_external_access = false")
        attachments.allowed = allowed
        attachments.locked = True


# statements ---------------------------------------------------------------------------------


def create(conn: Connection, node: nodes.CreateDatabase) -> Result:
    _check_writable(conn, "CREATE DATABASE")
    name = node.this.name
    attach.check_name(name)
    engine_name = node.args["engine"].this.lower()
    kind = attach.kind_of(engine_name)
    parameters = node.args["parameters"].decoded if node.args.get("parameters") else {}
    parameters = attach.normalize(kind, parameters)
    catalog, attachments = conn.engine.catalog, conn.engine.attachments
    existing = catalog.database(name)
    if existing and node.args.get("exists"):
        return Result("CREATE DATABASE")
    if existing and not node.args.get("replace"):
        raise DuplicateObject(
            f"database {existing.name} already exists",
            hint="use CREATE OR REPLACE DATABASE, IF NOT EXISTS, or DROP DATABASE first",
        )
    if attachments.locked and kind.remote:
        raise InsufficientPrivilege(
            f"CREATE DATABASE with ENGINE '{engine_name}' is not possible while the server runs "
            "(it has turned off DuckDB's external access)",
            hint="create it with the byom-sql command or the Python API on the database file, "
            "then restart the server: it attaches the catalog's databases at start",
        )
    if not existing:
        _check_name_is_free(conn, name)
    database = Database(name, engine_name, parameters)
    with attachments.lock:
        if existing:
            attachments.detach(existing.name, attach.kind_of(existing.engine))
        try:
            attachments.attach(database)
        except Error:
            _restore(attachments, existing, name)
            raise
        try:
            with duckdb_errors():
                catalog.add_database(database, replace_existing=existing is not None)
        except Error:
            attachments.detach(name, kind)
            _restore(attachments, existing, name)
            raise
    log.info("created database %s (%s)", name, engine_name)
    return Result("CREATE DATABASE")


def _check_writable(conn: Connection, statement: str) -> None:
    if conn.engine.config.read_only:
        raise InsufficientPrivilege(
            f"{statement} changes the catalog, and this engine opened its file read-only"
        )


def _restore(attachments: Attachments, previous: Database | None, name: str) -> None:
    """After a failed CREATE: the replaced database back as it was, or no trace of the new."""
    attachments.forget(name)
    if previous is not None:
        try:
            attachments.attach(previous)
        except Error as error:
            log.warning("database %s is unavailable: %s", previous.name, error.message)


def _check_name_is_free(conn: Connection, name: str) -> None:
    """Three-part names must stay unambiguous: no clash with a DuckDB database, a schema of
    the main database, or a project."""
    with duckdb_errors():
        taken = conn.cursor.execute(
            "SELECT 'a DuckDB database' FROM duckdb_databases() WHERE lower(database_name) = $1 "
            "UNION ALL SELECT 'a schema' FROM duckdb_schemas() WHERE lower(schema_name) = $1 "
            "AND database_name = current_database()",
            [name.lower()],
        ).fetchone()
    what = taken[0] if taken else None
    if what is None and name.lower() in conn.engine.catalog.projects():
        what = "a project"
    if what is not None:
        raise DuplicateObject(f"{name} is already the name of {what}; pick another name")


def drop(conn: Connection, node: nodes.DropDatabase) -> Result:
    _check_writable(conn, "DROP DATABASE")
    name = node.this.name
    catalog, attachments = conn.engine.catalog, conn.engine.attachments
    database = catalog.database(name)
    if database is None:
        if node.args.get("exists"):
            return Result("DROP DATABASE")
        raise UndefinedObject(f"database {name} does not exist", hint="SHOW DATABASES lists them")
    with attachments.lock:
        attachments.detach(database.name, attach.kind_of(database.engine))
        try:
            with duckdb_errors():
                catalog.drop_database(name)
        except Error:
            _restore(attachments, database, name)
            raise
        attachments.forget(name)
    log.info("dropped database %s", database.name)
    return Result("DROP DATABASE")


def show(conn: Connection, node: nodes.ShowDatabases) -> Result:
    """name, engine, status, error, read_only, parameters (secrets masked)."""
    attachments = conn.engine.attachments
    databases = sorted(conn.engine.catalog.databases(), key=lambda d: d.name.lower())
    columns = {
        "name": [d.name for d in databases],
        "engine": [d.engine for d in databases],
        "status": [attachments.status(d.name) for d in databases],
        "error": [attachments.errors.get(d.name.lower()) for d in databases],
        "read_only": [attach.is_read_only(d.parameters) for d in databases],
        "parameters": [json.dumps(attach.masked(d.parameters)) for d in databases],
    }
    table = pa.table(columns, schema=SHOW_SCHEMA)
    with duckdb_errors():
        relation = conn.cursor.from_arrow(table)
        if node.args.get("like"):
            relation = relation.filter(f"name ILIKE {to_sql(node.args['like'])}")
        if node.args.get("where"):
            relation = relation.filter(to_sql(node.args["where"].this))
        reader = relation.arrow()
    return Result("SELECT", reader=reader)


# databases in queries -----------------------------------------------------------------------


def raw_query_sql(conn: Connection, database: str, text: str) -> str:
    """DuckDB SQL for the rows of `text`, a query in database's own dialect."""
    return to_sql(exp.select("*").from_(_raw_source(conn, database, text, None)))


def bind_sources(conn: Connection, node: exp.Expression, sql: str) -> tuple[exp.Expression, str]:
    """The statement as DuckDB must run it: `mydb (raw query)` sources replaced by DuckDB
    table sources, and every database it names attached (or a clear error)."""
    attachments = conn.engine.attachments
    raw = node.find(nodes.RawQuery) is not None
    if attachments.errors:
        for table in node.find_all(exp.Table):
            database = _database_named(conn, table)
            if database is not None:
                _available(conn, database)
    if not raw:
        return node, sql
    node = node.copy()
    for source in list(node.find_all(nodes.RawQuery)):
        source.replace(
            _raw_source(conn, source.name, source.args["query"].this, source.args.get("alias"))
        )
    return node, to_sql(node)


def is_remote(conn: Connection, table: exp.Table) -> bool:
    """Whether reading `table` queries a database server (the planner then reads it once)."""
    if isinstance(table.this, exp.Anonymous):
        return str(table.this.this).lower() in _REMOTE_FUNCTIONS
    database = _database_named(conn, table)
    return database is not None and attach.kind_of(database.engine).remote


def _database_named(conn: Connection, table: exp.Table) -> Database | None:
    """The catalog database a table name points into: `mydb.schema.t`, or `mydb.t`."""
    name = table.catalog or table.db
    return conn.engine.catalog.database(name) if name else None


def _raw_source(
    conn: Connection, name: str, text: str, alias: exp.TableAlias | None
) -> exp.Expression:
    database = conn.engine.catalog.database(name)
    if database is None:
        raise UndefinedObject(
            f"database {name} does not exist: FROM {name} ( … ) runs a query in a database "
            "made with CREATE DATABASE",
            hint="SHOW DATABASES lists them",
        )
    _available(conn, database)
    return attach.raw_source(database.name, attach.kind_of(database.engine), text, alias)


def _available(conn: Connection, database: Database) -> None:
    """Attach a database that was unavailable, or fail saying why it still is."""
    attachments = conn.engine.attachments
    with attachments.lock:  # another session may be attaching it right now
        if database.name.lower() not in attachments.errors:
            return
        try:
            attachments.attach(database)
        except Error as error:
            error.hint = error.hint or (
                f"database {database.name} is unavailable; SHOW DATABASES shows its status, "
                "CREATE OR REPLACE DATABASE changes its parameters"
            )
            raise
    log.info("attached database %s (%s)", database.name, database.engine)
