"""Untrusted (network) sessions cannot reach files or the catalog's secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

import byom_sql
from byom_sql.engine import Engine, EngineConfig


@pytest.fixture
def locked(tmp_path: Path):
    engine = Engine(str(tmp_path / "s.duckdb"), EngineConfig(external_access=False))
    yield engine.connect(trusted=False)
    engine.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM byom.databases",
        "SELECT * FROM byom.predictors",
        "SELECT * FROM sqlite_scan('/etc/passwd', 't')",
        "ATTACH '/tmp/x.db' AS x (TYPE sqlite)",
        "INSTALL httpfs",
        "LOAD sqlite_scanner",
    ],
)
def test_refused(locked: byom_sql.Connection, sql: str) -> None:
    with pytest.raises(byom_sql.InsufficientPrivilege) as raised:
        locked.sql(sql)
    assert raised.value.sqlstate == "42501"


def test_allowed(locked: byom_sql.Connection) -> None:
    assert locked.sql("SELECT count(*) FROM mindsdb.models").fetchone() == (0,)
    locked.sql("CREATE TABLE t AS SELECT 1 AS a")
    assert locked.sql("SELECT * FROM t").fetchall() == [(1,)]


def test_trusted_sessions_are_not_guarded(con: byom_sql.Connection) -> None:
    assert con.sql("SELECT count(*) FROM byom.predictors").fetchone() == (0,)
