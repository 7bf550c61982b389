"""Send one predict step's input rows to its model and get the outputs back as Arrow.

Model calls are pipelined: the next batch is encoded while up to `max_concurrency` requests are
in flight. With `cache = true`, rows already cached are not sent. A failed call fails the query
(no partial or silently wrong rows), unless the predictor says `on_error = 'null'`: then a batch
the model rejects is split in halves until the rows that fail are found (at most
`SPLIT_CALLS` more calls per batch); they get NULL predictions and `<target>_error` says why.
Every call goes to the engine's call log.
"""

from __future__ import annotations

import collections
import concurrent.futures
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from byom_sql import cache, types
from byom_sql.catalog import Predictor
from byom_sql.errors import ModelCodeError, ModelError, ModelProtocolError
from byom_sql.models import Adapter, adapter_for
from byom_sql.models.calls import Call
from byom_sql.models.codec import Outputs, to_arrow
from byom_sql.models.transport import Policy, Reply, Request, wait
from byom_sql.planning.plan import Predict
from byom_sql.result import Progress
from byom_sql.session import Session
from byom_sql.types import Column

SPLIT_CALLS = 256
"""Calls a failed batch may make to find its failing rows; past that, the rest fail whole."""
ROW_ERRORS = (ModelProtocolError, ModelCodeError)
"""What a row can cause (a rejected or unreadable reply, user code raising); an endpoint that
cannot be reached or is too slow fails the query whatever on_error says."""


@dataclass
class StepStats:
    """What one predict step did: EXPLAIN ANALYZE shows it, the result tells of failed rows."""

    rows: int = 0  # distinct input rows
    cache_hits: int = 0
    failed: int = 0
    calls: list[Call] = field(default_factory=list)
    seconds: float = 0.0


class _Flight:
    """One call on its way: what was sent and when its outcome arrived."""

    def __init__(self, adapter: Adapter, rows: pa.Table, policy: Policy):
        prepared = adapter.prepare(rows)
        self.rows = rows
        self.bytes_out = len(prepared.body or b"") if isinstance(prepared, Request) else None
        self.sent_at = cache.utcnow()
        self.started = time.monotonic()
        self.finished: float | None = None
        self.future: concurrent.futures.Future[Any] = adapter.send(prepared, policy)
        self.future.add_done_callback(self._done)

    def _done(self, _: concurrent.futures.Future[Any]) -> None:
        self.finished = time.monotonic()


@dataclass
class _Batch:
    sent: pa.Table  # the batch's typed input rows
    keys: list[str] | None  # cache keys, when caching
    cached: dict[int, dict[str, Any]]  # row → cached outputs
    todo: list[int]  # rows to ask the model for
    flight: _Flight | None


class _Scorer:
    def __init__(self, session: Session, step: Predict, stats: StepStats):
        predictor = step.predictor
        self.session, self.step, self.predictor, self.stats = session, step, predictor, stats
        batching = step.batching
        self.policy = Policy(
            timeout=batching.timeout,
            retries=batching.retries,
            max_reply_bytes=batching.max_reply_bytes,
            label=f"predictor {predictor.name}",
            cancelled=session.cancel,
            opaque=not session.trusted,
        )
        self.adapter = adapter_of(session, predictor)
        self.error_column = predictor.error_column

    def start(self, batch: pa.RecordBatch) -> _Batch:
        sent = typed_inputs(
            pa.Table.from_batches([batch]), self.predictor, list(self.step.features)
        )
        todo = uncached(self.session, self.predictor, sent)
        flight = _Flight(self.adapter, todo.rows, self.policy) if todo.rows.num_rows else None
        self.stats.rows += sent.num_rows
        self.stats.cache_hits += len(todo.cached)
        return _Batch(sent, todo.keys, todo.cached, todo.indexes, flight)

    def finish(self, batch: _Batch) -> pa.Table:
        """The batch's outputs, in row order: cached, predicted, or failed."""
        columns: Outputs = {}
        errors: list[str | None] = []
        if batch.flight is not None:
            columns, errors = self._outcome(batch.flight)
        rows = batch.sent.num_rows
        if batch.cached or batch.keys is not None:  # mixed with cached rows, or stored
            columns = {name: _listed(values) for name, values in columns.items()}
        if batch.cached:
            merged, failed = _merged(batch, columns, errors)
        else:  # every row was sent: the outputs are in row order already
            merged, failed = columns, errors  # empty: no row failed
        self.stats.failed += sum(e is not None for e in errors)
        if batch.keys is not None and batch.todo:
            self.session.catalog.cache.store(
                self.predictor,
                [
                    (batch.keys[i], {n: merged[n][i] for n in columns})
                    for i in batch.todo
                    if not failed or failed[i] is None
                ],
            )
        kept = batch.sent if self.step.constants else None
        return output_table(merged, rows, self.predictor, self.adapter.where, kept, failed)

    def _outcome(self, flight: _Flight) -> tuple[Outputs, list[str | None]]:
        """Predictions of a flight's rows, and per row the error that left it without one."""
        try:
            return self._decode(flight), []
        except ROW_ERRORS as error:
            if self.error_column is None:
                raise
            budget = [SPLIT_CALLS]
            return self._split(flight.rows, error, budget)

    def _decode(self, flight: _Flight) -> Outputs:
        outcome: Any = None
        try:
            outcome = wait(flight.future, self.session.cancel)
            columns = self.adapter.predictions(outcome, flight.rows.num_rows)
        except ModelError as error:
            self._log(flight, outcome, error)
            raise
        self._log(flight, outcome, None)
        return columns

    def _split(
        self, rows: pa.Table, error: ModelError, budget: list[int]
    ) -> tuple[Outputs, list[str | None]]:
        """Bisect `rows`, which failed with `error`, down to the rows that fail."""
        count = rows.num_rows
        if count == 1 or budget[0] < 2:
            return {}, [error.reason or error.message] * count
        budget[0] -= 2
        half = count // 2
        parts = [rows.slice(0, half), rows.slice(half)]
        flights = [_Flight(self.adapter, part, self.policy) for part in parts]
        columns: Outputs = {}
        errors: list[str | None] = []
        done = 0
        for part, flight in zip(parts, flights, strict=True):
            found_errors: list[str | None] = [None] * part.num_rows
            try:
                found = self._decode(flight)
            except ROW_ERRORS as failure:
                found, found_errors = self._split(part, failure, budget)
            for name in dict.fromkeys([*columns, *found]):
                before = _listed(columns.get(name, [None] * done))
                columns[name] = before + _listed(found.get(name, [None] * part.num_rows))
            errors += found_errors
            done += part.num_rows
        return columns, errors

    def _log(self, flight: _Flight, outcome: Any, error: ModelError | None) -> None:
        reply = outcome if isinstance(outcome, Reply) else None
        trace = reply.trace if reply is not None else (error.trace if error else ())
        finished = flight.finished or time.monotonic()
        call = Call(
            time=flight.sent_at,
            predictor=self.predictor.qualified_name,
            version=self.predictor.version,
            rows=flight.rows.num_rows,
            bytes_out=None if flight.bytes_out is None else flight.bytes_out * (len(trace) or 1),
            bytes_in=len(reply.body) if reply is not None else None,
            http_status=trace[-1] if trace else None,
            attempts=len(trace) or 1,
            throttled=trace.count(429),
            latency_ms=(finished - flight.started) * 1000,
            error=error.message if error is not None else None,
        )
        self.stats.calls.append(call)
        self.session.calls.record(call)


def adapter_of(session: Session, predictor: Predictor, *, probe: bool = True) -> Adapter:
    """The predictor's adapter, its headers' secrets resolved."""
    headers = {} if predictor.format == "python" else session.catalog.headers(predictor)
    return adapter_for(predictor, session.transport, session.python, headers, probe=probe)


@dataclass(frozen=True)
class Uncached:
    """The rows of a batch the cache does not answer, and the answers it has (by row)."""

    rows: pa.Table
    indexes: list[int]
    cached: dict[int, dict[str, Any]]
    keys: list[str] | None  # every row's cache key, when the predictor caches


def uncached(session: Session, predictor: Predictor, sent: pa.Table) -> Uncached:
    if not cache.enabled(predictor):
        return Uncached(sent, list(range(sent.num_rows)), {}, None)
    keys = cache.keys(sent)
    found = session.catalog.cache.lookup(predictor, keys)
    cached = {i: found[k] for i, k in enumerate(keys) if k in found}
    indexes = [i for i in range(sent.num_rows) if i not in cached]
    rows = sent.take(pa.array(indexes, pa.int64())) if cached else sent
    return Uncached(rows, indexes, cached, keys)


def _listed(values: list[Any] | pa.Array[Any]) -> list[Any]:
    """Outputs as Python values, where they are mixed with cached ones or stored."""
    return values.to_pylist() if isinstance(values, pa.Array) else values


def _merged(
    batch: _Batch, columns: Outputs, errors: list[str | None]
) -> tuple[Outputs, list[str | None]]:
    """Cached and predicted outputs interleaved in row order, and each row's error."""
    predicted = {row: index for index, row in enumerate(batch.todo)}
    rows = batch.sent.num_rows
    names = list(dict.fromkeys([*columns, *(k for o in batch.cached.values() for k in o)]))
    merged: Outputs = {}
    for name in names:
        fresh = columns.get(name)
        merged[name] = [
            batch.cached[i].get(name)
            if i in batch.cached
            else (fresh[predicted[i]] if fresh is not None else None)
            for i in range(rows)
        ]
    failed = [errors[predicted[i]] if i in predicted and errors else None for i in range(rows)]
    return merged, failed


def scored_batches(
    session: Session,
    step: Predict,
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    total: int,
    stats: StepStats | None = None,
) -> Iterator[pa.Table]:
    """The outputs of each batch in input order, as they arrive: a caller that writes them away
    holds no more than the batches in flight. At least one table, empty for no rows."""
    stats = stats if stats is not None else StepStats()
    started = time.monotonic()
    scorer = _Scorer(session, step, stats)
    predictor = step.predictor
    progress = Progress(predictor.name, total)
    in_flight: collections.deque[_Batch] = collections.deque()
    first = True

    def collect() -> pa.Table:
        nonlocal first
        batch = in_flight.popleft()
        failed = stats.failed
        table = scorer.finish(batch)
        if first and batch.todo and stats.failed == failed:  # what the model returns
            session.catalog.observe_outputs(predictor, table.schema)
        first = False
        progress.rows_done += batch.sent.num_rows
        progress.in_flight = len(in_flight)
        session.report(progress)
        return table

    try:
        for batch in batches:
            while len(in_flight) >= step.batching.max_concurrency:
                yield collect()
            in_flight.append(scorer.start(batch))
            progress.in_flight = len(in_flight)
            session.report(progress)
        while in_flight:
            yield collect()
    finally:
        for pending in in_flight:
            if pending.flight is not None:
                pending.flight.future.cancel()
        stats.seconds += time.monotonic() - started
    if first:
        features = list(step.features)
        kept = typed_inputs(schema.empty_table(), predictor, features) if step.constants else None
        yield output_table({}, 0, predictor, scorer.adapter.where, kept, [])


def typed_inputs(inputs: pa.Table, predictor: Predictor, features: list[str]) -> pa.Table:
    """The feature columns, cast to their dtype_dict types."""
    dtypes = {k.lower(): v for k, v in predictor.dtype_dict.items()}
    columns: list[Column] = []
    for feature in features:
        column: Column = inputs.column(feature)
        dtype = dtypes.get(feature.lower())
        if dtype:
            column = types.coerce(
                column, dtype, what=f"input {feature!r} of predictor {predictor.name}"
            )
        columns.append(column)
    return pa.table(columns, names=features)


def output_table(
    columns: Mapping[str, list[Any] | pa.Array[Any]],
    rows: int,
    predictor: Predictor,
    where: str,
    inputs: pa.Table | None,
    errors: list[str | None],
) -> pa.Table:
    """Targets (typed by dtype_dict), then extra outputs, then the error column of a predictor
    with on_error = 'null', then `inputs` if given."""
    dtypes = {k.lower(): v for k, v in predictor.dtype_dict.items()}
    names: list[str] = []
    arrays: list[Column] = []
    for target in predictor.targets:
        dtype = dtypes.get(target.lower())
        array: Column
        if target in columns:
            array = to_arrow(columns[target], target, where)
            if dtype:
                array = types.coerce(array, dtype, what=f"{where}: prediction {target!r}")
        else:  # no outputs: no rows, or rows that all failed (typed by other batches then)
            kind = types.ARROW_TYPES.get(dtype or "") or (pa.null() if rows else pa.string())
            array = pa.nulls(rows, kind)
        names.append(target)
        arrays.append(array)
    for name, values in columns.items():
        if name not in predictor.targets:
            names.append(name)
            arrays.append(to_arrow(values, name, where))
    error_name = predictor.error_column
    if error_name is not None:
        names.append(error_name)
        arrays.append(pa.array(errors or [None] * rows, pa.string()))
    taken = {n.lower() for n in names}
    for name in inputs.column_names if inputs is not None else []:
        assert inputs is not None
        if name.lower() not in taken:
            names.append(name)
            arrays.append(inputs.column(name))
    return pa.table(arrays, names=names)
