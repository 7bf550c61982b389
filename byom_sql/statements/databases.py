"""CREATE, DROP and SHOW DATABASE."""

from __future__ import annotations

import json
import logging
from typing import Any

import pyarrow as pa

from byom_sql.catalog import Database
from byom_sql.databases import kinds
from byom_sql.databases.attachments import Attachments
from byom_sql.dialect import nodes
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.errors import DuplicateObject, Error, InsufficientPrivilege, UndefinedObject
from byom_sql.result import Result
from byom_sql.session import Session
from byom_sql.statements.inspect import shown

log = logging.getLogger("byom_sql.databases")
SHOW_SCHEMA = pa.schema(
    [
        pa.field("name", pa.string()),
        pa.field("engine", pa.string()),
        pa.field("status", pa.string()),  # attached | unavailable
        pa.field("error", pa.string()),  # why it is unavailable
        pa.field("read_only", pa.bool_()),
        pa.field("parameters", pa.string()),  # JSON, secrets masked
    ]
)


def create(session: Session, node: nodes.CreateDatabase) -> Result:
    _check_writable(session, "CREATE DATABASE")
    name = node.this.name
    kinds.check_name(name)
    engine_name = node.args["engine"].this.lower()
    kind = kinds.kind_of(engine_name)
    parameters = node.args["parameters"].decoded if node.args.get("parameters") else {}
    parameters = kinds.normalize(kind, parameters)
    catalog, attachments = session.catalog, session.attachments
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
        _check_name_is_free(session, name)
    database = Database(name, engine_name, parameters)
    with attachments.lock:
        if existing:
            attachments.detach(existing.name, kinds.kind_of(existing.engine))
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


def _check_writable(session: Session, statement: str) -> None:
    if session.config.read_only:
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


def _check_name_is_free(session: Session, name: str) -> None:
    """Three-part names must stay unambiguous: no clash with a DuckDB database, a schema of
    the main database, or a project."""
    with duckdb_errors():
        taken = session.cursor.execute(
            "SELECT 'a DuckDB database' FROM duckdb_databases() WHERE lower(database_name) = $1 "
            "UNION ALL SELECT 'a schema' FROM duckdb_schemas() WHERE lower(schema_name) = $1 "
            "AND database_name = current_database()",
            [name.lower()],
        ).fetchone()
    what = taken[0] if taken else None
    if what is None and name.lower() in session.catalog.projects():
        what = "a project"
    if what is not None:
        raise DuplicateObject(f"{name} is already the name of {what}; pick another name")


def drop(session: Session, node: nodes.DropDatabase) -> Result:
    _check_writable(session, "DROP DATABASE")
    name = node.this.name
    catalog, attachments = session.catalog, session.attachments
    database = catalog.database(name)
    if database is None:
        if node.args.get("exists"):
            return Result("DROP DATABASE")
        raise UndefinedObject(f"database {name} does not exist", hint="SHOW DATABASES lists them")
    with attachments.lock:
        attachments.detach(database.name, kinds.kind_of(database.engine))
        try:
            with duckdb_errors():
                catalog.drop_database(name)
        except Error:
            _restore(attachments, database, name)
            raise
        attachments.forget(name)
    log.info("dropped database %s", database.name)
    return Result("DROP DATABASE")


def show(session: Session, node: nodes.ShowDatabases) -> Result:
    """name, engine, status, error, read_only, parameters (secrets masked)."""
    attachments = session.attachments
    databases = sorted(session.catalog.databases(), key=lambda d: d.name.lower())
    columns: dict[str, list[Any]] = {
        "name": [d.name for d in databases],
        "engine": [d.engine for d in databases],
        "status": [attachments.status(d.name) for d in databases],
        "error": [attachments.errors.get(d.name.lower()) for d in databases],
        "read_only": [kinds.is_read_only(d.parameters) for d in databases],
        "parameters": [json.dumps(kinds.masked(d.parameters)) for d in databases],
    }
    return shown(session, pa.table(columns, schema=SHOW_SCHEMA), node)
