"""Databases in queries: `FROM mydb (raw query)` as a DuckDB table source, and every catalog
database a statement names attached before it runs (or a clear error saying why not)."""

from __future__ import annotations

import logging

from sqlglot import exp

from byom_sql.catalog import Catalog, Database
from byom_sql.databases import kinds
from byom_sql.databases.attachments import Attachments
from byom_sql.dialect import nodes, to_sql
from byom_sql.errors import Error, UndefinedObject

log = logging.getLogger("byom_sql.databases")
_REMOTE_FUNCTIONS = tuple(f"{k.name}_query" for k in kinds.KINDS.values() if k.remote)


def raw_query(catalog: Catalog, attachments: Attachments, database: str, text: str) -> exp.Query:
    """A DuckDB query of the rows of `text`, a query in database's own dialect."""
    return exp.select("*").from_(_raw_source(catalog, attachments, database, text, None))


def bind_sources(
    catalog: Catalog, attachments: Attachments, node: exp.Expr, sql: str
) -> tuple[exp.Expr, str]:
    """The statement as DuckDB must run it: `mydb (raw query)` sources replaced by DuckDB
    table sources, and every database it names attached (or a clear error)."""
    raw = node.find(nodes.RawQuery) is not None
    if attachments.errors:
        for table in node.find_all(exp.Table):
            database = _database_named(catalog, table)
            if database is not None:
                _available(attachments, database)
    if not raw:
        return node, sql
    node = node.copy()
    for source in list(node.find_all(nodes.RawQuery)):
        text, alias = source.args["query"].this, source.args.get("alias")
        source.replace(_raw_source(catalog, attachments, source.name, text, alias))
    return node, to_sql(node)


def is_remote(catalog: Catalog, table: exp.Table) -> bool:
    """Whether reading `table` queries a database server (the planner then reads it once)."""
    if isinstance(table.this, exp.Anonymous):
        return str(table.this.this).lower() in _REMOTE_FUNCTIONS
    database = _database_named(catalog, table)
    return database is not None and kinds.kind_of(database.engine).remote


def _database_named(catalog: Catalog, table: exp.Table) -> Database | None:
    """The catalog database a table name points into: `mydb.schema.t`, or `mydb.t`."""
    name = table.catalog or table.db
    return catalog.database(name) if name else None


def _raw_source(
    catalog: Catalog,
    attachments: Attachments,
    name: str,
    text: str,
    alias: exp.TableAlias | None,
) -> exp.Expr:
    database = catalog.database(name)
    if database is None:
        raise UndefinedObject(
            f"database {name} does not exist: FROM {name} ( … ) runs a query in a database "
            "made with CREATE DATABASE",
            hint="SHOW DATABASES lists them",
        )
    _available(attachments, database)
    return kinds.raw_source(database.name, kinds.kind_of(database.engine), text, alias)


def _available(attachments: Attachments, database: Database) -> None:
    """Attach a database that was unavailable, or fail saying why it still is."""
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
