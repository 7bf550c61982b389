"""EXPLAIN and EXPLAIN ANALYZE of a query that reads predictors.

EXPLAIN calls no model: it runs the plan's DuckDB steps (the data sources, the distinct input
rows), looks the rows up in the prediction cache and encodes the requests it would send, so
its counts are what the query will do. EXPLAIN ANALYZE runs the query, reads its rows, and
says what each model step did. Both answer one text column, `QUERY PLAN`, as PostgreSQL does.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterable

import pyarrow as pa
from sqlglot import exp

from byom_sql import cache, types
from byom_sql.dialect import Statement, parse, to_sql
from byom_sql.duckdb_errors import duckdb_errors
from byom_sql.execution.local import (
    Temporaries,
    constant_table,
    inputs_of,
    read_later,
    run,
    step_inputs,
)
from byom_sql.execution.scoring import StepStats, adapter_of, typed_inputs, uncached
from byom_sql.models.calls import percentile
from byom_sql.models.transport import Request
from byom_sql.planning.plan import Materialize, Plan, Predict
from byom_sql.result import Result
from byom_sql.session import Session
from byom_sql.sqlbuild import quote

COLUMN = "QUERY PLAN"
_OPTIONS = re.compile(r"\s*(?:\(\s*(?P<list>[^)]*)\)|(?P<analyze>ANALY[SZ]E\b))", re.IGNORECASE)


def explained(
    node: exp.Expr | None, cancel: threading.Event | None = None
) -> tuple[bool, Statement | None] | None:
    """(analyze, the one statement explained: None if there is not exactly one) when `node`
    is an EXPLAIN; None when it is not."""
    if not (isinstance(node, exp.Command) and node.name.upper() == "EXPLAIN"):
        return None
    analyze, text = _split(node.expression.name)
    statements = parse(text, lenient=True, cancel=cancel)
    return analyze, statements[0] if len(statements) == 1 else None


def _split(text: str) -> tuple[bool, str]:
    """(analyze, the statement) of what follows EXPLAIN: `ANALYZE q`, `(ANALYZE, …) q`, `q`."""
    match = _OPTIONS.match(text)
    if match is None:
        return False, text
    if match.group("analyze"):
        return True, text[match.end() :]
    options = [o.strip().split() for o in match.group("list").split(",") if o.strip()]
    analyze = any(
        o[0].upper() in ("ANALYZE", "ANALYSE") and (len(o) == 1 or o[1].upper() in ("TRUE", "ON"))
        for o in options
    )
    return analyze, text[match.end() :]


def explain(session: Session, plan: Plan) -> Result:
    lines: list[str] = []
    requests = 0
    temporary = Temporaries(session.cursor)
    try:
        for index, step in enumerate(plan.steps):
            if isinstance(step, Materialize):
                lines += _materialize(step)
                temporary.table(step.name, to_sql(step.query))
                continue
            described, sizes = _predict(session, step, temporary)
            lines += described
            requests += len(sizes)
            if read_later(plan, index):  # a later step reads it: its rows, no predictions
                _stand_in(session, step, temporary)
    finally:
        temporary.drop()
    steps = len(plan.predictions)
    head = f"byom_sql plan: {steps} predict step(s), {requests} model request(s)"
    note = "  (EXPLAIN called no model; EXPLAIN ANALYZE runs the query)"
    return _lines([head, note, *lines, *_final(plan)])


def analyze(session: Session, plan: Plan) -> Result:
    stats: dict[str, StepStats] = {}
    started = time.monotonic()
    result = run(session, plan, stats)
    rows = sum(batch.num_rows for batch in result.batches())
    result.close()
    elapsed = time.monotonic() - started
    lines = [f"byom_sql plan, run: {rows} row(s) in {_ms(elapsed * 1000)}"]
    for step in plan.steps:
        if isinstance(step, Materialize):
            lines += _materialize(step)
        else:
            lines += _analyzed(step, stats.get(step.name, StepStats()))
    return _lines([*lines, *_final(plan)], result.warnings)


def _materialize(step: Materialize) -> list[str]:
    where = "reads a remote database, once" if step.remote else "read once"
    return [f"Materialize {step.name} ({where})", f"  {to_sql(step.query)}"]


def _head(step: Predict) -> str:
    p = step.predictor
    url = p.options.get("url.predict") or (p.options.get("python") or {}).get("callable")
    return (
        f"Predict {step.name}: predictor {p.qualified_name} version {p.version} ({p.format} {url})"
    )


def _predict(
    session: Session, step: Predict, temporary: Temporaries
) -> tuple[list[str], list[int]]:
    """What the step will send: its description, and the rows of each request."""
    predictor, batching = step.predictor, step.batching
    adapter = adapter_of(session, predictor, probe=False)
    caching = cache.enabled(predictor)
    distinct = hits = 0
    sizes: list[int] = []
    sent_bytes: int | None = 0
    with step_inputs(session, step, temporary) as inputs:
        for batch in inputs.batches:
            sent = typed_inputs(pa.Table.from_batches([batch]), predictor, list(step.features))
            distinct += sent.num_rows
            todo = uncached(session, predictor, sent)
            hits += len(todo.cached)
            sent = todo.rows
            if not sent.num_rows:
                continue
            sizes.append(sent.num_rows)
            prepared = adapter.prepare(sent)
            if isinstance(prepared, Request) and sent_bytes is not None:
                sent_bytes += len(prepared.body or b"")
            else:
                sent_bytes = None
    rows = _input_rows(session, step) if not step.constants else None
    lines = [
        _head(step),
        f"  input rows: {distinct if rows is None else rows}, distinct inputs: {distinct}, "
        f"from cache: {hits}" + ("" if caching else " (cache off)"),
        f"  requests: {len(sizes)} (batches of up to {batching.batch_size}, "
        f"{batching.max_concurrency} in flight), rows to send: {sum(sizes)}, "
        f"bytes out: {sent_bytes if sent_bytes is not None else 'n/a (python)'}",
        f"  estimated time: {_estimate(session, step, sizes)}",
    ]
    if step.inputs is not None:
        lines.append(f"  inputs: {to_sql(step.inputs)}")
    return lines, sizes


def _stand_in(session: Session, step: Predict, temporary: Temporaries) -> None:
    """Relation `step.name` as a later step reads it, with NULL for every prediction (EXPLAIN
    calls no model: what depends on a prediction is estimated from these rows)."""
    outputs = [
        f"CAST(NULL AS {types.duckdb_type(kind)}) AS {quote(name)}"
        for name, kind, role in session.catalog.columns(step.predictor)
        if role != "feature"
    ]
    if step.constants:
        rows = constant_table(session.cursor, step)
        temporary.arrow(inputs_of(step), rows)
    source = quote(inputs_of(step))
    temporary.view(step.name, f"SELECT {', '.join([*outputs, 'i.*'])} FROM {source} AS i")


def _input_rows(session: Session, step: Predict) -> int | None:
    """Rows the inputs are drawn from, before DISTINCT."""
    assert step.inputs is not None
    query = step.inputs.copy()
    if not query.args.get("distinct"):
        return None
    query.set("distinct", None)
    sql = f"SELECT count(*) FROM ({to_sql(query)})"
    with duckdb_errors(sql):
        row = session.cursor.execute(sql).fetchone()
    return row[0] if row else 0


def _estimate(session: Session, step: Predict, sizes: list[int]) -> str:
    if not sizes:
        return "0 ms (nothing to send)"
    seen = session.calls.latency(step.predictor.qualified_name, step.predictor.version)
    if seen is None:
        return "unknown (no calls of this version observed yet)"
    total = seen.estimate_ms(sizes, step.batching.max_concurrency)
    return f"{_ms(total)} (from {seen.calls} observed call(s), p50 {_ms(seen.p50_ms)} per call)"


def _analyzed(step: Predict, stats: StepStats) -> list[str]:
    calls = stats.calls
    latencies = [c.latency_ms for c in calls]
    sent = sum(c.rows for c in calls)
    rate = stats.rows / stats.seconds if stats.seconds > 0 else 0.0
    lines = [
        _head(step),
        f"  distinct inputs: {stats.rows}, from cache: {stats.cache_hits}, rows sent: {sent}, "
        f"failed rows: {stats.failed}",
        f"  requests: {len(calls)}, retries: {sum(c.retries for c in calls)}, "
        f"429s: {sum(c.throttled for c in calls)}, "
        f"errors: {sum(c.error is not None for c in calls)}",
    ]
    if calls:
        lines.append(
            f"  latency: p50 {_ms(percentile(latencies, 0.5))}, "
            f"p99 {_ms(percentile(latencies, 0.99))}, max {_ms(max(latencies))}"
        )
        lines.append(
            f"  bytes out: {_total(c.bytes_out for c in calls)}, "
            f"bytes in: {_total(c.bytes_in for c in calls)}"
        )
    lines.append(f"  rows/s: {rate:.0f} (the step took {_ms(stats.seconds * 1000)})")
    return lines


def _final(plan: Plan) -> list[str]:
    lines = ["Final query", f"  {to_sql(plan.statement())}"]
    if plan.direct is not None:
        lines.append(
            "  (run only if an input changes type: the answer is the predictions as they are)"
        )
    return lines


def _lines(lines: list[str], warnings: list[str] | None = None) -> Result:
    table = pa.table({COLUMN: pa.array(lines, pa.string())})
    return Result("EXPLAIN", table=table, warnings=warnings)


def _total(values: Iterable[int | None]) -> str:
    known = [v for v in values if v is not None]
    return str(sum(known)) if known else "n/a"


def _ms(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    return f"{value:.1f} ms" if value < 100 else f"{math.floor(value)} ms"
