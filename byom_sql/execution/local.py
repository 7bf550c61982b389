"""Run a Plan in this process: each step in DuckDB or through the model transport, then the
final statement.

Temporary relations are the session's own and are dropped when the result is closed. The plan
is not changed: the final statement is copied before predictions are inlined into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from sqlglot import exp

from byom_sql import types
from byom_sql.dialect import to_sql
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.errors import Error, NumericValueOutOfRange
from byom_sql.execution.scoring import StepStats, scored_batches
from byom_sql.planning.plan import Direct, Materialize, Plan, Predict
from byom_sql.result import Result, command_of, json_columns, returns_rows
from byom_sql.session import Session
from byom_sql.sqlbuild import cast, literal, names, quote

INLINE_ROWS = 100
"""Predictions of at most this many rows go into the final statement as VALUES."""
WINDOW_ROWS = 1_000_000
"""A step's input rows are read from DuckDB, and its outputs written back, this many at a
time: what Python holds of a large step."""


ARROW_SCAN = "byom_arrow_rows"
"""The name an Arrow table is registered under while DuckDB copies it."""


class Temporaries:
    """The relations a plan creates in the session, dropped in reverse order."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self.cursor = cursor
        self.made: list[tuple[str, str]] = []  # (kind, name)

    def table(self, name: str, query: str) -> int:
        """The table's row count."""
        with duckdb_errors(query):
            row = self.cursor.execute(f"CREATE TEMP TABLE {quote(name)} AS {query}").fetchone()
        self.made.append(("TABLE", name))
        return int(row[0]) if row else 0

    def view(self, name: str, query: str) -> None:
        with duckdb_errors(query):
            self.cursor.execute(f"CREATE TEMP VIEW {quote(name)} AS {query}")
        self.made.append(("VIEW", name))

    def table_of(self, name: str, table: pa.Table) -> None:
        """A temporary table holding `table`'s rows (DuckDB's, so it can spill to disk)."""
        self._from_arrow(f"CREATE TEMP TABLE {quote(name)} AS SELECT * FROM {ARROW_SCAN}", table)
        self.made.append(("TABLE", name))

    def append(self, name: str, table: pa.Table) -> None:
        self._from_arrow(
            f"INSERT INTO temp.{quote(name)} BY NAME SELECT * FROM {ARROW_SCAN}", table
        )

    def alter(self, name: str, change: str) -> None:
        with duckdb_errors():
            self.cursor.execute(f"ALTER TABLE temp.{quote(name)} {change}")

    def _from_arrow(self, statement: str, table: pa.Table) -> None:
        with duckdb_errors():
            self.cursor.register(ARROW_SCAN, table)
            try:
                self.cursor.execute(statement)
            finally:
                self.cursor.unregister(ARROW_SCAN)

    def arrow(self, name: str, table: pa.Table) -> None:
        with duckdb_errors():
            self.cursor.register(name, table)
        self.made.append(("ARROW", name))

    def drop(self) -> None:
        for kind, name in reversed(self.made):
            try:
                if kind == "ARROW":
                    self.cursor.unregister(name)
                else:
                    self.cursor.execute(f"DROP {kind} IF EXISTS temp.{quote(name)}")
            except duckdb.Error:  # best effort: the session may be gone
                pass
        self.made.clear()


def run(session: Session, plan: Plan, stats: dict[str, StepStats] | None = None) -> Result:
    """The plan's result; `stats` receives what each predict step did, by step name."""
    cursor = session.cursor
    temporary = Temporaries(cursor)
    # a Direct plan's final statement is made only if DuckDB must answer: see below
    final = plan.statement() if plan.direct is None else plan.final
    stats = {} if stats is None else stats
    try:
        scored: dict[str, pa.Table] = {}
        for index, step in enumerate(plan.steps):
            if isinstance(step, Materialize):
                temporary.table(step.name, to_sql(step.query))
                continue
            stats[step.name] = StepStats()
            table = _predict(session, step, temporary, stats[step.name])
            if table is not None and plan.direct is not None:
                scored[step.name] = table  # placed only if DuckDB must answer
            elif table is not None and read_later(plan, index):
                temporary.arrow(step.name, table)
            elif table is not None:
                _place(final, step.name, table, temporary)
        warnings = [
            failed_rows(step, stats[step.name])
            for step in plan.predictions
            if stats[step.name].failed
        ]
        if plan.direct is not None:
            step = plan.predictions[0]
            answer = _as_they_are(step, scored[step.name], plan.direct)
            if answer is not None:
                temporary.drop()
                return Result("SELECT", table=answer, warnings=warnings)
            final = plan.statement()
        for name, table in scored.items():
            _place(final, name, table, temporary)
        sql = to_sql(final)
        command = command_of(final, sql)
        with duckdb_errors(sql):
            cursor.execute(sql)
            if returns_rows(final, cursor.description):
                reader = cursor.to_arrow_reader(session.config.batch_size)

                def close() -> None:
                    reader.close()
                    temporary.drop()

                json = json_columns(cursor.description)
                return Result(
                    command, reader=reader, on_close=close, warnings=warnings, json_columns=json
                )
            row = cursor.fetchone() if cursor.description else None
        temporary.drop()
        return Result(command, rowcount=row[0] if row else None, warnings=warnings)
    except BaseException:
        temporary.drop()
        raise


def failed_rows(step: Predict, stats: StepStats) -> str:
    column = step.predictor.error_column
    rows = "row" if stats.rows == 1 else "rows"
    return (
        f"predictor {step.predictor.name}: {stats.failed} of {stats.rows} input {rows} failed; "
        f"their predictions are NULL and {column} says why"
    )


def _predict(
    session: Session, step: Predict, temporary: Temporaries, stats: StepStats
) -> pa.Table | None:
    """Make `step.name` a relation of the step's distinct input rows and their predictions;
    for constant inputs, or a few rows, the table that relation is to be (the caller places
    it: as VALUES in the final statement when small).

    The inputs stay in a DuckDB temporary table (which can spill to disk) and are read a
    window at a time; the model's outputs go back into DuckDB as they arrive (Spool), and line
    up with the inputs by position.
    """
    predictor = step.predictor
    if predictor.status != "complete":
        detail = f": {predictor.error}" if predictor.error else ""
        raise Error(
            f"predictor {predictor.name} is not ready (status {predictor.status}{detail})",
            hint=f"RETRAIN {predictor.name} once the model endpoint works",
        )
    with step_inputs(session, step, temporary) as inputs:
        batches = scored_batches(session, step, inputs.batches, inputs.schema, inputs.rows, stats)
        if inputs.table is not None or step.constants:
            scored = pa.concat_tables(list(batches), promote_options="permissive")
            if inputs.table is None:
                return scored
            return _joined(scored, inputs.table, step)  # a few rows: outputs and inputs
        outputs = Spool(temporary, f"{step.name}_out")
        for table in batches:
            outputs.add(table)
        outputs.flush(last=True)
    taken = [n for n in outputs.columns if n in step.features]
    exclude = f" EXCLUDE ({names(taken)})" if taken else ""
    temporary.view(
        step.name,
        f"SELECT o.*, i.*{exclude} FROM temp.{quote(outputs.name)} AS o "
        f"POSITIONAL JOIN {quote(inputs_of(step))} AS i",
    )
    return None


class Spool:
    """A step's outputs, written into temporary table `name` a window at a time as they
    arrive, so Python holds at most WINDOW_ROWS of them. Types that differ between batches
    (a column NULL in the first, text in a later one) are widened as Arrow would."""

    def __init__(self, temporary: Temporaries, name: str):
        self.temporary, self.name = temporary, name
        self.pending: list[pa.Table] = []
        self.rows = 0
        self.schema: pa.Schema | None = None

    @property
    def columns(self) -> list[str]:
        assert self.schema is not None, "flushed at least once"
        names: list[str] = self.schema.names
        return names

    def add(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.rows += table.num_rows
        if self.rows >= WINDOW_ROWS:
            self.flush()

    def flush(self, last: bool = False) -> None:
        """Write what is pending; with `last`, when it is all there is (one window), DuckDB
        scans it where it is instead (copying it in came after the last model call, when
        nothing else overlaps it)."""
        if not self.pending:
            return
        table = pa.concat_tables(self.pending, promote_options="permissive")
        self.pending, self.rows = [], 0
        if self.schema is None:
            self.schema = table.schema
            if last:
                self.temporary.arrow(self.name, table)
            else:
                self.temporary.table_of(self.name, table)
            return
        unified = pa.unify_schemas([self.schema, table.schema], promote_options="permissive")
        for field in unified:
            kind, column = types.duckdb_type(field.type), quote(field.name)
            if field.name not in self.schema.names:  # first seen in this window
                self.temporary.alter(self.name, f"ADD COLUMN {column} {kind}")
            elif field.type != self.schema.field(field.name).type:
                self.temporary.alter(self.name, f"ALTER {column} TYPE {kind}")
        self.schema = unified
        self.temporary.append(self.name, table)


def read_later(plan: Plan, index: int) -> bool:
    """Whether a later step reads step `index`'s relation (it cannot be inlined then)."""
    name = plan.steps[index].name
    for later in plan.steps[index + 1 :]:
        query = later.query if isinstance(later, Materialize) else later.inputs
        if query is not None and any(t.name == name for t in query.find_all(exp.Table)):
            return True
    return False


def _joined(scored: pa.Table, inputs: pa.Table, step: Predict) -> pa.Table:
    """The outputs, then the inputs the model's outputs do not name, row by row: what the
    POSITIONAL JOIN view gives for many rows."""
    taken = {n for n in scored.column_names if n in step.features}
    kept = [n for n in inputs.column_names if n not in taken]
    return pa.table(
        [*scored.columns, *(inputs.column(n) for n in kept)], names=[*scored.column_names, *kept]
    )


def _place(final: exp.Expr, name: str, scored: pa.Table, temporary: Temporaries) -> None:
    """Relation `name` of a constant step's outputs (they carry the typed inputs)."""
    if not _inline(final, name, scored):
        temporary.arrow(name, scored)


def _as_they_are(step: Predict, scored: pa.Table, direct: Direct) -> pa.Table | None:
    """The answer of a Direct plan without DuckDB, or None when DuckDB must filter: a typed
    input differs from its constant (`a = 2.5` of an integer input), or a column is not there."""
    typed = list(zip(*(scored.column(f).to_pylist() for f in step.features), strict=True))
    if step.rows is None or len(typed) != len(step.rows):
        return None
    for row, given in zip(typed, step.rows, strict=True):
        if any(not _same(a, b) for a, b in zip(row, given, strict=True)):
            return None
    if direct.columns is None:
        return scored
    stored = {name.lower(): name for name in scored.column_names}
    arrays, names = [], []
    for column, alias in direct.columns:
        name = stored.get(column.lower())
        if name is None:
            return None
        arrays.append(scored.column(name))
        names.append(alias or name)
    return pa.table(arrays, names=names)


def _same(typed: object, given: object) -> bool:
    """Whether DuckDB's `input = constant` holds without a cast changing either side."""
    if isinstance(typed, bool) or isinstance(given, bool):
        return type(typed) is type(given) and typed == given
    numbers = (int, float)
    if isinstance(typed, numbers) and isinstance(given, numbers):
        return typed == given
    return type(typed) is type(given) and typed == given


@dataclass(frozen=True)
class Inputs:
    """A predict step's distinct input rows, in the batches its model is sent; `table` holds
    them all when a JOIN step has so few that they were read at once."""

    batches: Iterable[pa.RecordBatch]
    schema: pa.Schema
    rows: int
    table: pa.Table | None = None


@contextmanager
def step_inputs(session: Session, step: Predict, temporary: Temporaries) -> Iterator[Inputs]:
    """The rows a step sends, batched as it sends them. Constants are read at once; other
    inputs go to temporary table `inputs_of(step)` and stream from it."""
    batch_size = step.batching.batch_size
    if step.constants:  # a few rows of constants: no temporary table is worth it
        rows = constant_table(session.cursor, step)
        yield Inputs(rows.to_batches(batch_size), rows.schema, rows.num_rows)
        return
    assert step.inputs is not None
    table = inputs_of(step)
    rows = temporary.table(table, to_sql(step.inputs))
    cursor = session.cursor
    if rows <= INLINE_ROWS:
        with duckdb_errors():
            whole = cursor.execute(f"SELECT * FROM {quote(table)}").to_arrow_table()
        yield Inputs(whole.to_batches(batch_size), whole.schema, rows, whole)
        return
    first = _window(cursor, table, 0, batch_size)
    yield Inputs(_windows(cursor, table, rows, batch_size, first), first.schema, rows)


def _windows(
    cursor: duckdb.DuckDBPyConnection, table: str, rows: int, batch_size: int, first: pa.Table
) -> Iterator[pa.RecordBatch]:
    """The table's rows in order, a window at a time (each a query of its own, so the cursor
    is free between them for the outputs to be written)."""
    for start in range(0, rows, _window_rows(batch_size)):
        part = first if start == 0 else _window(cursor, table, start, batch_size)
        yield from part.to_batches()


def _window(cursor: duckdb.DuckDBPyConnection, table: str, start: int, batch_size: int) -> pa.Table:
    end = start + _window_rows(batch_size)
    query = f"SELECT * FROM temp.{quote(table)} WHERE rowid >= {start} AND rowid < {end}"
    with duckdb_errors():
        window: pa.Table = cursor.execute(query).to_arrow_table(batch_size)
    return window


def _window_rows(batch_size: int) -> int:
    """WINDOW_ROWS, rounded up to whole batches."""
    return -(-WINDOW_ROWS // batch_size) * batch_size


def inputs_of(step: Predict) -> str:
    return f"{step.name}_in"


def _inline(final: exp.Expr, name: str, table: pa.Table) -> bool:
    """Put a few rows into the statement as a typed VALUES list: cheaper for DuckDB than
    scanning a registered Arrow table (a one-row prediction is mostly fixed costs)."""
    if not 0 < table.num_rows <= INLINE_ROWS:
        return False
    if not all(types.is_scalar(field.type) for field in table.schema):
        return False
    kinds = [types.duckdb_type(field.type) for field in table.schema]
    rows = [
        exp.Tuple(expressions=[cast(literal(v), t) for v, t in zip(row, kinds, strict=True)])
        for row in zip(*(c.to_pylist() for c in table.columns), strict=True)
    ]
    for reference in list(final.find_all(exp.Table)):
        if reference.name == name:
            alias = exp.TableAlias(
                this=exp.to_identifier(reference.alias_or_name),
                columns=[exp.to_identifier(c) for c in table.column_names],
            )
            reference.replace(exp.Values(expressions=rows, alias=alias))
    return True


def constant_table(cursor: duckdb.DuckDBPyConnection, step: Predict) -> pa.Table:
    if step.rows is not None:
        columns = list(zip(*step.rows, strict=True)) or [() for _ in step.features]
        arrays = []
        for feature, values in zip(step.features, columns, strict=True):
            try:
                arrays.append(pa.array(list(values)))
            except OverflowError:
                raise NumericValueOutOfRange(
                    f"input {feature!r} of predictor {step.predictor.name}: "
                    f"{max(values, key=abs)} is out of range for a 64-bit integer"
                ) from None
        return pa.table(arrays, names=list(step.features))
    assert step.inputs is not None
    sql = to_sql(step.inputs)
    with duckdb_errors(sql):
        return cursor.execute(sql).to_arrow_table()
