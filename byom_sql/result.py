"""The result of one statement: Arrow record batches, read once, plus a command tag.

Rows stay in Arrow from DuckDB to the front door: `.arrow()`, `.df()` and `.fetchall()` are
conversions at the edge, `.batches()` streams without materialising the whole result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

if TYPE_CHECKING:
    import pandas as pd

EMPTY_SCHEMA = pa.schema([])


@dataclass
class Progress:
    """What a front door may show while a statement scores rows (`Connection.on_progress`)."""

    predictor: str
    rows_total: int
    rows_done: int = 0
    in_flight: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rows_per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.rows_done / elapsed if elapsed > 0 else 0.0


class Result:
    def __init__(
        self,
        command: str,
        *,
        reader: pa.RecordBatchReader | None = None,
        table: pa.Table | None = None,
        rowcount: int | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        """`command` is the tag's verb ("SELECT", "CREATE PREDICTOR", "INSERT" …). A result
        with rows has a reader or a table; a command without rows has `rowcount` at most."""
        if table is not None:
            reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
        self.command = command
        self._reader = reader
        self._rowcount = rowcount
        self._seen = 0
        self._on_close = on_close
        self._buffer: list[tuple[Any, ...]] = []
        self._exhausted = False

    @property
    def has_rows(self) -> bool:
        return self._reader is not None

    @property
    def schema(self) -> pa.Schema:
        return self._reader.schema if self._reader is not None else EMPTY_SCHEMA

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    @property
    def rowcount(self) -> int:
        """Rows affected (DML) or rows read so far (queries); -1 when unknown."""
        if self._rowcount is not None:
            return self._rowcount
        return self._seen if self._reader is not None else -1

    @property
    def status(self) -> str:
        """The Postgres command tag: `SELECT 3`, `INSERT 0 5`, `CREATE PREDICTOR`."""
        if self.command == "INSERT":
            return f"INSERT 0 {max(self.rowcount, 0)}"
        if self.has_rows or self.command in ("UPDATE", "DELETE", "COPY", "MERGE"):
            return f"{self.command} {max(self.rowcount, 0)}"
        return self.command

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The remaining batches; the result is closed once they are all read."""
        while (batch := self._next_batch()) is not None:
            yield batch

    def _next_batch(self) -> pa.RecordBatch | None:
        if self._reader is None or self._exhausted:
            return None
        try:
            batch = self._reader.read_next_batch()
        except StopIteration:
            self._exhausted = True
            self.close()
            return None
        self._seen += batch.num_rows
        return batch

    def arrow(self) -> pa.Table:
        schema = self.schema
        return pa.Table.from_batches(list(self.batches()), schema=schema)

    def df(self) -> pd.DataFrame:
        return self.arrow().to_pandas()

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._buffer + [row for batch in self.batches() for row in _rows(batch)]
        self._buffer = []
        return rows

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        while len(self._buffer) < size:
            batch = self._next_batch()
            if batch is None:
                break
            self._buffer.extend(_rows(batch))
        rows, self._buffer = self._buffer[:size], self._buffer[size:]
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def close(self) -> None:
        """Release what the result holds (a DuckDB stream, temporary relations); idempotent."""
        self._exhausted = True
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for batch in self.batches():
            yield from _rows(batch)

    def __repr__(self) -> str:
        return f"<Result {self.status} columns={self.columns}>"


def _rows(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    return list(zip(*(column.to_pylist() for column in batch.columns), strict=True))


_COMMANDS_WITHOUT_ROWS = (
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Set,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Attach,
    exp.Detach,
    exp.Install,
    exp.Copy,
)
_DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge)


def never_returns_rows(node: exp.Expr | None) -> bool:
    """DML without RETURNING, DDL, SET, transactions: no rows whatever DuckDB describes."""
    if isinstance(node, _DML):
        return not node.args.get("returning")
    return isinstance(node, _COMMANDS_WITHOUT_ROWS)


def returns_rows(node: exp.Expr | None, description: list[Any] | None) -> bool:
    if not description or never_returns_rows(node):
        return False
    if node is None or isinstance(node, exp.Command):
        return [d[0] for d in description] != ["Count"]
    return True


def command_of(node: exp.Expr | None, sql: str) -> str:
    """The verb of a command tag, from the statement's first words."""
    if isinstance(node, exp.Query):
        return "SELECT"
    words = sql.split(None, 4)
    verb = words[0].upper() if words else "EMPTY"
    if verb in ("CREATE", "DROP", "ALTER") and len(words) > 1:
        rest = [w.upper() for w in words[1:]]
        rest = [w for w in rest if w not in ("OR", "REPLACE", "TEMP", "TEMPORARY", "IF")]
        return f"{verb} {rest[0]}" if rest else verb
    return {"START": "BEGIN", "ABORT": "ROLLBACK", "END": "COMMIT"}.get(verb, verb)
