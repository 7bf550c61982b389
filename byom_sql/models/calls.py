"""The model-call log: one record per HTTP call or Python-model batch, kept in a bounded ring.

It holds no secrets by construction: a record has counts, sizes, statuses and the error text
a user is shown, never headers or bodies. `mindsdb.model_calls` shows it, EXPLAIN estimates
from it, and listeners (the server's Prometheus metrics) hear of every call as it is logged.
"""

from __future__ import annotations

import collections
import statistics
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime

import pyarrow as pa

SCHEMA = pa.schema(
    [
        ("time", pa.timestamp("us")),
        ("predictor", pa.string()),
        ("version", pa.int32()),
        ("rows", pa.int64()),
        ("bytes_out", pa.int64()),
        ("bytes_in", pa.int64()),
        ("http_status", pa.int32()),
        ("attempts", pa.int32()),
        ("throttled", pa.int32()),
        ("latency_ms", pa.float64()),
        ("error", pa.string()),
    ]
)


@dataclass(frozen=True)
class Call:
    time: datetime  # UTC, when the call was sent
    predictor: str  # project.name
    version: int
    rows: int
    bytes_out: int | None  # request bodies sent, every attempt counted; None for Python
    bytes_in: int | None
    http_status: int | None  # of the last attempt; None: no reply, or a Python model
    attempts: int
    throttled: int  # attempts answered 429
    latency_ms: float  # from sending to the outcome, retries included
    error: str | None

    @property
    def retries(self) -> int:
        return max(self.attempts - 1, 0)


class CallLog:
    def __init__(self, size: int):
        self._calls: collections.deque[Call] = collections.deque(maxlen=max(size, 1))
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Call], None]] = []

    def record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(call)

    def listen(self, listener: Callable[[Call], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def table(self) -> pa.Table:
        return table_of(self.calls())

    def latency(self, predictor: str, version: int) -> Latency | None:
        """What the predictor version's successful calls took, for EXPLAIN's estimate."""
        seen = [
            c
            for c in self.calls()
            if c.predictor == predictor and c.version == version and c.error is None and c.rows
        ]
        return Latency.of(seen) if seen else None


@dataclass(frozen=True)
class Latency:
    calls: int
    p50_ms: float
    ms_per_row: float

    @classmethod
    def of(cls, calls: list[Call]) -> Latency:
        rows = sum(c.rows for c in calls)
        return cls(
            calls=len(calls),
            p50_ms=statistics.median(c.latency_ms for c in calls),
            ms_per_row=sum(c.latency_ms for c in calls) / rows,
        )

    def estimate_ms(self, batches: Iterable[int], concurrency: int) -> float:
        """Each request takes the typical call's time, or longer in proportion to its rows;
        `concurrency` requests run at once."""
        each = sorted((max(self.p50_ms, rows * self.ms_per_row) for rows in batches), reverse=True)
        return sum(each[::concurrency])


def table_of(calls: list[Call]) -> pa.Table:
    names = [f.name for f in fields(Call)]
    columns = {name: [getattr(c, name) for c in calls] for name in names}
    return pa.table(columns, schema=SCHEMA)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p99 of 10 calls is the slowest one)."""
    ordered = sorted(values)
    rank = max(int(-(-fraction * len(ordered) // 1)), 1)  # ceil, at least the first
    return ordered[min(rank, len(ordered)) - 1]
