"""One client connection after startup: the simple and extended query protocols.

`Session.handle(message)` yields the bytes to send back and runs in a worker thread (it calls
the engine, which blocks). The asyncio server only moves bytes and never waits on DuckDB or a
model.

Rows travel as Arrow record batches from the engine, become columns of Python values one batch
at a time, and leave as DataRow messages: a large result is never materialised. The exception:
the engine has one open result per session, so before a statement runs while another portal is
still open (a suspended Execute, a DECLAREd cursor), that portal's remaining rows are read into
memory.

Describing a statement never calls a model twice: a statement that can only be described by
running it (it reads a predictor, or it is SHOW/PRAGMA-like) runs at Describe, and the Execute
that follows sends that result (see describe.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from byom_sql import sqlbuild
from byom_sql.dialect import Statement
from byom_sql.duckdb_errors import duckdb_errors, translate
from byom_sql.engine import Connection, parse_script
from byom_sql.errors import (
    Error,
    FeatureNotSupported,
    InsufficientPrivilege,
    InvalidText,
    QueryCanceled,
    QueryError,
    SqlSyntaxError,
    TooManyColumns,
)
from byom_sql.result import Result
from byom_sql.server import copy, describe, messages, pgcatalog, pgrewrite, pgtypes
from byom_sql.server.messages import Notice
from byom_sql.server.pgtypes import Field
from byom_sql.server.state import InterceptResult, SessionState

MAX_COLUMNS = 1664  # PostgreSQL's limit on a target list

log = logging.getLogger("byom_sql.server")

Chunk = tuple[list[list[Any]], int]  # columns of Python values, and the row count

_VERBS = {
    "BEGIN": "BEGIN",
    "START": "BEGIN",
    "COMMIT": "COMMIT",
    "END": "COMMIT",
    "ROLLBACK": "ROLLBACK",
    "ABORT": "ROLLBACK",
}
_NAME = r'("(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_DECLARE = re.compile(
    rf"\s*DECLARE\s+{_NAME}\s+(?:[A-Z ]*?)CURSOR(?:\s+(?P<hold>WITH|WITHOUT)\s+HOLD)?\s+FOR\s+",
    re.I | re.S,
)
_FETCH = re.compile(
    rf"\s*FETCH\s+(?:(?:FORWARD|NEXT)\s+)?(ALL|\d+)?\s*(?:FROM|IN)?\s*{_NAME}\s*;?\s*$", re.I
)
_CLOSE = re.compile(rf"\s*CLOSE\s+(?:ALL|{_NAME})\s*;?\s*$", re.I)
_DEALLOCATE = re.compile(rf"\s*DEALLOCATE\s+(?:PREPARE\s+)?(?:(ALL)|{_NAME})\s*;?\s*$", re.I)
# psycopg asks whether a server-side cursor still exists before it closes it
_CURSOR_EXISTS = re.compile(
    r"\s*SELECT\s+1\s+FROM\s+pg_catalog\.pg_cursors\s+WHERE\s+name\s*=\s*"
    r"'((?:[^']|'')*)'\s*;?\s*$",
    re.I,
)
_CURSOR_STATEMENT = re.compile(
    rf"{_DECLARE.pattern}|{_FETCH.pattern}|{_CLOSE.pattern}|{_CURSOR_EXISTS.pattern}", re.I | re.S
)


class RowStream:
    """A result's rows in chunks, read at most `limit` rows at a time (portals may pause)."""

    def __init__(self, chunks: Iterator[Chunk], result: Result | None = None):
        self._chunks = chunks
        self._pending: Chunk | None = None
        self._result = result
        self.done = False

    @classmethod
    def of_result(cls, result: Result) -> RowStream:
        batches = result.batches()
        return cls((([c.to_pylist() for c in b.columns], b.num_rows) for b in batches), result)

    def read(self, limit: int) -> Iterator[Chunk]:
        """Chunks of at most `limit` rows in all (0: every remaining row)."""
        sent = 0
        while not limit or sent < limit:
            chunk = self._pending or next(self._chunks, None)
            self._pending = None
            if chunk is None:
                self.done = True
                return
            columns, count = chunk
            if limit and sent + count > limit:
                keep = limit - sent
                self._pending = ([c[keep:] for c in columns], count - keep)
                columns, count = [c[:keep] for c in columns], keep
            sent += count
            yield columns, count

    def detach(self) -> None:
        """Read the remaining rows into memory, freeing the session's DuckDB cursor."""
        if not self.done:
            self._chunks = iter(list(self._chunks))

    def close(self) -> None:
        self.done = True
        if self._result is not None:
            self._result.close()


@dataclass
class Outcome:
    """What running one statement gave: rows (with their fields) or just a command tag."""

    tag: str  # the command tag, or its verb when `counted` ("SELECT" → "SELECT 3")
    fields: list[Field] | None = None
    rows: RowStream | None = None
    notices: list[Notice] = field(default_factory=list)
    counted: bool = False
    empty: bool = False  # an empty query string

    def tag_for(self, count: int) -> str:
        return f"{self.tag} {count}" if self.counted else self.tag


@dataclass
class CopyIn:
    """A COPY … FROM STDIN between its CopyInResponse and the client's CopyDone."""

    copy: copy.Copy
    columns: list[str]
    oids: list[int]
    sql: str
    extended: bool  # started by Execute: ReadyForQuery waits for the client's Sync
    chunks: list[bytes] = field(default_factory=list)


COPY_RELATION = "__byom_copy_in"


@dataclass
class Prepared:
    text: str  # as the client sent it: error positions point into it
    statement: Statement | None  # None: empty, or answered by pgcatalog
    oids: list[int]
    fields: list[Field] | None = None
    described: bool = False
    prerun: Outcome | None = None  # run at Describe, for the first Execute


@dataclass
class Portal:
    prepared: Prepared
    params: list[Any]
    bind: messages.Bind
    fields: list[Field] | None = None  # what the client was told the columns are
    described: bool = False
    outcome: Outcome | None = None
    hold: bool = False  # a cursor DECLAREd WITH HOLD outlives its transaction
    picked: list[int] | None = None  # the outcome's columns sent (None: all)
    checked: bool = False  # `picked` is known

    def binary(self, fields: Sequence[Field]) -> list[bool]:
        return [self.bind.binary_result(i) for i in range(len(fields))]


class Session:
    def __init__(self, conn: Connection, state: SessionState):
        self.conn = conn
        self.state = state
        self.busy = False
        self._statements: dict[str, Prepared] = {}
        self._portals: dict[str, Portal] = {}
        self._live: list[RowStream] = []
        self._failed = False  # an extended-protocol error: skip messages until Sync
        self._reported = state.reported()
        self._copy_in: CopyIn | None = None  # COPY … FROM STDIN, waiting for its data

    def interrupt(self) -> None:
        """Cancel what runs now (called from the event loop's thread on CancelRequest)."""
        if self.busy:
            self.conn.interrupt()

    def close(self) -> None:
        for stream in self._live:
            stream.close()
        self.conn.close()

    def handle(self, message: messages.FrontendMessage) -> Iterator[bytes]:
        self.busy = True
        try:
            if self._copy_in is not None:
                yield from self._copy_in_message(message)
            elif isinstance(message, messages.Query):
                yield from self._simple_query(message.sql)
            elif isinstance(message, messages.Invalid | messages.Unsupported) and (
                message.type in "QF"  # a Query we cannot read, FunctionCall: as Query does
            ):
                yield self._error(_refusal(message), "")
                yield messages.ready_for_query(self.state.transaction)
            elif isinstance(message, messages.CopyData | messages.CopyDone | messages.CopyFail):
                pass  # outside a COPY: ignored, as PostgreSQL does
            elif isinstance(message, messages.Sync):
                self._failed = False
                if self.state.transaction == "I":
                    self._drop_portals(keep_held=True)
                yield messages.ready_for_query(self.state.transaction)
            elif not self._failed:
                try:
                    yield from self._extended(message)
                except Exception as exc:  # noqa: BLE001 - the session survives its own bugs too
                    self._failed = True
                    yield self._error(_as_error(exc), self._text_of(message))
        finally:
            self.busy = False

    # simple query -------------------------------------------------------------------------------

    def _simple_query(self, sql: str) -> Iterator[bytes]:
        self._drop_unnamed()
        try:
            command = copy.parse(sql)
            if command is not None and command.out:
                yield from self._copy_out(command)
            elif command is not None:
                yield from self._copy_in_start(command, sql)
                return  # ReadyForQuery once the data is in
            statements = [] if command is not None else self._split(sql)
            if not statements and command is None:
                yield messages.EMPTY_QUERY_RESPONSE
            for text, statement in statements:
                outcome = self._run(text, statement, None)
                yield from self._send_outcome(outcome, outcome.fields, [], 0, describe=True)
        except Exception as exc:  # noqa: BLE001 - the session survives its own bugs too
            yield self._error(_as_error(exc), sql)
        yield messages.ready_for_query(self.state.transaction)

    # COPY ----------------------------------------------------------------------------------------

    def _copy_out(self, command: copy.Copy) -> Iterator[bytes]:
        """COPY … TO STDOUT: the query's rows as CopyData, streamed as they are produced."""
        self._detach()
        self._check_transaction(command.select())
        statements = parse_script(command.select(), self.conn.cancel)
        if len(statements) != 1:
            raise QueryError("COPY takes exactly one query", sqlstate="42601")
        result = self.conn.run(statements[0])
        if not result.has_rows:
            raise FeatureNotSupported("COPY (…) TO STDOUT needs a query that returns rows")
        try:
            fields = pgtypes.fields_of(result.schema, result.json_columns)
            yield messages.copy_out_response(command.binary, len(fields))
            # the binary header travels with the first row, as PostgreSQL sends it (psycopg
            # reads them as one); CSV's header line is a row of its own
            head = copy.BINARY_HEADER if command.binary else b""
            line = copy.header(command, result.columns)
            if line is not None:
                yield messages.copy_data(line)
            count = 0
            for batch in result.batches():
                columns = [
                    pgtypes.encode_column(column.to_pylist(), f.oid, command.binary)
                    for column, f in zip(batch.columns, fields, strict=True)
                ]
                for row in copy.rows(command, columns, batch.num_rows):
                    yield messages.copy_data(head + row)
                    head = b""
                count += batch.num_rows
            if command.binary:
                yield messages.copy_data(head + copy.BINARY_TRAILER)
            yield messages.COPY_DONE
            yield messages.command_complete(f"COPY {count}")
        finally:
            result.close()

    def _copy_in_start(
        self, command: copy.Copy, sql: str, *, extended: bool = False
    ) -> Iterator[bytes]:
        """COPY … FROM STDIN: the columns' types now, the rows when CopyDone comes."""
        if command.table is None:
            raise QueryError("COPY … FROM STDIN needs a table, not a query", sqlstate="42601")
        if self.conn.read_only:
            raise InsufficientPrivilege("this user may only read: COPY … FROM STDIN is refused")
        self._check_transaction(sql)
        self._detach()
        described = {
            row[0].lower(): (row[0], row[1])
            for row in self.conn.sql(f"DESCRIBE {command.table}").fetchall()
        }
        wanted = [c.strip('"') for c in command.columns] or [n for n, _ in described.values()]
        missing = [c for c in wanted if c.lower() not in described]
        if missing:
            raise QueryError(
                f'column "{missing[0]}" of relation "{command.table}" does not exist',
                sqlstate="42703",
            )
        kinds = [described[c.lower()][1] for c in wanted]
        oids = [pgtypes.oid_of_sql_type(exp.DataType.build(k, dialect="duckdb")) for k in kinds]
        self._copy_in = CopyIn(command, wanted, oids, sql, extended)
        yield messages.copy_in_response(command.binary, len(wanted))

    def _copy_in_message(self, message: messages.FrontendMessage) -> Iterator[bytes]:
        pending = self._copy_in
        assert pending is not None
        if isinstance(message, messages.CopyData):
            pending.chunks.append(message.data)
            return
        if isinstance(message, messages.Flush | messages.Sync):
            return  # ignored during COPY, as PostgreSQL does
        self._copy_in = None
        try:
            if isinstance(message, messages.CopyDone):
                count = self._copy_insert(pending)
                yield messages.command_complete(f"COPY {count}")
            elif isinstance(message, messages.CopyFail):
                raise QueryCanceled(f"COPY from stdin failed: {message.message}")
            else:
                raise QueryError(
                    f"unexpected message {type(message).__name__} during COPY from stdin",
                    sqlstate="08P01",
                )
        except Exception as exc:  # noqa: BLE001 - the session survives its own bugs too
            self._failed = pending.extended  # the rest of the extended batch is skipped
            yield self._error(_as_error(exc), pending.sql)
        if not pending.extended:
            yield messages.ready_for_query(self.state.transaction)

    def _copy_insert(self, pending: CopyIn) -> int:
        rows = copy.decode(pending.copy, b"".join(pending.chunks), pending.oids)
        if not rows:
            return 0
        text = not pending.copy.binary
        arrays = [
            pa.array([row[i] for row in rows], pa.string() if text else None)
            for i in range(len(pending.columns))
        ]
        table = pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))])
        self.conn.cursor.register(COPY_RELATION, table)
        try:
            self.conn.sql(
                f"INSERT INTO {pending.copy.table} ({sqlbuild.names(pending.columns)}) "
                f"SELECT * FROM {COPY_RELATION}"
            )
        finally:
            self.conn.cursor.unregister(COPY_RELATION)
        return len(rows)

    def _split(self, sql: str) -> list[tuple[str, Statement | None]]:
        """(text, statement) of each statement; a script sqlglot cannot read may still be one
        that pgcatalog answers (its own catalog queries), so it gets the whole text."""
        if _CURSOR_STATEMENT.match(sql):
            return [(sql, None)]
        try:
            self.conn.cancel.clear()  # a cancel from now on stops a long script's parse
            return [(s.sql, s) for s in parse_script(sql, self.conn.cancel)]
        except SqlSyntaxError:
            if self._intercept(sql) is not None:
                return [(sql, None)]
            raise

    # extended query -----------------------------------------------------------------------------

    def _extended(self, message: messages.FrontendMessage) -> Iterator[bytes]:
        if isinstance(message, messages.Parse):
            self._parse(message)
            yield messages.PARSE_COMPLETE
        elif isinstance(message, messages.Bind):
            self._bind(message)
            yield messages.BIND_COMPLETE
        elif isinstance(message, messages.Describe):
            yield from self._describe(message)
        elif isinstance(message, messages.Execute):
            yield from self._execute(message)
        elif isinstance(message, messages.Close):
            self._close(message)
            yield messages.CLOSE_COMPLETE
        elif isinstance(message, messages.Flush | messages.Terminate):
            return
        elif isinstance(message, messages.Invalid):
            raise _refusal(message)
        else:
            raise QueryError(f"unexpected message {type(message).__name__}", sqlstate="08P01")

    def _parse(self, message: messages.Parse) -> None:
        if message.name and message.name in self._statements:
            raise QueryError(
                f'prepared statement "{message.name}" already exists', sqlstate="42P05"
            )
        self._check_transaction(message.sql)
        self._detach()
        statements = self._split(message.sql)
        if len(statements) > 1:
            raise SqlSyntaxError(
                "cannot insert multiple commands into a prepared statement", sql=message.sql
            )
        statement = statements[0][1] if statements else None
        if statement is None and (declare := _DECLARE.match(message.sql)):
            statement = _only(message.sql[declare.end() :])  # its parameters are the query's
        intercepted = None
        if statements and not _transaction_verb(message.sql):
            intercepted = self._intercept(message.sql)
        if intercepted is not None and intercepted.sql is not None:
            statement = _only(intercepted.sql)
        elif intercepted is None and statement is not None and statement.node is None:
            with duckdb_errors(message.sql):  # a syntax error belongs to Parse, as in Postgres
                self.conn.cursor.extract_statements(message.sql)
        node = statement.node if statement is not None else None
        given = _with_hints(message.oids, intercepted.param_oids if intercepted else ())
        oids = describe.parameter_oids(self.conn, node, given)
        prepared = Prepared(message.sql, statement, oids)
        if (intercepted is not None and intercepted.sql is None) or not statements:
            prepared.fields, prepared.described = _intercepted_fields(intercepted), True
        self._close_statement(message.name)
        self._statements[message.name] = prepared

    def _bind(self, message: messages.Bind) -> None:
        prepared = self._statements.get(message.statement)
        if prepared is None:
            raise QueryError(
                f'prepared statement "{message.statement}" does not exist', sqlstate="26000"
            )
        if len(message.parameters) != len(prepared.oids):
            raise QueryError(
                f"bind message supplies {len(message.parameters)} parameters, but prepared "
                f"statement requires {len(prepared.oids)}",
                sqlstate="08P01",
            )
        params = []
        for index, (value, oid) in enumerate(zip(message.parameters, prepared.oids, strict=True)):
            binary = message.binary_parameter(index)
            try:
                params.append(pgtypes.decode_parameter(value, oid, binary))
            except ValueError as exc:
                raise QueryError(
                    f"parameter ${index + 1}: {exc}", sqlstate="22P03" if binary else "22P02"
                ) from None
        if message.portal and message.portal in self._portals:
            raise QueryError(f'portal "{message.portal}" already exists', sqlstate="42P03")
        portal = Portal(prepared, params, message)
        if prepared.described:
            portal.fields, portal.described = prepared.fields, True
        if prepared.prerun is not None:
            portal.outcome, prepared.prerun = prepared.prerun, None
        self._close_portal("")
        self._portals[message.portal] = portal

    def _describe(self, message: messages.Describe) -> Iterator[bytes]:
        if message.kind == "S":
            prepared = self._statement(message.name)
            yield messages.parameter_description(prepared.oids)
            if not prepared.described:
                prepared.fields, prepared.prerun = self._fields(prepared, None)
                prepared.described = True
            fields, binary = prepared.fields, []
        else:
            portal = self._portal(message.name)
            if not portal.described:
                portal.fields, outcome = self._fields(portal.prepared, portal.params)
                portal.outcome = outcome or portal.outcome
                portal.described = True
            fields = portal.fields
            binary = portal.binary(fields or [])
        yield _row_description(fields, binary) if fields is not None else messages.NO_DATA

    def _fields(
        self, prepared: Prepared, params: list[Any] | None
    ) -> tuple[list[Field] | None, Outcome | None]:
        """The columns of a statement, and its outcome if it had to run to tell (then the
        Execute that follows sends that outcome instead of running it again)."""
        if _verb(prepared.text) in ("DECLARE", "CLOSE") or _transaction_verb(prepared.text):
            return None, None
        self._detach()
        if prepared.statement is not None:
            try:
                bound = params is not None
                fields = describe.result_fields(
                    self.conn, prepared.statement, prepared.oids, bound=bound
                )
                return _postgres_named(fields, prepared.statement), None
            except describe.RunToDescribe:
                pass
        outcome = self._run(prepared.text, prepared.statement, params)
        return outcome.fields, outcome

    def _execute(self, message: messages.Execute) -> Iterator[bytes]:
        portal = self._portal(message.portal)
        command = copy.parse(portal.prepared.text) if portal.outcome is None else None
        if command is not None:  # COPY through Parse/Bind/Execute, as libpq-based drivers may
            if command.out:
                yield from self._copy_out(command)
            else:
                yield from self._copy_in_start(command, portal.prepared.text, extended=True)
            return
        if portal.outcome is None:
            prepared = portal.prepared
            portal.outcome = self._run(prepared.text, prepared.statement, portal.params)
        outcome = portal.outcome
        fields = portal.fields if portal.described else outcome.fields
        if not portal.checked:
            portal.picked, portal.checked = _described_columns(fields, outcome), True
        yield from self._send_outcome(
            outcome, fields, portal.binary(fields or []), message.max_rows, picked=portal.picked
        )

    def _close(self, message: messages.Close) -> None:
        if message.kind == "S":
            self._close_statement(message.name)
        else:
            self._close_portal(message.name)

    # running one statement ----------------------------------------------------------------------

    def _run(self, text: str, statement: Statement | None, params: list[Any] | None) -> Outcome:
        """Run one statement: transaction verbs and cursors here, pgcatalog's answers, or the
        engine."""
        verb = _verb(text)
        self._check_transaction(text)
        if _transaction_verb(text):
            return self._transaction(verb)
        if statement is None and not parse_script(text, self.conn.cancel):  # blank, comments
            return Outcome("", empty=True)
        if verb in ("DECLARE", "FETCH", "CLOSE"):
            return self._cursor(verb, text, params)
        if verb == "DEALLOCATE":
            return self._deallocate(text)
        if match := _CURSOR_EXISTS.match(text):
            exists = match.group(1).replace("''", "'") in self._portals
            rows = [(1,)] if exists else []
            return _outcome_of(
                InterceptResult(columns=["?column?"], oids=[pgtypes.INT4], rows=rows)
            )
        self._detach()
        intercepted = self._intercept(text)
        if intercepted is not None and intercepted.sql is None:
            return _outcome_of(intercepted)
        if intercepted is not None:
            try:
                return self._engine(_only(intercepted.sql or ""), params)
            except Error as error:
                error.position = None  # it points into SQL the client did not write
                raise
        if statement is None:
            raise SqlSyntaxError("cannot read the statement", sql=text)
        return self._engine(statement, params)

    def _engine(self, statement: Statement, params: list[Any] | None) -> Outcome:
        result = self.conn.run(statement, params or None)
        notices = [_warning("01000", text) for text in result.warnings]
        if not result.has_rows:
            return Outcome(result.tag, notices=notices)
        stream = RowStream.of_result(result)
        self._live.append(stream)
        fields = _postgres_named(pgtypes.fields_of(result.schema, result.json_columns), statement)
        return Outcome(result.command, fields, stream, notices, counted=True)

    def _intercept(self, text: str) -> InterceptResult | None:
        return pgcatalog.intercept(self.state, text)

    def _check_transaction(self, text: str) -> None:
        if self.state.transaction == "E" and _verb(text) not in ("COMMIT", "ROLLBACK"):
            raise QueryError(
                "current transaction is aborted, commands ignored until end of transaction block",
                sqlstate="25P02",
            )

    def _transaction(self, verb: str) -> Outcome:
        status = self.state.transaction
        if verb == "BEGIN":
            if status != "I":
                return Outcome(
                    "BEGIN",
                    notices=[_warning("25001", "there is already a transaction in progress")],
                )
            self.conn.sql("BEGIN TRANSACTION")
            self.state.transaction = "T"
            return Outcome("BEGIN")
        self._drop_portals(keep_held=True)
        if status == "I":
            return Outcome(verb, notices=[_warning("25P01", "there is no transaction in progress")])
        self.state.transaction = "I"
        if verb == "COMMIT" and status == "T":
            self.conn.sql("COMMIT")
            return Outcome("COMMIT")
        self.conn.sql("ROLLBACK")
        return Outcome("ROLLBACK")

    def _deallocate(self, text: str) -> Outcome:
        """DEALLOCATE [PREPARE] name | ALL: the session's prepared statements (psycopg sends
        DEALLOCATE ALL after a ROLLBACK once it has prepared statements)."""
        match = _DEALLOCATE.match(text)
        if match is None:
            raise SqlSyntaxError("expected DEALLOCATE [PREPARE] name | ALL", sql=text)
        if match.group(1):
            for name in [n for n in self._statements if n]:
                self._close_statement(name)
            return Outcome("DEALLOCATE ALL")
        name = _unquote(match.group(2))
        self._statement(name)  # 26000 when there is no such statement
        self._close_statement(name)
        return Outcome("DEALLOCATE")

    def _cursor(self, verb: str, text: str, params: list[Any] | None) -> Outcome:
        """DECLARE … CURSOR FOR query, FETCH n FROM name, CLOSE name: cursors are portals."""
        if verb == "DECLARE" and (match := _DECLARE.match(text)):
            name, start = _unquote(match.group(1)), match.end()
            self._detach()
            statement = _only(text[start:])
            try:
                outcome = self._engine(statement, params)
            except Error as error:
                error.position = None if error.position is None else error.position + start
                raise
            prepared = Prepared(text[start:], statement, [], outcome.fields, described=True)
            bind = messages.Bind(name, "", (), (), ())
            self._close_portal(name)
            hold = (match.group("hold") or "").upper() == "WITH"
            self._portals[name] = Portal(prepared, [], bind, outcome.fields, True, outcome, hold)
            return Outcome("DECLARE CURSOR")
        if verb == "FETCH" and (match := _FETCH.match(text)):
            portal = self._portal(_unquote(match.group(2)))
            count = 0 if (match.group(1) or "1").upper() == "ALL" else int(match.group(1) or 1)
            held = portal.outcome
            assert held is not None
            rows = list(held.rows.read(count)) if held.rows else []
            stream = RowStream(iter(rows))
            return Outcome("FETCH", held.fields, stream, counted=True)
        if verb == "CLOSE" and (match := _CLOSE.match(text)):
            if match.group(1) is None:
                self._drop_portals()
            else:
                self._portal(_unquote(match.group(1)))
                self._close_portal(_unquote(match.group(1)))
            return Outcome("CLOSE CURSOR")
        raise FeatureNotSupported(
            f"this form of {verb} is not supported",
            hint="DECLARE name CURSOR FOR query; FETCH [FORWARD] [n|ALL] FROM name; CLOSE name",
        )

    # sending ------------------------------------------------------------------------------------

    def _send_outcome(
        self,
        outcome: Outcome,
        fields: list[Field] | None,
        binary: list[bool],
        limit: int,
        *,
        describe: bool = False,
        picked: list[int] | None = None,
    ) -> Iterator[bytes]:
        """The messages of an outcome: with `describe` its RowDescription first; `picked`
        sends only those columns (the ones a client was told of when it described)."""
        notices, outcome.notices = outcome.notices, []
        for notice in notices:
            yield messages.notice_response(notice)
        yield from self._parameter_status()
        if outcome.empty:
            yield messages.EMPTY_QUERY_RESPONSE
            return
        if outcome.rows is None or fields is None:
            yield messages.command_complete(outcome.tag_for(0))
            return
        if describe:
            yield _row_description(fields, binary)
        encoders = [(f.oid, i < len(binary) and binary[i]) for i, f in enumerate(fields)]
        count = 0
        for columns, rows in outcome.rows.read(limit):
            if picked is not None:
                columns = [columns[i] for i in picked]
            encoded = [
                pgtypes.encode_column(c, oid, b)
                for c, (oid, b) in zip(columns, encoders, strict=True)
            ]
            yield messages.data_rows(encoded, rows)
            count += rows
        if outcome.rows.done:
            outcome.rows.close()
            yield messages.command_complete(outcome.tag_for(count))
        else:
            yield messages.PORTAL_SUSPENDED

    def _parameter_status(self) -> Iterator[bytes]:
        current = self.state.reported()
        for name, value in current.items():
            if self._reported.get(name) != value:
                yield messages.parameter_status(name, value)
        self._reported = current

    def _error(self, error: Error, sql: str) -> bytes:
        """The ErrorResponse of a failed statement, which also fails a transaction block."""
        if self.state.transaction == "T":
            self.state.transaction = "E"
        position = error.position
        if position is not None and not 0 <= position <= len(sql):
            position = None
        log.warning(
            "pid %d: query failed: %s %s | %s",
            self.state.backend_pid,
            error.sqlstate,
            " ".join(error.message.split()),
            " ".join(sql.split())[:300],
        )
        notice = Notice(
            "ERROR",
            error.sqlstate,
            error.message,
            position=None if position is None else position + 1,
            hint=error.hint,
        )
        return messages.error_response(notice)

    # statements and portals ---------------------------------------------------------------------

    def _text_of(self, message: messages.FrontendMessage) -> str:
        """The statement text a message is about, that an error position points into."""
        prepared: Prepared | None = None
        if isinstance(message, messages.Parse):
            return message.sql
        if isinstance(message, messages.Bind):
            prepared = self._statements.get(message.statement)
        elif isinstance(message, messages.Describe) and message.kind == "S":
            prepared = self._statements.get(message.name)
        elif isinstance(message, messages.Describe | messages.Execute):
            name = message.name if isinstance(message, messages.Describe) else message.portal
            portal = self._portals.get(name)
            prepared = portal.prepared if portal is not None else None
        return prepared.text if prepared is not None else ""

    def _statement(self, name: str) -> Prepared:
        prepared = self._statements.get(name)
        if prepared is None:
            raise QueryError(f'prepared statement "{name}" does not exist', sqlstate="26000")
        return prepared

    def _portal(self, name: str) -> Portal:
        portal = self._portals.get(name)
        if portal is None:
            raise QueryError(f'portal "{name}" does not exist', sqlstate="34000")
        return portal

    def _close_statement(self, name: str) -> None:
        prepared = self._statements.pop(name, None)
        if prepared is not None and prepared.prerun is not None and prepared.prerun.rows:
            prepared.prerun.rows.close()

    def _close_portal(self, name: str) -> None:
        portal = self._portals.pop(name, None)
        if portal is not None and portal.outcome is not None and portal.outcome.rows:
            portal.outcome.rows.close()

    def _drop_unnamed(self) -> None:
        self._close_statement("")
        self._close_portal("")

    def _drop_portals(self, *, keep_held: bool = False) -> None:
        """At the end of a transaction (keep_held), or for CLOSE ALL."""
        for name, portal in list(self._portals.items()):
            if not (keep_held and portal.hold):
                self._close_portal(name)

    def _detach(self) -> None:
        """Free the DuckDB cursor: open row streams read their remaining rows into memory."""
        for stream in self._live:
            stream.detach()
        self._live = [s for s in self._live if not s.done]


def _postgres_named(fields: list[Field] | None, statement: Statement | None) -> list[Field] | None:
    """Fields named as PostgreSQL names computed columns (count, ?column?), not as DuckDB."""
    if fields is None or statement is None or not isinstance(statement.node, exp.Select):
        return fields
    names = pgrewrite.computed_names(statement.node)
    if names is None or len(names) != len(fields):
        return fields
    return [replace(f, name=n) if n is not None else f for f, n in zip(fields, names, strict=True)]


def _described_columns(described: list[Field] | None, outcome: Outcome) -> list[int] | None:
    """Where the described columns are in the outcome (None: all of them, in order). A
    statement over a predictor described before its parameters were bound cannot have known
    the model's extra outputs: those are left out, with a warning."""
    actual = outcome.fields
    if described is None or actual is None or described == actual:
        if (described is None) == (actual is None):
            return None
    names = [f.name for f in actual or []]
    picked: list[int] | None = []
    for wanted in described or []:  # a repeated name (t.x, p.x) is matched in order
        taken = picked or []
        unused = [i for i, name in enumerate(names) if name == wanted.name and i not in taken]
        if not unused:
            picked = None
            break
        taken.append(unused[0])
        picked = taken
    if picked is None or described is None:
        raise FeatureNotSupported(
            "the statement's columns changed since it was described",
            hint="a predictor's outputs are known only when it runs: name the columns "
            "you select, or use literal values instead of parameters",
        )
    left_out = [name for i, name in enumerate(names) if i not in picked]
    if left_out:
        outcome.notices.append(
            _warning(
                "01000",
                f"columns {', '.join(left_out)} were not known when the statement was "
                "described and are left out; use literal values instead of parameters to get "
                "them",
            )
        )
    return picked


def _with_hints(given: Sequence[int], hints: Sequence[int]) -> list[int]:
    """The client's parameter OIDs, with pgcatalog's where the client left the choice."""
    oids = []
    for i in range(max(len(given), len(hints))):
        oid = given[i] if i < len(given) else 0
        if oid in describe.UNSPECIFIED and i < len(hints):
            oid = hints[i]
        oids.append(oid)
    return oids


def _outcome_of(intercepted: InterceptResult) -> Outcome:
    notices = [_warning("01000", text) for text in intercepted.notices]
    if not intercepted.has_rows:
        return Outcome(intercepted.tag, notices=notices)
    fields = _intercepted_fields(intercepted) or []
    if intercepted.table is not None:
        stream = RowStream.of_result(Result("SELECT", table=intercepted.table))
    else:
        columns = [list(c) for c in zip(*intercepted.rows, strict=True)] or [[] for _ in fields]
        stream = RowStream(iter([(columns, len(intercepted.rows))]))
    return Outcome(
        intercepted.tag or "SELECT", fields, stream, notices, counted=not intercepted.tag
    )


def _intercepted_fields(intercepted: InterceptResult | None) -> list[Field] | None:
    if intercepted is None or not intercepted.has_rows:
        return None
    if intercepted.table is not None:
        fields = [pgtypes.field_of(f.name, f.type) for f in intercepted.table.schema]
        if intercepted.oids:
            fields = [Field(f.name, oid) for f, oid in zip(fields, intercepted.oids, strict=True)]
        return fields
    return [
        Field(name, oid) for name, oid in zip(intercepted.columns, intercepted.oids, strict=True)
    ]


def _only(sql: str) -> Statement:
    statements = parse_script(sql)
    if len(statements) != 1:
        raise SqlSyntaxError(f"expected one statement, got {len(statements)}", sql=sql)
    return statements[0]


def _verb(text: str) -> str:
    words = text.split(None, 1)
    word = words[0].upper().rstrip(";") if words else ""
    return _VERBS.get(word, word)


def _transaction_verb(text: str) -> str | None:
    """BEGIN, COMMIT or ROLLBACK (in any spelling), which the session handles itself; not
    ROLLBACK TO [SAVEPOINT] x, which ends no transaction (pgcatalog answers it)."""
    verb = _verb(text)
    words = text.upper().split()
    if verb not in ("BEGIN", "COMMIT", "ROLLBACK") or (len(words) > 1 and words[1] == "TO"):
        return None
    return verb


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()


def _warning(sqlstate: str, message: str) -> Notice:
    return Notice("WARNING", sqlstate, message)


def _row_description(fields: Sequence[Field], binary: Sequence[bool]) -> bytes:
    if len(fields) > MAX_COLUMNS:
        raise TooManyColumns(
            f"a result can have at most {MAX_COLUMNS} columns, this one has {len(fields)}",
            hint="select fewer columns",
        )
    return messages.row_description(fields, binary)


def _refusal(message: messages.Invalid | messages.Unsupported) -> Error:
    if isinstance(message, messages.Invalid):
        return InvalidText(message.error)
    return FeatureNotSupported(f"{message.what} are not supported")


def _as_error(exc: Exception) -> Error:
    if isinstance(exc, Error):
        return exc
    if isinstance(exc, duckdb.Error):  # the catalog's own queries: the one translator
        return translate(exc)
    log.exception("internal error")
    return Error(f"internal error: {type(exc).__name__}: {exc}")
