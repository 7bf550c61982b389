"""HTTP to model endpoints: one keep-alive httpx client per engine, on a background event loop.

Callers (query threads) encode and decode; they hand finished bodies to `submit`, which returns
a concurrent Future, so a query keeps several requests in flight while it encodes the next batch
and the wire server's event loop never waits on a model. Retries (connect errors, 429, 502,
503, 504, honouring Retry-After, exponential backoff with jitter) happen here; httpx's
exceptions are translated here and nowhere else.
"""

from __future__ import annotations

import asyncio
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


class Transport:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, request: Request, policy: Policy) -> concurrent.futures.Future[Reply]:
        loop = self._start()
        return asyncio.run_coroutine_threadsafe(self._send(request, policy), loop)

    def call(
        self, request: Request, policy: Policy, cancelled: threading.Event | None = None
    ) -> Reply:
        """Send and wait, giving up when `cancelled` is set."""
        return wait(self.submit(request, policy), cancelled)

    def close(self) -> None:
        with self._lock:
            loop, client, thread = self._loop, self._client, self._thread
            self._loop = self._client = self._thread = None
        if loop is None or client is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="byom-http", daemon=True)
                thread.start()
                self._client = asyncio.run_coroutine_threadsafe(_new_client(), loop).result()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _send(self, request: Request, policy: Policy) -> Reply:
        assert self._client is not None
        timeout = httpx.Timeout(policy.timeout, connect=min(policy.timeout, 10.0))
        for attempt in range(policy.retries + 1):
            last = attempt == policy.retries
            try:
                response = await self._client.request(
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
                await asyncio.sleep(_backoff(attempt))
                continue
            except httpx.TimeoutException:
                raise ModelUnavailable(
                    f"{policy.label}: {request.url} did not answer within {policy.timeout:g} s",
                    hint="raise USING timeout = <seconds>, or lower batch_size",
                ) from None
            except httpx.HTTPError as exc:
                raise ModelProtocolError(f"{policy.label}: {request.url}: {_reason(exc)}") from None
            if response.status_code in RETRY_STATUSES and not last:
                await asyncio.sleep(_retry_after(response) or _backoff(attempt))
                continue
            return Reply(
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                body=response.content,
                url=request.url,
            )
        raise AssertionError("unreachable")


def wait(future: concurrent.futures.Future[T], cancelled: threading.Event | None) -> T:
    """The future's result, polling `cancelled` so a query can be interrupted mid-call."""
    while True:
        try:
            return future.result(timeout=0.05)
        except concurrent.futures.TimeoutError:
            if cancelled is not None and cancelled.is_set():
                future.cancel()
                raise QueryCanceled("canceling statement due to user request") from None


async def _new_client() -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    # identity: compressed replies cost more CPU than they save on a local network
    return httpx.AsyncClient(
        limits=limits,
        headers={"Accept-Encoding": "identity"},
        follow_redirects=True,
        trust_env=False,
    )


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
