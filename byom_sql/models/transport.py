"""HTTP to model endpoints: one keep-alive httpx client per engine, shared by a thread pool.

Callers (query threads) encode and decode; they hand finished bodies to `submit`, which returns
a concurrent Future, so a query keeps several requests in flight while it encodes the next batch
and the wire server's event loop never waits on a model. (A synchronous client in a pool costs
half of what an asyncio client on a loop thread costs per call.) Retries (connect errors, 429, 502,
503, 504, honouring Retry-After, exponential backoff with jitter) happen here; httpx's
exceptions are translated here and nowhere else.
"""

from __future__ import annotations

import concurrent.futures
import email.utils
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from byom_sql.errors import ModelProtocolError, ModelUnavailable, QueryCanceled

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_BACKOFF = 10.0


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    url: str


@dataclass(frozen=True)
class Policy:
    """How hard to try: from the predictor's USING options and the engine's defaults."""

    timeout: float = 60.0
    retries: int = 3
    label: str = "model"  # names the caller in errors: "predictor byom"
    cancelled: threading.Event | None = None  # the statement's cancel flag


class Transport:
    def __init__(self, max_connections: int = 64) -> None:
        self._max = max_connections
        self._client: httpx.Client | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, request: Request, policy: Policy) -> concurrent.futures.Future[Reply]:
        return self._start().submit(self._send, request, policy)

    def call(self, request: Request, policy: Policy) -> Reply:
        """Send and wait, giving up when the policy's `cancelled` event is set."""
        return wait(self.submit(request, policy), policy.cancelled)

    def close(self) -> None:
        with self._lock:
            pool, client = self._pool, self._client
            self._pool = self._client = None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if client is not None:
            client.close()

    def _start(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                limits = httpx.Limits(
                    max_connections=self._max, max_keepalive_connections=self._max
                )
                # identity: compressed replies cost more CPU than they save on a local network
                self._client = httpx.Client(
                    limits=limits,
                    follow_redirects=True,
                    headers={"Accept-Encoding": "identity"},
                    trust_env=False,
                )
                self._pool = concurrent.futures.ThreadPoolExecutor(self._max, "byom-http")
            return self._pool

    def _send(self, request: Request, policy: Policy) -> Reply:
        client = self._client
        assert client is not None
        timeout = httpx.Timeout(policy.timeout, connect=min(policy.timeout, 10.0))
        for attempt in range(policy.retries + 1):
            last = attempt == policy.retries
            try:
                response = client.request(
                    request.method,
                    request.url,
                    content=request.body,
                    headers=request.headers,
                    timeout=timeout,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                if last:
                    raise ModelUnavailable(
                        f"{policy.label}: cannot reach {request.url} "
                        f"({_reason(exc)}, {attempt + 1} attempt{'s' * bool(attempt)})",
                        hint="is the model server running at that address?",
                    ) from None
                _pause(_backoff(attempt), policy)
                continue
            except httpx.TimeoutException:
                raise ModelUnavailable(
                    f"{policy.label}: {request.url} did not answer within {policy.timeout:g} s",
                    hint="raise USING timeout = <seconds>, or lower batch_size",
                ) from None
            except httpx.HTTPError as exc:
                raise ModelProtocolError(f"{policy.label}: {request.url}: {_reason(exc)}") from None
            if response.status_code in RETRY_STATUSES and not last:
                _pause(_retry_after(response) or _backoff(attempt), policy)
                continue
            return Reply(
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                body=response.content,
                url=request.url,
            )
        raise AssertionError("unreachable")


def _pause(seconds: float, policy: Policy) -> None:
    """Sleep before a retry, unless the statement is cancelled meanwhile."""
    if policy.cancelled is None:
        time.sleep(seconds)
    elif policy.cancelled.wait(seconds):
        raise QueryCanceled("canceling statement due to user request")


def wait(future: concurrent.futures.Future[T], cancelled: threading.Event | None) -> T:
    """The future's result, polling `cancelled` so a query can be interrupted mid-call."""
    while True:
        try:
            return future.result(timeout=0.05)
        except concurrent.futures.TimeoutError:
            if cancelled is not None and cancelled.is_set():
                future.cancel()
                raise QueryCanceled("canceling statement due to user request") from None


def _backoff(attempt: int) -> float:
    return random.uniform(0, min(MAX_BACKOFF, 0.1 * 2**attempt))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return min(float(value), MAX_BACKOFF)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return min(max(moment - time.time(), 0.0), MAX_BACKOFF)


def _reason(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return text.splitlines()[0][:200]
