"""Secrets stay out of reach: never in the DuckDB file, never shown, never logged, and no spelling
of a query gives them to a wire client."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest

import byom_sql
from byom_sql.redact import MASK, redact
from tests.model_server import ModelServer
from tests.wire import WireServer, prepared_server

TOKEN = "Bearer tok-7f3a9c1e"
INLINE = "inline-key-55d2e8"
PASSWORD = "pw-91b4c7"
DTYPES = '{"a": "integer", "y": "float"}'
# the machine's PostgreSQL trusts local connections: any password attaches
POSTGRES = json.dumps(
    {
        "host": "127.0.0.1",
        "port": 5432,
        "database": "test",
        "user": "postgres",
        "password": PASSWORD,
    }
)


def predictor_sql(server: ModelServer, name: str, headers: str) -> str:
    return (
        f"CREATE PREDICTOR {name} PREDICT y USING format = 'ray_serve', "
        f"url.predict = '{server.url}/ray/predict', dtype_dict = {DTYPES}, headers = {headers}"
    )


def sent_headers(server: ModelServer) -> dict[str, str]:
    return {k.lower(): v for k, v in server.requests[-1].headers.items()}


@pytest.fixture
def database(tmp_path: Path) -> str:
    return str(tmp_path / "state.duckdb")


def test_inline_secrets_live_beside_the_file_not_in_it(
    database: str, model_server: ModelServer
) -> None:
    with byom_sql.connect(database) as con:
        con.sql(predictor_sql(model_server, "p", f'{{"X-Key": "{INLINE}"}}'))
        con.sql(f"CREATE DATABASE d WITH ENGINE = 'postgres', PARAMETERS = {POSTGRES}")
        assert con.sql("SELECT a, y FROM p WHERE a = 2").fetchall() == [(2, 2.0)]
        assert sent_headers(model_server)["x-key"] == INLINE
        stored = con.sql("SELECT options FROM byom.predictors").fetchall()[0][0]
        assert json.loads(stored)["headers"] == {"X-Key": MASK}
        described = dict(con.sql("DESCRIBE p").fetchall())
        assert INLINE not in json.dumps(described)
        con.sql("CHECKPOINT")
    raw = Path(database).read_bytes()
    assert INLINE.encode() not in raw and PASSWORD.encode() not in raw
    secrets = Path(f"{database}.secrets")
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert INLINE in secrets.read_text() and PASSWORD in secrets.read_text()
    with byom_sql.connect(database) as con:  # a restart reads them back
        con.sql("SELECT * FROM p WHERE a = 3").fetchall()
        assert sent_headers(model_server)["x-key"] == INLINE


def test_named_secrets(database: str, model_server: ModelServer) -> None:
    with byom_sql.connect(database) as con:
        con.sql(f"CREATE SECRET model_token WITH VALUE = '{TOKEN}'")
        con.sql(predictor_sql(model_server, "p", '{"Authorization": {"secret": "model_token"}}'))
        con.sql("SELECT * FROM p WHERE a = 1").fetchall()
        assert sent_headers(model_server)["authorization"] == TOKEN
        con.sql("CREATE OR REPLACE SECRET model_token WITH VALUE = 'Bearer second'")
        con.sql("SELECT * FROM p WHERE a = 2").fetchall()
        assert sent_headers(model_server)["authorization"] == "Bearer second"
        shown = con.sql("SHOW SECRETS").fetchall()
        assert [(name, used) for name, _, used in shown] == [
            ("model_token", ["predictor mindsdb.p"])
        ]
        assert "Bearer" not in repr(shown)
        with pytest.raises(byom_sql.DuplicateObject):
            con.sql("CREATE SECRET model_token WITH VALUE = 'x'")
        con.sql("CREATE SECRET IF NOT EXISTS model_token WITH VALUE = 'ignored'")
        with pytest.raises(byom_sql.InsufficientPrivilege, match="used by predictor mindsdb.p"):
            con.sql("DROP SECRET model_token")
        con.sql("DROP PREDICTOR p")
        con.sql("DROP SECRET model_token")
        assert con.sql("SHOW SECRETS").fetchall() == []
        con.sql("DROP SECRET IF EXISTS model_token")  # DuckDB answers for a name not ours
        missing = '{"Authorization": {"secret": "nope"}}'
        with pytest.raises(byom_sql.UndefinedObject, match="secret nope"):  # the check needs it
            con.sql(predictor_sql(model_server, "q", missing))
        con.sql(predictor_sql(model_server, "q", f"{missing}, check = false"))
        with pytest.raises(byom_sql.UndefinedObject, match="secret nope"):
            con.sql("SELECT * FROM q WHERE a = 1").fetchall()


def test_secrets_from_the_environment(
    database: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_TOKEN", TOKEN)
    monkeypatch.setenv("MORE_HEADERS", '{"X-Team": "ml"}')
    with byom_sql.connect(database) as con:
        con.sql(
            predictor_sql(model_server, "p", '{"Authorization": {"env": "MODEL_TOKEN"}}')
            + ", headers_env = 'MORE_HEADERS'"
        )
        con.sql("SELECT * FROM p WHERE a = 1").fetchall()
        headers = sent_headers(model_server)
        assert (headers["authorization"], headers["x-team"]) == (TOKEN, "ml")
        monkeypatch.delenv("MODEL_TOKEN")
        with pytest.raises(byom_sql.InvalidOption, match="MODEL_TOKEN"):
            con.sql("SELECT * FROM p WHERE a = 2").fetchall()


def test_retrain_keeps_the_stored_token(database: str, model_server: ModelServer) -> None:
    with byom_sql.connect(database) as con:
        con.sql("CREATE TABLE t AS SELECT 1 AS a, 2.0 AS y")
        con.sql(
            predictor_sql(model_server, "p", f'{{"X-Key": "{INLINE}"}}')
            + f", url.train = '{model_server.url}/ray/train'"
        )
        con.sql("RETRAIN p FROM (SELECT * FROM t)")
        con.sql("SELECT * FROM p.2 WHERE a = 5").fetchall()
        assert sent_headers(model_server)["x-key"] == INLINE
        con.sql('RETRAIN p FROM (SELECT * FROM t) USING headers = {"X-Key": "new"}')
        con.sql("SELECT * FROM p.3 WHERE a = 5").fetchall()
        assert sent_headers(model_server)["x-key"] == "new"


def test_an_older_file_has_its_secrets_moved_out(database: str) -> None:
    url = "http://127.0.0.1:9/x"
    with byom_sql.connect(database) as con:
        con.sql(
            f"CREATE PREDICTOR p PREDICT y USING format = 'mlflow', url.predict = '{url}', "
            "check = false"
        )
    options = {"format": "mlflow", "url.predict": url, "headers": {"X-Key": INLINE}}
    with duckdb.connect(database) as raw:  # as byom_sql 0.1 wrote it
        raw.execute("UPDATE byom.predictors SET options = ?", [json.dumps(options)])
    with byom_sql.connect(database) as con:
        stored = con.sql("SELECT options FROM byom.predictors").fetchall()[0][0]
        assert INLINE not in stored
        assert con.catalog.headers(con.catalog.predictor("p")) == {"X-Key": INLINE}


@pytest.mark.parametrize(
    "text",
    [
        'CREATE DATABASE d WITH ENGINE = \'postgres\', PARAMETERS = {"password": "pw-91b4c7"}',
        'USING headers = {"Authorization": "Bearer tok-7f3a9c1e"}',
        "CREATE SECRET s WITH VALUE = 'pw-91b4c7'",
        "host=x password=pw-91b4c7 port=5",
        "{'api_key': 'pw-91b4c7'}",
        "Authorization: Bearer tok-7f3a9c1e",
    ],
)
def test_redact_masks_every_form(text: str) -> None:
    assert "91b4c7" not in redact(text) and "7f3a9c1e" not in redact(text)
    assert MASK in redact(text)


def test_log_records_are_redacted_at_the_boundary(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("byom_sql.server").info('failed: {"password": "%s"}', PASSWORD)
    try:
        raise ValueError(f"token {TOKEN}")
    except ValueError:
        logging.getLogger("byom_sql.test").exception("boom")
    assert PASSWORD not in caplog.text and "7f3a9c1e" not in caplog.text


# over the wire -----------------------------------------------------------------------------

SPELLINGS = [
    "SELECT * FROM byom.predictors",
    "SELECT * FROM wire.byom.predictors",
    "SELECT options FROM byom.predictors",
    "SELECT * FROM wire.byom.databases",
    "WITH c AS (SELECT * FROM wire.byom.predictors) SELECT * FROM c",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM duckdb_databases()",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM mindsdb.models",
    "SHOW SECRETS",
    "SHOW DATABASES",
    "DESCRIBE p",
    "SELECT * FROM read_text('{secrets}')",
    "SELECT * FROM read_blob('{database}')",
    "SELECT * FROM read_json('{secrets}')",
]
SETUP = [
    "SET search_path = 'byom'",
    "USE wire.byom",
    "CREATE TABLE stolen AS SELECT * FROM wire.byom.predictors",
    "CREATE VIEW peek AS SELECT * FROM wire.byom.databases",
]


def secret_setup(model: ModelServer) -> list[str]:
    headers = f'{{"Authorization": {{"secret": "tok"}}, "X-Key": "{INLINE}"}}'
    return [
        f"CREATE SECRET tok WITH VALUE = '{TOKEN}'",
        predictor_sql(model, "p", headers),
        f"CREATE DATABASE d WITH ENGINE = 'postgres', PARAMETERS = {POSTGRES}",
    ]


@pytest.fixture(scope="module")
def secret_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WireServer]:
    with prepared_server(tmp_path_factory.mktemp("secrets"), secret_setup) as server:
        yield server


def test_no_spelling_gives_a_wire_client_a_secret(secret_server: WireServer) -> None:
    secrets = f"{secret_server.database}.secrets"
    seen: list[str] = []
    with psycopg.connect(secret_server.dsn, autocommit=True) as conn:
        for statement in SETUP + SPELLINGS + ["SELECT * FROM predictors", "SELECT * FROM stolen"]:
            sql = statement.format(secrets=secrets, database=secret_server.database)
            try:
                seen.append(repr(conn.execute(sql).fetchall()))
            except psycopg.Error as error:
                seen.append(str(error))
    text = "\n".join(seen)
    for secret in (TOKEN, INLINE, PASSWORD, "7f3a9c1e"):
        assert secret not in text
    assert secret_server.alive()
    assert all(s not in secret_server.log.read_text() for s in (INLINE, PASSWORD, "7f3a9c1e"))


def test_the_server_log_never_shows_a_secret(secret_server: WireServer) -> None:
    with psycopg.connect(secret_server.dsn, autocommit=True) as conn:
        for bad in (
            f'CREATE DATABASE x WITH ENGINE = \'nope\', PARAMETERS = {{"password": "{PASSWORD}"',
            f"CREATE SECRET oops WITH VALUE = '{TOKEN}' garbage",
            f'CREATE PREDICTOR z PREDICT y USING headers = {{"Authorization": "{TOKEN}"}}',
        ):
            with pytest.raises(psycopg.Error):
                conn.execute(bad)
    log = secret_server.log.read_text()
    assert PASSWORD not in log and "7f3a9c1e" not in log
    assert os.path.getsize(secret_server.log) > 0
