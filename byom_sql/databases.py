"""CREATE DATABASE → DuckDB ATTACH. (Placeholder until the data-sources work lands.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from byom_sql.dialect import nodes
from byom_sql.errors import FeatureNotSupported, UndefinedObject
from byom_sql.result import Result

if TYPE_CHECKING:
    from byom_sql.engine import Connection, Engine


def create(conn: Connection, node: nodes.CreateDatabase) -> Result:
    raise FeatureNotSupported("CREATE DATABASE is not available yet")


def drop(conn: Connection, node: nodes.DropDatabase) -> Result:
    raise FeatureNotSupported("DROP DATABASE is not available yet")


def show(conn: Connection, node: nodes.ShowDatabases) -> Result:
    raise FeatureNotSupported("SHOW DATABASES is not available yet")


def attach_all(engine: Engine) -> None:
    """Re-attach the catalog's databases when an engine opens its file."""


def raw_query_sql(conn: Connection, database: str, text: str) -> str:
    raise UndefinedObject(f"database {database} does not exist")
