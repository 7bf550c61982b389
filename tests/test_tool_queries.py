"""What client tools send, replayed with psycopg and answered as PostgreSQL would: pgcli at
connect and for \\dt and table completion (pgcli 4.7's pgexecute.py), Grafana's identifier
functions, and the preview GUI tools run on a table."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg

from tests.wire import (  # noqa: F401 - fixture
    WireServer,
    create_seed_predictor,
    prepared_server,
    wire,
)

# pgexecute.PGExecute.tables_query, verbatim
TABLES_QUERY = """
    SELECT n.nspname schema_name,
           c.relname table_name
    FROM pg_catalog.pg_class c
    LEFT JOIN pg_catalog.pg_namespace n
        ON n.oid = c.relnamespace
    WHERE c.relkind = ANY(%s)
    ORDER BY 1,2;"""


def test_set_time_zone_with_a_quoted_name(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(f"host=127.0.0.1 port={wire.port} user=t dbname=d") as conn:
        conn.execute('set time zone "Etc/UTC"')
        assert conn.execute("SHOW TimeZone").fetchone() == ("Etc/UTC",)


def test_tables_for_dt_and_completion(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(f"host=127.0.0.1 port={wire.port} user=t dbname=d") as conn:
        conn.autocommit = True
        conn.execute("CREATE TABLE IF NOT EXISTS pgcli_table (a INTEGER)")
        conn.execute("CREATE OR REPLACE VIEW pgcli_view AS SELECT 1 AS a")
        tables = conn.execute(TABLES_QUERY, [["r", "p", "f"]]).fetchall()
        views = conn.execute(TABLES_QUERY, [["v", "m"]]).fetchall()
        literal = conn.execute(
            "SELECT relname FROM pg_catalog.pg_class WHERE relkind = ANY('{r,p,f}')"
        ).fetchall()
    assert ("main", "pgcli_table") in tables and ("main", "pgcli_view") not in tables
    assert ("main", "pgcli_view") in views
    assert ("pgcli_table",) in literal


def test_previewing_a_predictor_as_gui_tools_do(tmp_path: Path) -> None:
    with prepared_server(tmp_path, create_seed_predictor) as server:
        with psycopg.connect(f"host=127.0.0.1 port={server.port} user=t dbname=d") as conn:
            for prepare in (False, True):
                cur = conn.execute(
                    "SELECT number_of_rooms, initial_price FROM mindsdb.byom LIMIT 1",
                    prepare=prepare,
                )
                assert cur.fetchall() == []
                assert [c.name for c in cur.description or []] == [
                    "number_of_rooms",
                    "initial_price",
                ]
                dbeaver = conn.execute("SELECT x.* FROM mindsdb.byom x LIMIT 200", prepare=prepare)
                assert dbeaver.fetchall() == []
                names = [c.name for c in dbeaver.description or []]
                assert names[0] == "number_of_rooms" and "initial_price" in names


def test_grafana_identifier_functions(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(f"host=127.0.0.1 port={wire.port} user=t dbname=d") as conn:
        quoted = conn.execute("SELECT quote_ident('a b'), quote_ident('plain'), quote_ident('A')")
        assert quoted.fetchone() == ('"a b"', "plain", '"A"')
        parsed = conn.execute("""SELECT parse_ident('Public."My Table"')""").fetchone()
        assert parsed == (["public", "My Table"],)


def test_datagrip_session_views_answer_empty(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(f"host=127.0.0.1 port={wire.port} user=t dbname=d") as conn:
        assert (
            conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchall()
            == []
        )
        assert (
            conn.execute("SELECT abbrev, utc_offset, is_dst FROM pg_timezone_abbrevs").fetchall()
            == []
        )


def test_any_of_an_array_literal_or_parameter_in_any_query(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(f"host=127.0.0.1 port={wire.port} user=t dbname=d") as conn:
        conn.execute("CREATE OR REPLACE TABLE any_rows AS SELECT range AS a FROM range(5)")
        literal = conn.execute("SELECT a FROM any_rows WHERE a = ANY('{1,3}') ORDER BY a")
        assert literal.fetchall() == [(1,), (3,)]
        bound = conn.execute("SELECT a FROM any_rows WHERE a = ANY(%s) ORDER BY a", [[2, 4]])
        assert bound.fetchall() == [(2,), (4,)]


def test_dbeaver_keywords_and_array_literal_casts(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(f"host=127.0.0.1 port={wire.port} user=t dbname=d") as conn:
        # DBeaver's connect-time query (PostgreSQLDialect), less its long list of words
        words = conn.execute(
            "SELECT string_agg(word, ',') FROM pg_catalog.pg_get_keywords() "
            "WHERE word <> ALL ('{a,abort,absolute}'::text[])"
        ).fetchone()
        assert words is not None and "select" in words[0].split(",")
        assert "abort" not in words[0].split(",")
        # a DuckDB-only type beside it is left to DuckDB
        assert conn.execute("SELECT 4::UBIGINT, '{1}'::int[]").fetchone() == (4, [1])
        assert conn.execute("SELECT '{1,2}'::int[], '{a,\"b c\"}'::text[]").fetchone() == (
            [1, 2],
            ["a", "b c"],
        )


def test_psql_sf_shows_a_macro(wire: WireServer) -> None:  # noqa: F811
    with psycopg.connect(f"host=127.0.0.1 port={wire.port} user=t dbname=d") as conn:
        conn.autocommit = True
        conn.execute("CREATE OR REPLACE MACRO twice(x) AS x * 2")
    shown = subprocess.run(
        ["psql", "-X", "-h", "127.0.0.1", "-p", str(wire.port), "-U", "t", "-d", "d",
         "-c", "\\sf twice"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "CREATE OR REPLACE MACRO main.twice(x) AS (x * 2)"
