# ruff: noqa: F811 - the seed_server fixture, imported
"""COPY … TO STDOUT and COPY … FROM STDIN over the wire, with the clients people use: psql's
\\copy, psycopg, asyncpg, pgjdbc's CopyManager; text, CSV and binary; a predictor JOIN copied
out; the server never touching its own stdin or stdout."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import subprocess
from pathlib import Path

import asyncpg
import psycopg
import pytest

from byom_sql.errors import FeatureNotSupported
from byom_sql.server import copy
from tests.model_server import ModelServer
from tests.wire import (
    HOME_RENTALS,
    RawClient,
    WireServer,
    cstring,
    frame,
    needs_pgjdbc,
    run_java,
    seed_server,  # noqa: F401 - fixture
)

JOIN = (
    "SELECT t.initial_price, p.number_of_rooms FROM home_rentals t JOIN byom p "
    "ORDER BY t.initial_price"
)


def dsn(server: WireServer, user: str = "copier") -> str:
    return f"host=127.0.0.1 port={server.port} user={user} dbname=byom"


def psql(server: WireServer, *commands: str) -> str:
    args = ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(server.port), "-U", "t", "-d", "d"]
    for command in commands:
        args += ["-c", command]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_psql_copies_a_predictor_join_out_and_a_file_in(
    seed_server: WireServer, tmp_path: Path
) -> None:
    out = psql(seed_server, f"\\copy ({JOIN}) TO STDOUT WITH (FORMAT csv, HEADER)")
    assert out.splitlines() == [
        "initial_price,number_of_rooms",
        "100,6100",
        "2000,7200",
        "3000,8400",
    ]
    source = tmp_path / "in.csv"
    source.write_text('id,label\n1,"a,b"\n2,\n3,plain\n')
    psql(seed_server, "CREATE TABLE IF NOT EXISTS copied_in (id INTEGER, label VARCHAR)")
    psql(seed_server, f"\\copy copied_in FROM '{source}' WITH (FORMAT csv, HEADER)")
    rows = psql(seed_server, "\\copy (SELECT * FROM copied_in ORDER BY id) TO STDOUT")
    assert rows.splitlines() == ["1\ta,b", "2\t\\N", "3\tplain"]
    assert seed_server.alive()


def test_psycopg_copy_both_ways_text_and_binary(seed_server: WireServer) -> None:
    with psycopg.connect(dsn(seed_server), autocommit=True) as conn:
        cur = conn.cursor()
        with cur.copy(f"COPY ({JOIN}) TO STDOUT") as out:
            assert list(out.rows()) == [("100", "6100"), ("2000", "7200"), ("3000", "8400")]
        with cur.copy(f"COPY ({JOIN}) TO STDOUT (FORMAT BINARY)") as out:
            out.set_types(["int4", "float8"])
            assert list(out.rows()) == [(100, 6100.0), (2000, 7200.0), (3000, 8400.0)]
        conn.execute("CREATE TABLE typed (a INTEGER, b VARCHAR, c TIMESTAMP, d DOUBLE)")
        moment = dt.datetime(2024, 1, 2, 3, 4, 5)
        with cur.copy("COPY typed (a, b, c, d) FROM STDIN") as into:
            into.write_row((1, "tab\there\nnewline \\ backslash", moment, 1.5))
            into.write_row((2, None, None, None))
        assert cur.rowcount == 2
        with cur.copy("COPY typed FROM STDIN (FORMAT BINARY)") as into:
            into.set_types(["int4", "text", "timestamp", "float8"])
            into.write_row((3, "binary", moment, 2.5))
        assert conn.execute("SELECT * FROM typed ORDER BY a").fetchall() == [
            (1, "tab\there\nnewline \\ backslash", moment, 1.5),
            (2, None, None, None),
            (3, "binary", moment, 2.5),
        ]


def test_copy_fail_and_bad_data_leave_the_session_usable(seed_server: WireServer) -> None:
    with psycopg.connect(dsn(seed_server), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS strict (a INTEGER)")
        cur = conn.cursor()
        with pytest.raises(RuntimeError):  # psycopg sends CopyFail, then raises this
            with cur.copy("COPY strict FROM STDIN") as into:
                into.write_row((1,))
                raise RuntimeError("the client gave up")
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            with cur.copy("COPY strict FROM STDIN") as into:
                into.write(b"not a number\n")
        with pytest.raises(psycopg.errors.BadCopyFileFormat):
            with cur.copy("COPY strict FROM STDIN") as into:
                into.write(b"1\t2\n")
        assert conn.execute("SELECT count(*) FROM strict").fetchone() == (0,)


def test_asyncpg_copy_out_and_records_in_then_another_query(seed_server: WireServer) -> None:
    async def run() -> tuple[bytes, str, list[tuple[object, ...]]]:
        conn = await asyncpg.connect(f"postgresql://copier@127.0.0.1:{seed_server.port}/byom")
        try:
            buffer = io.BytesIO()
            await conn.copy_from_query(JOIN, output=buffer, format="csv")
            await conn.execute("CREATE TABLE records (a BIGINT, b VARCHAR, c DOUBLE)")
            status = await conn.copy_records_to_table(
                "records", records=[(1, "one", 0.5), (2, None, None)]
            )
            rows = await conn.fetch("SELECT * FROM records ORDER BY a")
            return buffer.getvalue(), status, [tuple(r) for r in rows]
        finally:
            await conn.close()

    out, status, rows = asyncio.run(run())
    assert out == b"100,6100\n2000,7200\n3000,8400\n"
    assert status == "COPY 2"
    assert rows == [(1, "one", 0.5), (2, None, None)]


JAVA_COPY = """
import java.io.*;
import java.sql.*;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;

public class CopyBothWays {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0], "jdbc", "")) {
            CopyManager copy = new CopyManager((BaseConnection) conn);
            StringWriter out = new StringWriter();
            long sent = copy.copyOut("COPY (" + args[1] + ") TO STDOUT WITH (FORMAT csv)", out);
            System.out.print(out);
            System.out.println(sent);
            conn.createStatement().execute("CREATE TABLE jdbc_in (a INTEGER, b VARCHAR)");
            long read = copy.copyIn("COPY jdbc_in FROM STDIN WITH (FORMAT csv)",
                new StringReader("1,x\\n2,y\\n"));
            System.out.println(read);
            ResultSet rs = conn.createStatement().executeQuery("SELECT count(*) FROM jdbc_in");
            rs.next();
            System.out.println(rs.getLong(1));
        }
    }
}
"""


@needs_pgjdbc
def test_pgjdbc_copy_manager_both_ways(seed_server: WireServer, tmp_path: Path) -> None:
    url = f"jdbc:postgresql://127.0.0.1:{seed_server.port}/byom?sslmode=disable"
    lines = run_java(tmp_path, JAVA_COPY, url, JOIN)
    assert lines == ["100,6100", "2000,7200", "3000,8400", "3", "2", "2"]


def test_copy_to_stdout_never_reaches_the_servers_stdout(
    tmp_path: Path, model_server: ModelServer
) -> None:
    running = WireServer(tmp_path, "--allow-file-access")
    try:
        with psycopg.connect(dsn(running), autocommit=True) as conn:
            conn.execute(HOME_RENTALS)
            with conn.cursor().copy("COPY home_rentals TO STDOUT") as out:
                assert len(list(out.rows())) == 3
        assert "5400" not in running.log.read_text()
    finally:
        running.stop()


def test_read_only_users_cannot_copy_in(tmp_path: Path) -> None:
    running = WireServer(tmp_path, "--read-only-users", "reader")
    try:
        with psycopg.connect(dsn(running, "writer"), autocommit=True) as conn:
            conn.execute("CREATE TABLE guarded (a INTEGER)")
        with psycopg.connect(dsn(running, "reader"), autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with conn.cursor().copy("COPY guarded FROM STDIN") as into:
                    into.write_row((1,))
            with conn.cursor().copy("COPY guarded TO STDOUT") as out:
                assert list(out.rows()) == []
    finally:
        running.stop()


# the codec on its own --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("COPY (SELECT 1) TO STDOUT", copy.Copy(True, "SELECT 1", None)),
        ("copy t (a, b) from stdin", copy.Copy(False, None, "t", ("a", "b"))),
        (
            "COPY t TO STDOUT WITH CSV HEADER DELIMITER AS ';'",
            copy.Copy(True, None, "t", (), "csv", ";", "", True),
        ),
        (
            "COPY t FROM STDIN (FORMAT csv, HEADER true, NULL 'NA', QUOTE '''')",
            copy.Copy(False, None, "t", (), "csv", ",", "NA", True, "'", "'"),
        ),
        ("COPY t TO STDOUT (FORMAT binary)", copy.Copy(True, None, "t", (), "binary")),
        ("COPY t TO '/tmp/file'", None),
        ("SELECT 1", None),
    ],
)
def test_parse(statement: str, expected: copy.Copy | None) -> None:
    assert copy.parse(statement) == expected


def test_unknown_options_are_refused() -> None:
    with pytest.raises(FeatureNotSupported):
        copy.parse("COPY t TO STDOUT (FORMAT csv, FORCE_QUOTE *)")


def test_text_and_csv_round_trip() -> None:
    values = [[b"1", b"2", None], [b"a\tb\\c\nd", b"", b"x,y"]]
    for statement in ("COPY t TO STDOUT", "COPY t TO STDOUT (FORMAT csv)"):
        command = copy.parse(statement)
        assert command is not None
        data = b"".join(copy.rows(command, values, 3))
        back = copy.decode(command, data, [25, 25])
        expected = [["1", "a\tb\\c\nd"], ["2", "" if command.format == "text" else None]]
        assert back[:2] == expected
        assert back[2] == [None, "x,y"]


def test_copy_through_the_extended_protocol(seed_server: WireServer) -> None:
    """Parse/Bind/Execute of a COPY, as drivers built on libpq's extended calls send it."""
    client = RawClient(seed_server.port)
    try:
        extended = [
            frame(b"P", cstring("") + cstring("COPY (SELECT 1 AS a UNION ALL SELECT 2) TO STDOUT")
                  + b"\x00\x00"),
            frame(b"B", cstring("") + cstring("") + b"\x00\x00" + b"\x00\x00" + b"\x00\x00"),
            frame(b"E", cstring("") + b"\x00\x00\x00\x00"),
            frame(b"S"),
        ]  # fmt: skip
        client.send(*extended)
        answer = client.until("Z")
        kinds = [kind for kind, _ in answer]
        assert kinds == ["1", "2", "H", "d", "d", "c", "C", "Z"], answer
        assert [body for kind, body in answer if kind == "d"] == [b"1\n", b"2\n"]
        assert answer[-2][1] == cstring("COPY 2")

        client.send(frame(b"Q", cstring("CREATE TEMP TABLE landed (a INTEGER)")))
        client.until("Z")
        client.send(
            frame(b"P", cstring("") + cstring("COPY landed FROM STDIN") + b"\x00\x00"),
            frame(b"B", cstring("") + cstring("") + b"\x00\x00" + b"\x00\x00" + b"\x00\x00"),
            frame(b"E", cstring("") + b"\x00\x00\x00\x00"),
            frame(b"H"),
        )
        assert [kind for kind, _ in client.until("G")] == ["1", "2", "G"]
        client.send(frame(b"d", b"7\n8\n"), frame(b"c"), frame(b"S"))
        done = client.until("Z")
        assert [kind for kind, _ in done] == ["C", "Z"] and done[0][1] == cstring("COPY 2")
        client.send(frame(b"Q", cstring("SELECT sum(a) FROM landed")))
        rows = [body for kind, body in client.until("Z") if kind == "D"]
        assert rows and rows[0].endswith(b"15")
    finally:
        client.close()
