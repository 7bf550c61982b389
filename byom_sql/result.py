"""The result of one statement: Arrow record batches plus a command tag.

Rows stay in Arrow from DuckDB to the front door: `.arrow()`, `.df()` and `.fetchall()` are
conversions at the edge, `.batches()` streams without materialising the whole result.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from byom_sql.errors import Error

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
    """One statement's result.

    - `arrow()`, `df()`, `pl()`, `fetchnumpy()` give the whole result, every time they are
      called, in any order; they do not move the cursor.
    - `fetchone()`, `fetchmany(n)`, `fetchall()` and iteration share one cursor, as in DB-API:
      each row is given once, `fetchall()` gives the rows not fetched yet.
    - Rows are read from DuckDB only as far as a call needs (`fetchone()` of 10M rows reads
      one batch) and kept, so that the calls above can be mixed.
    - `batches()` streams the rest without keeping it, for results too large to hold; the
      other methods then raise, since the rows are gone.
    - Running another statement on the connection first reads what remains of this result
      into memory: an earlier result keeps its rows.
    """

    def __init__(
        self,
        command: str,
        *,
        reader: pa.RecordBatchReader | None = None,
        table: pa.Table | None = None,
        rowcount: int | None = None,
        on_close: Callable[[], None] | None = None,
        warnings: list[str] | None = None,
        json_columns: frozenset[int] = frozenset(),
    ) -> None:
        """`command` is the tag's verb ("SELECT", "CREATE PREDICTOR", "INSERT" …). A result
        with rows has a reader or a table; a command without rows has `rowcount` at most.
        `warnings` tell of what succeeded only in part (rows a model rejected);
        `json_columns` are the positions of JSON columns, which Arrow gives as text."""
        if table is not None:
            reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
        self.command = command
        self.warnings = list(warnings or [])
        self.json_columns = json_columns
        self._reader = reader
        self._schema = reader.schema if reader is not None else EMPTY_SCHEMA
        self._rowcount = rowcount
        self._seen = 0
        self._on_close = on_close
        self._kept: list[pa.RecordBatch] = []
        self._exhausted = reader is None
        self._gone: str | None = None  # why rows not kept can no longer be read
        self._at = (0, 0)  # the cursor: (batch, row in it)
        self._rows_of: tuple[int, list[tuple[Any, ...]]] | None = None  # the cursor's batch

    @property
    def has_rows(self) -> bool:
        return self._reader is not None

    @property
    def schema(self) -> pa.Schema:
        return self._schema

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
        """The command tag, then the warnings: `SELECT 3`, `SELECT 5 (2 rows failed: …)`."""
        if not self.warnings:
            return self.tag
        return f"{self.tag} ({'; '.join(self.warnings)})"

    @property
    def tag(self) -> str:
        """The Postgres command tag: `SELECT 3`, `INSERT 0 5`, `CREATE PREDICTOR`."""
        if self.command == "INSERT":
            return f"INSERT 0 {max(self.rowcount, 0)}"
        if self.has_rows or self.command in ("UPDATE", "DELETE", "COPY", "MERGE"):
            return f"{self.command} {max(self.rowcount, 0)}"
        return self.command

    # whole result --------------------------------------------------------------------------

    def arrow(self) -> pa.Table:
        """Every row, as a pyarrow Table."""
        while self._pull():
            pass
        return pa.Table.from_batches(self._kept, schema=self.schema)

    def df(self) -> pd.DataFrame:
        """Every row, as a pandas DataFrame."""
        return self.arrow().to_pandas()

    def pl(self) -> Any:
        """Every row, as a polars DataFrame (polars must be installed)."""
        try:
            import polars
        except ImportError:
            raise Error("Result.pl() needs polars: pip install polars") from None
        return polars.from_arrow(self.arrow())

    def fetchnumpy(self) -> dict[str, Any]:
        """Every row, as a NumPy array per column."""
        table = self.arrow()
        return {name: table.column(name).to_numpy() for name in table.column_names}

    # cursor --------------------------------------------------------------------------------

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        """The next `size` rows (fewer at the end)."""
        rows: list[tuple[Any, ...]] = []
        while len(rows) < size:
            index, offset = self._at
            if index >= len(self._kept) and not self._pull():
                break
            if self._rows_of is None or self._rows_of[0] != index:
                self._rows_of = (index, _rows(self._kept[index]))
            taken = self._rows_of[1][offset : offset + size - len(rows)]
            rows += taken
            offset += len(taken)
            self._at = (index + 1, 0) if offset >= self._kept[index].num_rows else (index, offset)
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The rows not fetched yet."""
        return self.fetchmany(sys.maxsize)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    # streaming -----------------------------------------------------------------------------

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows as Arrow batches: those kept so far, then the rest streamed, not kept."""
        yield from list(self._kept)
        self._gone = "its rows were streamed by batches()"
        while (batch := self._next_batch()) is not None:
            yield batch

    def detach(self) -> None:
        """Read the remaining rows into memory, so that the connection can run another
        statement (a result being streamed is closed instead)."""
        if self._gone is None:
            while self._pull():
                pass
        self.close()

    def close(self) -> None:
        """Release what the result holds (a DuckDB stream, temporary relations); idempotent.
        Rows already read stay readable."""
        if not self._exhausted and self._gone is None:
            self._gone = "it was closed"
        self._exhausted = True
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()

    def _pull(self) -> bool:
        """Read and keep one more batch; False at the end."""
        if self._exhausted:
            if self._gone is not None and self._reader is not None:
                raise Error(
                    f"this result cannot be read again: {self._gone}",
                    hint="run the statement again; arrow(), df() and fetch*() keep the rows",
                )
            return False
        batch = self._next_batch()
        if batch is None:
            return False
        self._kept.append(batch)
        return True

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


def json_columns(description: list[Any] | None) -> frozenset[int]:
    """Positions of the JSON columns of a DuckDB result (its description tells them)."""
    return frozenset(i for i, d in enumerate(description or []) if str(d[1]) == "JSON")


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
