"""`byom-sql serve --metrics-port`: Prometheus metrics of model calls and wire clients.

Model-call figures come from the engine's call log (every call it records is counted here as
well); connections and queries from the server. Names and counts only: no SQL text, no
headers, no rows.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from byom_sql.models.calls import Call, CallLog

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self, calls: CallLog):
        self.registry = registry = CollectorRegistry()
        by_predictor = ["predictor"]
        self.requests = Counter(
            "byom_model_requests",
            "Model calls (HTTP requests or Python-model batches), by outcome",
            ["predictor", "outcome"],
            registry=registry,
        )
        self.rows = Counter(
            "byom_model_rows", "Input rows sent to models", by_predictor, registry=registry
        )
        self.errors = Counter(
            "byom_model_errors", "Model calls that failed", by_predictor, registry=registry
        )
        self.retries = Counter(
            "byom_model_retries", "Retried attempts of model calls", by_predictor, registry=registry
        )
        self.latency = Histogram(
            "byom_model_latency_seconds",
            "Time of a model call, retries included",
            by_predictor,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.connections = Gauge(
            "byom_wire_connections", "Wire clients connected now", registry=registry
        )
        self.connections_opened = Counter(
            "byom_wire_connections_opened", "Wire client sessions started", registry=registry
        )
        self.queries = Counter(
            "byom_wire_queries",
            "Statements wire clients ran (Query and Execute messages)",
            registry=registry,
        )
        self._server: tuple[WSGIServer, threading.Thread] | None = None
        calls.listen(self.observe)

    def observe(self, call: Call) -> None:
        predictor = call.predictor
        self.requests.labels(predictor, "error" if call.error else "ok").inc()
        self.rows.labels(predictor).inc(call.rows)
        if call.error:
            self.errors.labels(predictor).inc()
        if call.retries:
            self.retries.labels(predictor).inc(call.retries)
        self.latency.labels(predictor).observe(call.latency_ms / 1000)

    def connected(self) -> None:
        self.connections.inc()
        self.connections_opened.inc()

    def disconnected(self) -> None:
        self.connections.dec()

    def serve(self, host: str, port: int) -> None:
        """Answer GET /metrics on host:port, in a thread of its own."""
        self._server = start_http_server(port, addr=host, registry=self.registry)

    def close(self) -> None:
        if self._server is not None:
            server, thread = self._server
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            self._server = None
