"""Runs queries that read predictors: the planner's steps in DuckDB, model calls through the
transport, predictions registered back into DuckDB as Arrow, then the rewritten query.

Model calls are pipelined: the next batch is encoded while up to `max_concurrency` requests are
in flight; any failed call fails the query (no partial or silently wrong rows).
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import math
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from byom_sql import databases, planner, types
from byom_sql.catalog import DEFAULT_PROJECT, Predictor
from byom_sql.dialect import to_sql
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.errors import Error, UndefinedObject
from byom_sql.models import adapter_for
from byom_sql.models.codec import to_arrow
from byom_sql.models.transport import Policy, wait
from byom_sql.result import Result, command_of, returns_rows

if TYPE_CHECKING:
    from byom_sql.engine import Connection, Params


@dataclass
class Progress:
    """What a front door may show while a statement scores rows."""

    predictor: str
    rows_total: int
    rows_done: int = 0
    in_flight: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rows_per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.rows_done / elapsed if elapsed > 0 else 0.0


# which statements -----------------------------------------------------------------------------


def reads_predictors(conn: Connection, node: exp.Expression) -> bool:
    catalog = conn.engine.catalog
    return any(
        resolve_predictor(conn, table) is not None
        for table in node.find_all(exp.Table)
        if catalog.has_predictor_named(table.name) or catalog.has_predictor_named(table.db)
    )


def resolve_predictor(conn: Connection, table: exp.Table) -> Predictor | None:
    """`project.name`, `name` (unless a table has that name), `name.2`, `project.name.2`."""
    catalog = conn.engine.catalog
    if not isinstance(table.this, exp.Identifier):
        return None
    name, db, project = table.name, table.db, table.catalog
    if db and name.isdigit():
        return _version(conn, db, project or DEFAULT_PROJECT, int(name))
    if db:
        return None if project else catalog.predictor(name, db)
    if catalog.predictor(name) is not None and not _table_exists(conn, name):
        return catalog.predictor(name)
    return None


def _version(conn: Connection, name: str, project: str, version: int) -> Predictor | None:
    catalog = conn.engine.catalog
    if catalog.latest(name, project) is None:
        return None
    found = catalog.predictor(name, project, version)
    if found is None:
        raise UndefinedObject(
            f"predictor {project}.{name} has no version {version}",
            hint=f"SELECT version FROM mindsdb.models_versions WHERE name = '{name}' lists them",
        )
    return found


def _table_exists(conn: Connection, name: str) -> bool:
    """Whether a table or view shadows a predictor's bare name; cached until a statement that
    may create or drop names runs."""
    version = conn.engine.schema_version
    cached = conn.known_tables.get(name.lower())
    if cached is not None and cached[0] == version:
        return cached[1]
    exists = bool(
        conn.cursor.execute(
            "SELECT 1 FROM duckdb_tables() WHERE lower(table_name) = lower($1) "
            "AND ((database_name = current_database() AND schema_name = current_schema()) "
            "OR temporary) UNION ALL SELECT 1 FROM duckdb_views() WHERE lower(view_name) = "
            "lower($1) AND NOT internal AND ((database_name = current_database() "
            "AND schema_name = current_schema()) OR temporary)",
            [name],
        ).fetchone()
    )
    conn.known_tables[name.lower()] = (version, exists)
    return exists


# running one query ---------------------------------------------------------------------------


class _Context:
    """What the planner may ask of the database, answered on the session's cursor."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def resolve(self, table: exp.Table) -> Predictor | None:
        return resolve_predictor(self.conn, table)

    def columns(self, sql: str) -> list[str]:
        with duckdb_errors(sql):
            return [row[0] for row in self.conn.cursor.execute(f"DESCRIBE {sql}").fetchall()]

    def is_remote(self, table: exp.Table) -> bool:
        return databases.is_remote(self.conn, table)


def run_query(conn: Connection, node: exp.Expression, params: Params) -> Result:
    """Plan and run a statement that reads predictors; `node` is the caller's copy."""
    node = bind_parameters(node, params)
    ctx = _Context(conn)
    namer = planner.Namer(secrets.token_hex(3))
    temporary: list[tuple[str, str]] = []  # (kind, name) to drop when the result is closed

    def cleanup() -> None:
        for kind, name in reversed(temporary):
            try:
                if kind == "arrow":
                    conn.cursor.unregister(name)
                else:
                    conn.cursor.execute(f'DROP {kind} IF EXISTS temp."{name}"')
            except Exception:  # noqa: BLE001 - best effort: the session may be gone
                pass

    try:
        for select, refs in planner.predictor_scopes(node, ctx.resolve):
            for action in planner.plan_scope(select, refs, ctx, namer):
                if isinstance(action, planner.Materialize):
                    with duckdb_errors(action.sql):
                        conn.cursor.execute(f'CREATE TEMP TABLE "{action.name}" AS {action.sql}')
                    temporary.append(("TABLE", action.name))
                else:
                    predict(conn, action, temporary, node)
        final = to_sql(node)
        with duckdb_errors(final):
            conn.cursor.execute(final)
            if returns_rows(node, conn.cursor.description):
                reader = conn.cursor.to_arrow_reader(conn.engine.config.batch_size)

                def close() -> None:
                    reader.close()
                    cleanup()

                return Result(command_of(node, final), reader=reader, on_close=close)
            row = conn.cursor.fetchone() if conn.cursor.description else None
        cleanup()
        return Result(command_of(node, final), rowcount=row[0] if row else None)
    except BaseException:
        cleanup()
        raise


# model calls ---------------------------------------------------------------------------------


def predict(
    conn: Connection, step: planner.Predict, temporary: list[tuple[str, str]], query: exp.Expression
) -> None:
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
    batch_size = _options(conn, predictor)[0]
    if step.typed_features:  # a few rows of constants: no temporary table is worth it
        rows = _constant_table(conn, step)
        scored = _score(conn, step, rows.to_batches(batch_size), rows.schema, rows.num_rows)
        if not _inline(query, step.name, scored):  # the outputs carry the typed inputs
            conn.cursor.register(step.name, scored)
            temporary.append(("arrow", step.name))
        return
    inputs, outputs = f"{step.name}_in", f"{step.name}_out"
    with duckdb_errors(step.input_sql):
        conn.cursor.execute(f'CREATE TEMP TABLE "{inputs}" AS {step.input_sql}')
    temporary.append(("TABLE", inputs))
    total = conn.cursor.execute(f'SELECT count(*) FROM "{inputs}"').fetchone()[0]
    reader = conn.cursor.execute(f'SELECT * FROM "{inputs}"').to_arrow_reader(batch_size)
    try:
        scored = _score(conn, step, reader, reader.schema, total)
    finally:
        reader.close()
    conn.cursor.register(outputs, scored)
    temporary.append(("arrow", outputs))
    taken = ", ".join(f'"{n}"' for n in scored.column_names if n in step.features)
    exclude = f" EXCLUDE ({taken})" if taken else ""
    conn.cursor.execute(
        f'CREATE TEMP VIEW "{step.name}" AS SELECT o.*, i.*{exclude} '
        f'FROM "{outputs}" AS o POSITIONAL JOIN "{inputs}" AS i'
    )
    temporary.append(("VIEW", step.name))


INLINE_ROWS = 100
_SQL_TYPES = {
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.float32(): "FLOAT",
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us"): "TIMESTAMP",
}


def _inline(query: exp.Expression, name: str, table: pa.Table) -> bool:
    """Put a few rows into the query as a typed VALUES list: cheaper for DuckDB than scanning
    a registered Arrow table (a one-row prediction is mostly fixed costs)."""
    types = [_SQL_TYPES.get(field.type) for field in table.schema]
    if not 0 < table.num_rows <= INLINE_ROWS or None in types:
        return False
    rows = [
        exp.Tuple(expressions=[exp.cast(literal(v), t) for v, t in zip(row, types, strict=True)])
        for row in zip(*(c.to_pylist() for c in table.columns), strict=True)
    ]
    for reference in list(query.find_all(exp.Table)):
        if reference.name == name:
            alias = exp.TableAlias(
                this=exp.to_identifier(reference.alias_or_name),
                columns=[exp.to_identifier(c) for c in table.column_names],
            )
            reference.replace(exp.Values(expressions=rows, alias=alias))
    return True


def _constant_table(conn: Connection, step: planner.Predict) -> pa.Table:
    if step.rows is not None:
        columns = list(zip(*step.rows, strict=True))
        return pa.table([pa.array(list(c)) for c in columns], names=step.features)
    with duckdb_errors(step.input_sql):
        return conn.cursor.execute(step.input_sql).to_arrow_table()


def _typed_inputs(inputs: pa.Table, predictor: Predictor, features: list[str]) -> pa.Table:
    dtypes = {k.lower(): v for k, v in predictor.dtype_dict.items()}
    columns = []
    for feature in features:
        column = inputs.column(feature)
        dtype = dtypes.get(feature.lower())
        if dtype:
            column = types.coerce(
                column, dtype, what=f"input {feature!r} of predictor {predictor.name}"
            )
        columns.append(column)
    return pa.table(columns, names=features)


def _options(conn: Connection, predictor: Predictor) -> tuple[int, int, Policy]:
    config, options = conn.engine.config, predictor.options
    policy = Policy(
        timeout=options.get("timeout", config.timeout),
        retries=options.get("retries", config.retries),
        label=f"predictor {predictor.name}",
        cancelled=conn.cancel,
    )
    return (
        options.get("batch_size", config.batch_size),
        options.get("max_concurrency", config.max_concurrency),
        policy,
    )


def _score(
    conn: Connection,
    step: planner.Predict,
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    total: int,
) -> pa.Table:
    """The model's outputs for every input row, in input order. The next batch is encoded
    while up to `max_concurrency` calls are in flight; any failure fails the whole query."""
    predictor = step.predictor
    batch_size, concurrency, policy = _options(conn, predictor)
    adapter = adapter_for(predictor, conn.engine.transport, conn.engine.python)
    progress = Progress(predictor.name, total)
    in_flight: collections.deque[tuple[pa.Table, concurrent.futures.Future[Any]]] = (
        collections.deque()
    )
    outputs: list[pa.Table] = []

    def collect() -> None:
        sent, future = in_flight.popleft()
        columns = adapter.predictions(wait(future, conn.cancel), sent.num_rows)
        kept = sent if step.typed_features else None
        outputs.append(_outputs(columns, sent.num_rows, predictor, adapter.where, kept))
        progress.rows_done += sent.num_rows
        progress.in_flight = len(in_flight)
        _report(conn, progress)

    try:
        for batch in batches:
            sent = _typed_inputs(pa.Table.from_batches([batch]), predictor, step.features)
            prepared = adapter.prepare(sent)
            while len(in_flight) >= concurrency:
                collect()
            in_flight.append((sent, adapter.send(prepared, policy)))
            progress.in_flight = len(in_flight)
            _report(conn, progress)
        while in_flight:
            collect()
    finally:
        for _, future in in_flight:
            future.cancel()
    if not outputs:
        kept = (
            _typed_inputs(schema.empty_table(), predictor, step.features)
            if step.typed_features
            else None
        )
        return _outputs({}, 0, predictor, adapter.where, kept)
    return pa.concat_tables(outputs, promote_options="permissive")


def _outputs(
    columns: Mapping[str, list[Any]],
    rows: int,
    predictor: Predictor,
    where: str,
    inputs: pa.Table | None,
) -> pa.Table:
    """Targets (typed by dtype_dict), then extra outputs, then `inputs` if given."""
    dtypes = {k.lower(): v for k, v in predictor.dtype_dict.items()}
    names, arrays = [], []
    for target in predictor.targets:
        dtype = dtypes.get(target.lower())
        if target in columns:
            array = to_arrow(columns[target], target, where)
            if dtype:
                array = types.coerce(array, dtype, what=f"{where}: prediction {target!r}")
        else:
            array = pa.nulls(rows, types.ARROW_TYPES.get(dtype or "") or pa.string())
        names.append(target)
        arrays.append(array)
    for name, values in columns.items():
        if name not in predictor.targets:
            names.append(name)
            arrays.append(to_arrow(values, name, where))
    taken = {n.lower() for n in names}
    for name in inputs.column_names if inputs is not None else []:
        if name.lower() not in taken:
            names.append(name)
            arrays.append(inputs.column(name))
    return pa.table(arrays, names=names)


def _report(conn: Connection, progress: Progress) -> None:
    if conn.on_progress is not None:
        conn.on_progress(progress)


# parameters ------------------------------------------------------------------------------------


def bind_parameters(node: exp.Expression, params: Params) -> exp.Expression:
    """Put bound values into the tree as literals: the plan splits the statement in several
    DuckDB queries, which cannot share positional parameters."""
    if not params:
        return node
    positional = list(params) if isinstance(params, Sequence) else []
    named = params if isinstance(params, Mapping) else {}
    counter = iter(range(len(positional)))

    def value_of(placeholder: exp.Placeholder) -> exp.Expression:
        key = str(placeholder.args.get("this") or "")
        if not key:
            index = next(counter, None)
            if index is None:
                raise Error("more ? placeholders than parameters")
            return literal(positional[index])
        if key.isdigit():
            index = int(key) - 1
            if not 0 <= index < len(positional):
                raise Error(f"no value for parameter ${key}")
            return literal(positional[index])
        if key not in named:
            raise Error(f"no value for parameter ${key}")
        return literal(named[key])

    return node.transform(
        lambda n: value_of(n) if isinstance(n, exp.Placeholder) else n, copy=False
    )


def literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        if math.isfinite(value):
            return exp.Literal.number(repr(value))
        return exp.cast(exp.Literal.string(str(value)), "DOUBLE")
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo else "TIMESTAMP"
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), kind)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, dt.time):
        return exp.cast(exp.Literal.string(value.isoformat()), "TIME")
    if isinstance(value, bytes | bytearray | memoryview):
        return exp.func("from_hex", exp.Literal.string(bytes(value).hex()))
    return exp.Literal.string(str(value))
