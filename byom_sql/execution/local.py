"""Run a Plan in this process: each step in DuckDB or through the model transport, then the
final statement.

Temporary relations are the session's own and are dropped when the result is closed. The plan
is not changed: the final statement is copied before predictions are inlined into it.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from sqlglot import exp

from byom_sql import types
from byom_sql.dialect import to_sql
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.errors import Error, NumericValueOutOfRange
from byom_sql.execution.scoring import score
from byom_sql.planning.plan import Materialize, Plan, Predict
from byom_sql.result import Result, command_of, returns_rows
from byom_sql.session import Session
from byom_sql.sqlbuild import cast, literal, names, quote

INLINE_ROWS = 100
"""Predictions of at most this many rows go into the final statement as VALUES."""


class Temporaries:
    """The relations a plan creates in the session, dropped in reverse order."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self.cursor = cursor
        self.made: list[tuple[str, str]] = []  # (kind, name)

    def table(self, name: str, query: str) -> None:
        with duckdb_errors(query):
            self.cursor.execute(f"CREATE TEMP TABLE {quote(name)} AS {query}")
        self.made.append(("TABLE", name))

    def view(self, name: str, query: str) -> None:
        with duckdb_errors(query):
            self.cursor.execute(f"CREATE TEMP VIEW {quote(name)} AS {query}")
        self.made.append(("VIEW", name))

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


def run(session: Session, plan: Plan) -> Result:
    cursor = session.cursor
    temporary = Temporaries(cursor)
    final = plan.final.copy()
    try:
        for step in plan.steps:
            if isinstance(step, Materialize):
                temporary.table(step.name, to_sql(step.query))
            else:
                _predict(session, step, temporary, final)
        sql = to_sql(final)
        with duckdb_errors(sql):
            cursor.execute(sql)
            if returns_rows(final, cursor.description):
                reader = cursor.to_arrow_reader(session.config.batch_size)

                def close() -> None:
                    reader.close()
                    temporary.drop()

                return Result(command_of(final, sql), reader=reader, on_close=close)
            row = cursor.fetchone() if cursor.description else None
        temporary.drop()
        return Result(command_of(final, sql), rowcount=row[0] if row else None)
    except BaseException:
        temporary.drop()
        raise


def _predict(session: Session, step: Predict, temporary: Temporaries, final: exp.Expr) -> None:
    """Make `step.name` a relation of the step's distinct input rows and their predictions.

    The inputs stay in a DuckDB temporary table (which can spill to disk) and stream out in
    batches; Python keeps only the model's outputs, which line up with the inputs by position.
    """
    predictor = step.predictor
    if predictor.status != "complete":
        detail = f": {predictor.error}" if predictor.error else ""
        raise Error(
            f"predictor {predictor.name} is not ready (status {predictor.status}{detail})",
            hint=f"RETRAIN {predictor.name} once the model endpoint works",
        )
    batch_size = step.batching.batch_size
    if step.constants:  # a few rows of constants: no temporary table is worth it
        rows = _constant_table(session.cursor, step)
        scored = score(session, step, rows.to_batches(batch_size), rows.schema, rows.num_rows)
        if not _inline(final, step.name, scored):  # the outputs carry the typed inputs
            temporary.arrow(step.name, scored)
        return
    assert step.inputs is not None
    inputs, outputs = f"{step.name}_in", f"{step.name}_out"
    temporary.table(inputs, to_sql(step.inputs))
    cursor = session.cursor
    with duckdb_errors():  # count first: the reader holds the cursor's result
        counted = cursor.execute(f"SELECT count(*) FROM {quote(inputs)}").fetchone()
        reader = cursor.execute(f"SELECT * FROM {quote(inputs)}").to_arrow_reader(batch_size)
    total = counted[0] if counted else 0
    try:
        scored = score(session, step, reader, reader.schema, total)
    finally:
        reader.close()
    temporary.arrow(outputs, scored)
    taken = [n for n in scored.column_names if n in step.features]
    exclude = f" EXCLUDE ({names(taken)})" if taken else ""
    temporary.view(
        step.name,
        f"SELECT o.*, i.*{exclude} FROM {quote(outputs)} AS o POSITIONAL JOIN {quote(inputs)} AS i",
    )


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


def _constant_table(cursor: duckdb.DuckDBPyConnection, step: Predict) -> pa.Table:
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
