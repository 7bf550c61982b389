"""Send one predict step's input rows to its model and get the outputs back as Arrow.

Model calls are pipelined: the next batch is encoded while up to `max_concurrency` requests are
in flight; any failed call fails the query (no partial or silently wrong rows).
"""

from __future__ import annotations

import collections
import concurrent.futures
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from byom_sql import types
from byom_sql.catalog import Predictor
from byom_sql.models import adapter_for
from byom_sql.models.codec import to_arrow
from byom_sql.models.transport import Policy, wait
from byom_sql.planning.plan import Predict
from byom_sql.result import Progress
from byom_sql.session import Session
from byom_sql.types import Column


def score(
    session: Session,
    step: Predict,
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    total: int,
) -> pa.Table:
    """The model's outputs for every input row, in input order (with the typed inputs after
    them when the step's inputs are constants)."""
    predictor, batching = step.predictor, step.batching
    features = list(step.features)
    policy = Policy(
        timeout=batching.timeout,
        retries=batching.retries,
        max_reply_bytes=batching.max_reply_bytes,
        label=f"predictor {predictor.name}",
        cancelled=session.cancel,
        opaque=not session.trusted,
    )
    headers = {} if predictor.format == "python" else session.catalog.headers(predictor)
    adapter = adapter_for(predictor, session.transport, session.python, headers)
    progress = Progress(predictor.name, total)
    in_flight: collections.deque[tuple[pa.Table, concurrent.futures.Future[Any]]] = (
        collections.deque()
    )
    outputs: list[pa.Table] = []

    def collect() -> None:
        sent, future = in_flight.popleft()
        columns = adapter.predictions(wait(future, session.cancel), sent.num_rows)
        kept = sent if step.constants else None
        table = output_table(columns, sent.num_rows, predictor, adapter.where, kept)
        if not outputs:
            session.catalog.observe_outputs(predictor, table.schema)
        outputs.append(table)
        progress.rows_done += sent.num_rows
        progress.in_flight = len(in_flight)
        session.report(progress)

    try:
        for batch in batches:
            sent = typed_inputs(pa.Table.from_batches([batch]), predictor, features)
            prepared = adapter.prepare(sent)
            while len(in_flight) >= batching.max_concurrency:
                collect()
            in_flight.append((sent, adapter.send(prepared, policy)))
            progress.in_flight = len(in_flight)
            session.report(progress)
        while in_flight:
            collect()
    finally:
        for _, future in in_flight:
            future.cancel()
    if not outputs:
        kept = typed_inputs(schema.empty_table(), predictor, features) if step.constants else None
        return output_table({}, 0, predictor, adapter.where, kept)
    return pa.concat_tables(outputs, promote_options="permissive")


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
    columns: Mapping[str, list[Any]],
    rows: int,
    predictor: Predictor,
    where: str,
    inputs: pa.Table | None,
) -> pa.Table:
    """Targets (typed by dtype_dict), then extra outputs, then `inputs` if given."""
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
        else:
            kind = types.ARROW_TYPES.get(dtype or "") or pa.string()
            array = pa.nulls(rows, kind)
        names.append(target)
        arrays.append(array)
    for name, values in columns.items():
        if name not in predictor.targets:
            names.append(name)
            arrays.append(to_arrow(values, name, where))
    taken = {n.lower() for n in names}
    for name in inputs.column_names if inputs is not None else []:
        assert inputs is not None
        if name.lower() not in taken:
            names.append(name)
            arrays.append(inputs.column(name))
    return pa.table(arrays, names=names)
