"""pgcatalog.intercept fed the exact SQL real clients send (tests/fixtures/pgclients/*.json,
captured from psql 15, SQLAlchemy 2 + psycopg 3 / pg8000, asyncpg and pgjdbc against the machine's
PostgreSQL), with an engine holding tables, a view and a predictor. Rewritten statements run on
the engine as the wire session runs them; answers are checked against what PostgreSQL answered
(column names) and against the engine's own catalog (rows)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import byom_sql
from byom_sql.dialect import parse
from byom_sql.engine import parse_script
from byom_sql.errors import Error
from byom_sql.server import pgcatalog, pgtypes
from byom_sql.server.state import VERSION_STRING, InterceptResult, SessionState

FIXTURES = Path(__file__).parent / "fixtures" / "pgclients"
PREDICTOR = (
    "CREATE PREDICTOR byom PREDICT number_of_rooms USING "
    "url.predict = 'http://127.0.0.1:9/ray/predict', check = false, format = 'ray_server', "
    'dtype_dict = {"number_of_rooms": "categorical", "initial_price": "integer", '
    '"rental_price": "integer"}'
)


@pytest.fixture
def state() -> Iterator[SessionState]:
    with byom_sql.connect() as con:
        con.sql(
            "CREATE TABLE home_rentals (number_of_rooms INTEGER, initial_price BIGINT, "
            "rental_price DOUBLE, location VARCHAR DEFAULT 'paris', created DATE)"
        )
        con.sql("CREATE VIEW cheap_rentals AS SELECT * FROM home_rentals WHERE rental_price < 99")
        con.sql("CREATE TABLE owners (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL)")
        con.cursor.execute("COMMENT ON TABLE owners IS 'who owns what'")
        con.sql("CREATE MACRO add_one(x) AS x + 1")
        con.sql(PREDICTOR)
        yield SessionState(con, "alice", "test", backend_pid=4242)


def captured(client: str, key: str, schema: str = "main") -> list[dict[str, Any]]:
    exchanges = json.loads((FIXTURES / f"{client}.json").read_text())[key]
    text = json.dumps(exchanges).replace("{schema}", schema)
    return json.loads(text)


def parameters(exchange: dict[str, Any]) -> list[Any] | None:
    """The Bind values the client sent, decoded as the server decodes them."""
    if not exchange["params"]:
        return None
    oids = exchange["param_oids"] + [0] * len(exchange["params"])
    return [
        None
        if value is None
        else pgtypes.decode_parameter(
            bytes.fromhex(value) if binary else value.encode(), oid or pgtypes.TEXT, binary
        )
        for (binary, value), oid in zip(exchange["params"], oids, strict=False)
    ]


def run(state: SessionState, sql: str, params: list[Any] | None = None) -> tuple[list, list]:
    """(column names, rows) as the wire session would send them."""
    answer = pgcatalog.intercept(state, sql)
    if answer is None:
        result = state.conn.sql(sql, params)
    elif answer.sql is not None:
        result = state.conn.run(parse_script(answer.sql)[0], params)
    else:
        return list(answer.columns), [tuple(row) for row in answer.rows]
    return result.columns, result.fetchall() if result.has_rows else []


def replay(state: SessionState, exchange: dict[str, Any], **substitutes: str) -> tuple[list, list]:
    """Run a captured statement, names or oids of the capture replaced (in its parameters too)."""
    text = json.dumps(exchange)
    for old, new in substitutes.items():
        text = text.replace(old, new)
    exchange = json.loads(text)
    return run(state, exchange["sql"], parameters(exchange))


def postgres_columns(exchange: dict[str, Any]) -> list[str]:
    return [name for name, _ in exchange["results"][0]]


# psql ------------------------------------------------------------------------------------------


def test_psql_dt_lists_tables_and_predictors(state: SessionState) -> None:
    (exchange,) = captured("psql", r"\dt")
    columns, rows = replay(state, exchange)
    assert columns == postgres_columns(exchange) == ["Schema", "Name", "Type", "Owner"]
    assert rows == [
        ("main", "home_rentals", "table", "alice"),
        ("main", "owners", "table", "alice"),
        ("mindsdb", "byom", "table", "alice"),
    ]


def test_psql_d_lists_views_too(state: SessionState) -> None:
    (exchange,) = captured("psql", r"\d")
    _, rows = replay(state, exchange)
    assert ("main", "cheap_rentals", "view", "alice") in rows
    assert ("mindsdb", "byom", "table", "alice") in rows


def describe(
    state: SessionState, relation: str, command: str = r"\d home_rentals", schema: str = "main"
) -> list:
    """psql's \\d <relation>: the lookup by name, then each query about the oid it found."""
    lookup, *details = captured("psql", command, schema)
    _, found = replay(state, lookup, home_rentals=relation)
    assert len(found) == 1, f"{relation} not found"
    postgres_oid = re.search(r"'(\d+)'", details[0]["sql"]).group(1)
    answers = [replay(state, e, **{postgres_oid: str(found[0][0])}) for e in details]
    for exchange, (columns, _) in zip(details, answers, strict=True):
        assert columns == postgres_columns(exchange)
    return [rows for _, rows in answers]


def test_psql_d_table_shows_its_columns_with_postgres_types(state: SessionState) -> None:
    relation, attributes, *others = describe(state, "home_rentals")
    assert relation[0][:2] == (0, "r")
    assert [row[:4] for row in attributes] == [
        ("number_of_rooms", "integer", None, False),
        ("initial_price", "bigint", None, False),
        ("rental_price", "double precision", None, False),
        ("location", "text", "'paris'", False),
        ("created", "date", None, False),
    ]
    assert all(rows == [] for rows in others)  # policies, statistics, publications, inheritance


def test_psql_d_predictor_shows_its_inputs_and_outputs(state: SessionState) -> None:
    _, attributes, *_ = describe(state, "byom")
    assert [row[:2] for row in attributes] == [
        ("number_of_rooms", "text"),
        ("number_of_rooms_confidence", "double precision"),
        ("initial_price", "bigint"),
        ("rental_price", "bigint"),
    ]


def test_psql_d_plus_shows_descriptions(state: SessionState) -> None:
    _, attributes = describe(state, "byom", r"\d+ {schema}.home_rentals", "mindsdb")[:2]
    assert [row[-1] for row in attributes] == ["target", "extra output", "feature", "feature"]


def test_psql_dt_plus_describes_predictors(state: SessionState) -> None:
    (exchange,) = captured("psql", r"\dt+")
    _, rows = replay(state, exchange)
    byom = next(row for row in rows if row[1] == "byom")
    assert byom[-1] == "predictor (ray_serve): predicts number_of_rooms"
    owners = next(row for row in rows if row[1] == "owners")
    assert owners[-1] == "who owns what"


def test_psql_l_dn_df_du(state: SessionState) -> None:
    _, databases = replay(state, captured("psql", r"\l")[0])
    assert [row[:3] for row in databases] == [("memory", "alice", "UTF8")]
    _, schemas = replay(state, captured("psql", r"\dn")[0])
    assert schemas == [("main", "alice"), ("mindsdb", "alice")]  # not byom's own catalog
    _, functions = replay(state, captured("psql", r"\df")[0])
    assert functions == [("main", "add_one", "any", "x", "func")]
    _, roles = replay(state, captured("psql", r"\du")[0])
    assert [row[:2] for row in roles] == [("alice", True)]


def test_psql_dt_with_a_schema_pattern(state: SessionState) -> None:
    (exchange,) = captured("psql", r"\dt {schema}.*", schema="mindsdb")
    _, rows = replay(state, exchange)
    assert rows == [("mindsdb", "byom", "table", "alice")]


# SQLAlchemy -------------------------------------------------------------------------------------


def test_sqlalchemy_connect_sequence(state: SessionState) -> None:
    answers = []
    for exchange in captured("sqlalchemy", "psycopg connect"):
        if exchange["sql"] == "BEGIN":
            state.conn.sql("BEGIN")
            state.transaction = "T"
        elif exchange["sql"] == "ROLLBACK":
            state.conn.sql("ROLLBACK")
            state.transaction = "I"
        else:
            answers.append(replay(state, exchange))
    version, schema, isolation, strings, savepoint, hstore, release = answers
    assert version == (["version"], [(VERSION_STRING,)])
    assert VERSION_STRING.startswith(f"PostgreSQL 16.0 (byom_sql {byom_sql.__version__})")
    assert schema == (["current_schema"], [("main",)])
    assert isolation[0] == ["transaction_isolation"]
    assert strings == (["standard_conforming_strings"], [("on",)])
    assert savepoint == ([], []) and release == ([], [])
    assert hstore == (["name", "oid", "array_oid", "regtype", "delimiter"], [])


def test_psycopg_type_lookup_finds_real_types(state: SessionState) -> None:
    (lookup,) = [e for e in captured("sqlalchemy", "psycopg connect") if "to_regtype" in e["sql"]]
    assert lookup["params"] == [[False, "hstore"]]
    lookup["params"] = [[False, "integer"]]
    assert replay(state, lookup)[1] == [("int4", 23, 1007, "integer", ",")]


@pytest.mark.parametrize(
    ("key", "schema", "expected"),
    [
        ("psycopg get_table_names", "main", [("home_rentals",), ("owners",)]),
        ("psycopg get_table_names", "mindsdb", [("byom",)]),
        ("psycopg get_view_names", "main", [("cheap_rentals",)]),
        ("psycopg get_schema_names", "main", [("information_schema",), ("main",), ("mindsdb",)]),
        ("psycopg has_table", "main", [("home_rentals",)]),
    ],
)
def test_sqlalchemy_inspector_lists(
    state: SessionState, key: str, schema: str, expected: list
) -> None:
    exchange = captured("sqlalchemy", key, schema)[-1]
    assert sorted(replay(state, exchange)[1]) == expected


def test_sqlalchemy_default_schema_lists_visible_tables_and_predictors(state: SessionState) -> None:
    (exchange,) = captured("sqlalchemy", "psycopg get_table_names default")
    assert sorted(replay(state, exchange)[1]) == [("byom",), ("home_rentals",), ("owners",)]


def test_sqlalchemy_get_columns_of_a_predictor(state: SessionState) -> None:
    (exchange,) = captured("sqlalchemy", "psycopg get_columns", "mindsdb")
    columns, rows = replay(state, exchange, home_rentals="byom")
    assert columns == postgres_columns(exchange)
    assert [(name, type_, table) for name, type_, _, _, table, *_ in rows] == [
        ("number_of_rooms", "text", "byom"),
        ("number_of_rooms_confidence", "double precision", "byom"),
        ("initial_price", "bigint", "byom"),
        ("rental_price", "bigint", "byom"),
    ]


def test_sqlalchemy_primary_key_and_foreign_keys(state: SessionState) -> None:
    state.conn.sql("CREATE TABLE pets (id INTEGER, owner INTEGER REFERENCES owners (id))")
    find, primary_key = captured("sqlalchemy", "psycopg get_pk_constraint")
    _, tables = replay(state, find, home_rentals="owners")
    primary_key["params"][3] = [False, str(tables[0][0])]
    assert replay(state, primary_key)[1] == [
        (tables[0][0], ["id"], "owners_id_pkey", None, 1, False)
    ]
    (foreign,) = captured("sqlalchemy", "psycopg get_foreign_keys")
    _, rows = replay(state, foreign, home_rentals="pets")
    assert [row[:4] for row in rows] == [
        ("pets", "pets_owner_id_fkey", 'FOREIGN KEY ("owner") REFERENCES owners(id)', "main")
    ]


@pytest.mark.parametrize("client", ["psql", "sqlalchemy", "pgjdbc"])
def test_every_captured_statement_runs_with_postgres_column_names(
    state: SessionState, client: str
) -> None:
    """psql's other backslash commands (\\di, \\dT, \\dx, \\db …) included."""
    for key in json.loads((FIXTURES / f"{client}.json").read_text()):
        for exchange in captured(client, key):
            verb = exchange["sql"].split()[0].upper()
            if verb in ("BEGIN", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET"):
                continue
            columns, _ = replay(state, exchange)
            if exchange["results"] and exchange["sql"] != "SELECT 1":
                assert columns == postgres_columns(exchange), exchange["sql"][:80]


# asyncpg -----------------------------------------------------------------------------------------


def test_asyncpg_type_introspection_is_answered_with_postgres_types(state: SessionState) -> None:
    jit, introspection, restore = captured("asyncpg", "introspection")[1:]
    assert replay(state, jit) == (["cur", "new"], [("off", "off")])
    answer = pgcatalog.intercept(state, introspection["sql"])
    assert isinstance(answer, InterceptResult) and answer.sql is None
    assert list(answer.columns) == postgres_columns(introspection)
    assert list(answer.oids) == [oid for _, oid in introspection["results"][0]]
    assert list(answer.param_oids) == [1028]  # oid[]: asyncpg encodes it with a built-in codec
    by_oid = {row[0]: row for row in answer.rows}
    assert by_oid[1016][2:7] == ("_int8", "b", None, 20, ",")  # bigint[]: element and delimiter
    assert by_oid[1016][-2] == "bigint"
    assert by_oid[20][5:7] == (0, None)


def test_asyncpg_pool_reset(state: SessionState) -> None:
    (_, reset) = captured("asyncpg", "pool")
    run(state, "SET application_name = 'changed'")
    answers = [pgcatalog.intercept(state, s.sql) for s in parse_script(reset["sql"])]
    unlock, close, unlisten, reset_all = answers
    assert unlock is not None and unlock.sql is not None
    assert state.conn.sql(unlock.sql).fetchall() == [(None,)]
    assert close is None  # CLOSE ALL: the session's cursors
    assert unlisten == InterceptResult(tag="UNLISTEN")
    assert reset_all == InterceptResult(tag="RESET")
    assert state.settings["application_name"] == ""


# pgjdbc ------------------------------------------------------------------------------------------


def test_pgjdbc_connect_settings(state: SessionState) -> None:
    for exchange in captured("pgjdbc", "connect"):
        assert pgcatalog.intercept(state, exchange["sql"]) == InterceptResult(tag="SET")
    assert state.settings["extra_float_digits"] == "3"
    assert state.settings["application_name"] == "PostgreSQL JDBC Driver"


def test_pgjdbc_get_tables(state: SessionState) -> None:
    (exchange,) = captured("pgjdbc", "getTables")
    columns, rows = replay(state, exchange)
    assert columns == postgres_columns(exchange)
    listed = {(schema, name): (kind, remarks) for _, schema, name, kind, remarks, *_ in rows}
    assert listed[("main", "home_rentals")] == ("TABLE", None)
    assert listed[("main", "cheap_rentals")] == ("VIEW", None)
    assert listed[("mindsdb", "byom")] == (
        "TABLE",
        "predictor (ray_serve): predicts number_of_rooms",
    )


def test_pgjdbc_get_columns_and_primary_keys(state: SessionState) -> None:
    (columns_query,) = captured("pgjdbc", "getColumns", "mindsdb")
    columns, rows = replay(state, columns_query, home_rentals="byom")
    assert columns == postgres_columns(columns_query)
    assert [(r[2], r[3], r[8]) for r in rows] == [
        ("number_of_rooms", pgtypes.TEXT, 1),
        ("number_of_rooms_confidence", pgtypes.FLOAT8, 2),
        ("initial_price", pgtypes.INT8, 3),
        ("rental_price", pgtypes.INT8, 4),
    ]
    (keys,) = captured("pgjdbc", "getPrimaryKeys")
    _, found = replay(state, keys, home_rentals="owners")
    assert [row[1:] for row in found] == [("main", "owners", "id", 1, "owners_id_pkey")]


# types ---------------------------------------------------------------------------------------


def test_catalog_types_agree_with_result_columns(state: SessionState) -> None:
    """pg_attribute says what RowDescription will say for the same column."""
    state.conn.sql(
        "CREATE TABLE typed (a SMALLINT, b INTEGER, c BIGINT, d DOUBLE, e FLOAT, f DECIMAL(10,2), "
        "g VARCHAR, h BOOLEAN, i DATE, j TIMESTAMP, k TIMESTAMPTZ, l BLOB, m UUID, n JSON, "
        "o INTEGER[], p VARCHAR[], q STRUCT(x INTEGER), r HUGEINT, s INTERVAL, t TIME)"
    )
    _, catalog = run(
        state,
        "SELECT a.attname, a.atttypid, a.atttypmod FROM pg_catalog.pg_attribute a "
        "WHERE a.attrelid = 'typed'::regclass ORDER BY a.attnum",
    )
    schema = state.conn.sql("SELECT * FROM typed").schema
    described = [pgtypes.field_of(f.name, f.type) for f in schema]
    assert catalog == [(f.name, f.oid, f.typmod) for f in described]
    _, names = run(
        state,
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'typed'::regclass AND attname IN ('f', 'o', 'k') ORDER BY attnum",
    )
    assert names == [("numeric(10,2)",), ("timestamp with time zone",), ("integer[]",)]


def test_regclass_and_regtype(state: SessionState) -> None:
    _, rows = run(
        state,
        "SELECT 'mindsdb.byom'::regclass::oid = c.oid, c.oid::regclass, 'pg_class'::regclass, "
        "to_regtype('bigint')::regtype::text, 'owners'::regclass::text "
        "FROM pg_class c WHERE c.relname = 'byom'",
    )
    assert rows == [(True, "byom", "pg_class", "bigint", "owners")]  # byom resolves unqualified


# SET, SHOW, RESET and functions -----------------------------------------------------------------


def test_set_show_reset(state: SessionState) -> None:
    assert run(state, "SET application_name = 'psql'") == ([], [])
    assert state.reported()["application_name"] == "psql"
    assert run(state, "SHOW application_name") == (["application_name"], [("psql",)])
    assert run(state, "show DateStyle") == (["DateStyle"], [("ISO, MDY",)])
    assert run(state, "SET SESSION datestyle TO ISO, DMY") == ([], [])
    assert run(state, "SHOW datestyle")[1] == [("ISO, DMY",)]
    assert run(state, "RESET datestyle") == ([], [])
    assert run(state, "SHOW datestyle")[1] == [("ISO, MDY",)]
    assert run(state, "SET myapp.tenant = 42; ") == ([], [])
    assert run(state, "SELECT current_setting('myapp.tenant')")[1] == [("42",)]
    assert run(state, "SHOW server_version_num") == (["server_version_num"], [("160000",)])


def test_show_all_and_pg_settings(state: SessionState) -> None:
    columns, rows = run(state, "SHOW ALL")
    assert columns == ["name", "setting", "description"]
    assert ("TimeZone", "UTC") in [row[:2] for row in rows]
    _, rows = run(
        state, "SELECT setting FROM pg_settings WHERE name = 'standard_conforming_strings'"
    )
    assert rows == [("on",)]


def test_time_zone_reaches_duckdb(state: SessionState) -> None:
    assert run(state, "SET TIME ZONE 'Europe/Paris'") == ([], [])
    assert state.settings["timezone"] == "Europe/Paris"
    assert state.conn.sql("SELECT current_setting('TimeZone')").fetchall() == [("Europe/Paris",)]
    with pytest.raises(Error) as error:
        pgcatalog.intercept(state, "SET TimeZone = 'Mars/Olympus'")
    assert error.value.sqlstate == "22023"


def test_settings_postgres_refuses_to_change(state: SessionState) -> None:
    with pytest.raises(Error) as error:
        pgcatalog.intercept(state, "SET server_version = '9.6'")
    assert error.value.sqlstate == "55P02"


def test_client_encoding_is_utf8_only(state: SessionState) -> None:
    assert run(state, "SET NAMES 'utf-8'") == ([], [])
    assert state.reported()["client_encoding"] == "UTF8"
    with pytest.raises(Error) as error:
        pgcatalog.intercept(state, "SET client_encoding = 'LATIN1'")
    assert error.value.sqlstate == "0A000"


def test_transaction_isolation(state: SessionState) -> None:
    state.transaction = "T"
    assert run(state, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ") == ([], [])
    assert run(state, "SHOW transaction isolation level")[1] == [("repeatable read",)]
    assert run(state, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY") == ([], [])


def test_duckdb_settings_go_to_duckdb(state: SessionState) -> None:
    assert pgcatalog.intercept(state, "SET threads = 1") is None
    run(state, "SET threads = 1")
    assert run(state, "SHOW threads") == (["threads"], [("1",)])
    assert pgcatalog.intercept(state, "SHOW TABLES") is None


def test_search_path_names_duckdb_schemas(state: SessionState) -> None:
    assert run(state, "SET search_path TO mindsdb, public") == ([], [])
    assert state.conn.sql("SELECT current_setting('search_path')").fetchall() == [("mindsdb,main",)]
    assert run(state, "SHOW search_path")[1] == [("mindsdb, public",)]


def test_functions(state: SessionState) -> None:
    _, rows = run(
        state,
        "SELECT pg_catalog.version(), pg_backend_pid(), current_setting('server_version_num'), "
        "current_user, pg_catalog.pg_get_userbyid(10), has_table_privilege('owners', 'SELECT'), "
        "pg_size_pretty(123456789::bigint), pg_encoding_to_char(6)",
    )
    assert rows == [(VERSION_STRING, 4242, "160000", "alice", "alice", True, "118 MB", "UTF8")]


def test_set_config(state: SessionState) -> None:
    assert run(state, "SELECT set_config('application_name', 'tool', false)")[1] == [("tool",)]
    assert state.settings["application_name"] == "tool"


# savepoints, DISCARD ---------------------------------------------------------------------------


def test_savepoints(state: SessionState) -> None:
    with pytest.raises(Error) as error:
        pgcatalog.intercept(state, "SAVEPOINT a")
    assert error.value.sqlstate == "25P01"
    state.transaction = "T"
    assert run(state, "SAVEPOINT a") == ([], [])
    run(state, "SELECT 1")
    assert pgcatalog.intercept(state, "ROLLBACK TO SAVEPOINT a") == InterceptResult(tag="ROLLBACK")
    assert pgcatalog.intercept(state, "RELEASE SAVEPOINT a") == InterceptResult(tag="RELEASE")
    assert run(state, 'SAVEPOINT "B"') == ([], [])
    run(state, "INSERT INTO owners VALUES (1, 'x')")
    with pytest.raises(Error) as error:
        pgcatalog.intercept(state, 'ROLLBACK TO "B"')
    assert error.value.sqlstate == "0A000"


def test_discard_all(state: SessionState) -> None:
    state.conn.sql("CREATE TEMP TABLE scratch (a INTEGER)")
    run(state, "SET application_name = 'x'")
    assert pgcatalog.intercept(state, "DISCARD ALL") == InterceptResult(tag="DISCARD ALL")
    assert state.settings["application_name"] == ""
    assert state.conn.sql("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [
        (0,)
    ]


# the golden rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM home_rentals WHERE initial_price = 3000",
        "SELECT * FROM byom WHERE initial_price = 3000 AND rental_price = 3000",
        "SELECT version, name FROM mindsdb.models",
        "SELECT location::text, 'pg_class' AS label FROM home_rentals",
        'CREATE DATABASE pg_db WITH ENGINE = \'postgres\', PARAMETERS = {"host": "127.0.0.1"}',
        "DESCRIBE byom",
        "SHOW PREDICTORS",
        "INSERT INTO home_rentals (location) SELECT 'pg_' || version FROM mindsdb.models",
        "",
    ],
)
def test_user_sql_is_not_touched(state: SessionState, sql: str) -> None:
    assert pgcatalog.intercept(state, sql) is None


def test_every_rewrite_reads_back_in_our_dialect(state: SessionState) -> None:
    """The session parses the SQL it is given (to infer parameter types, to dispatch)."""
    state.transaction = "T"
    rewritten = 0
    for client in ("psql", "sqlalchemy", "asyncpg", "pgjdbc"):
        for key in json.loads((FIXTURES / f"{client}.json").read_text()):
            for exchange in captured(client, key):
                answer = pgcatalog.intercept(state, exchange["sql"])
                if answer is not None and answer.sql is not None:
                    rewritten += 1
                    parse(answer.sql)  # raises SqlSyntaxError if not
    assert rewritten > 80


def test_parameters_survive_the_rewrite(state: SessionState) -> None:
    (exchange,) = captured("sqlalchemy", "psycopg get_foreign_keys")
    answer = pgcatalog.intercept(state, exchange["sql"])
    assert answer is not None and answer.sql is not None
    placeholders = {int(n) for n in re.findall(r"\$(\d+)", answer.sql)}
    assert placeholders == set(range(1, len(exchange["params"]) + 1))
