"""CREATE SECRET, DROP SECRET, SHOW SECRETS: named secrets that predictors and databases refer
to (`{"secret": "name"}` in headers, `password_secret` in PARAMETERS). Values are never shown."""

from __future__ import annotations

import pyarrow as pa

from byom_sql.dialect import nodes, to_sql
from byom_sql.errors import InsufficientPrivilege, UndefinedObject
from byom_sql.execution.direct import run_sql
from byom_sql.result import Result
from byom_sql.session import Session
from byom_sql.statements.inspect import shown

SHOW_SCHEMA = pa.schema(
    [
        pa.field("name", pa.string()),
        pa.field("created_at", pa.string()),
        pa.field("used_by", pa.list_(pa.string())),
    ]
)


def create(session: Session, node: nodes.CreateSecret) -> Result:
    name, store = node.this.name, session.catalog.secrets
    if not (node.args.get("exists") and store.exists(name)):
        store.create(name, node.args["value"].this, replace=bool(node.args.get("replace")))
    return Result("CREATE SECRET")


def drop(session: Session, node: nodes.DropSecret) -> Result:
    name, store = node.this.name, session.catalog.secrets
    if not store.exists(name):  # DuckDB's own secrets (TYPE s3 …) are DuckDB's to drop
        return run_sql(session.cursor, to_sql(node), node=node)
    users = users_of(session, name)
    if users:
        raise InsufficientPrivilege(
            f"secret {name} is used by {', '.join(users)}",
            hint="point them at another secret (CREATE OR REPLACE …) before dropping it",
        )
    if not store.drop(name) and not node.args.get("exists"):
        raise UndefinedObject(f"secret {name} does not exist")
    return Result("DROP SECRET")


def show(session: Session, node: nodes.ShowSecrets) -> Result:
    """name, created_at, used_by: never the value."""
    secrets = sorted(session.catalog.secrets.named(), key=lambda s: s.name.lower())
    columns = {
        "name": [s.name for s in secrets],
        "created_at": [s.created_at for s in secrets],
        "used_by": [users_of(session, s.name) for s in secrets],
    }
    return shown(session, pa.table(columns, schema=SHOW_SCHEMA), node)


def users_of(session: Session, name: str) -> list[str]:
    """The predictors and databases that refer to named secret `name`."""
    wanted = {"secret": name.lower()}
    users = [
        f"predictor {p.qualified_name}"
        for p in session.catalog.predictors()
        if any(
            isinstance(v, dict) and {k: str(x).lower() for k, x in v.items()} == wanted
            for v in (p.options.get("headers") or {}).values()
        )
    ]
    users += [
        f"database {d.name}"
        for d in session.catalog.databases()
        if str(d.parameters.get("password_secret", "")).lower() == name.lower()
    ]
    return users
