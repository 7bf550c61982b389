"""HTTP to model endpoints: a thread pool whose threads each keep their own keep-alive
connections.

Callers (query threads) encode and decode; they hand finished bodies to `submit`, which returns
a concurrent Future, so a query keeps several requests in flight while it encodes the next batch
and the wire server's event loop never waits on a model. (A synchronous client in a pool costs
half of what an asyncio client on a loop thread costs per call.) Each pool thread sends through
its own httpx transport: one shared pool of connections is scanned whole, under one lock, twice
per request, which under load cost more than the request. No cookies are kept: a model server's
cookie must not travel to another session's calls. Retries (connect errors, 429, 502, 503, 504,
honouring Retry-After, exponential backoff with jitter) happen here; httpx's exceptions are
translated here and nowhere else.

Every attempt is bounded: `timeout` covers it from connecting to the reply's last byte (a reply
that never ends or drips a byte at a time is cut off), the reply may not exceed
`max_reply_bytes`, and each hop, redirects included (followed only when the engine allows), goes
only to a host the engine's ModelHosts allows.
"""

from __future__ import annotations

import concurrent.futures
import email.utils
import heapq
import itertools
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import httpx

from byom_sql.config import DEFAULTS
from byom_sql.errors import ModelError, ModelProtocolError, ModelUnavailable, QueryCanceled
from byom_sql.models.hosts import ModelHosts

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
MAX_BACKOFF = 10.0
KEEPALIVE_PER_THREAD = 4  # origins a pool thread keeps a connection open to
# identity: compressed replies cost more CPU than they save on a local network
HEADERS = {"Accept": "*/*", "Accept-Encoding": "identity", "User-Agent": "byom-sql"}


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
    location: str | None = None  # of a redirect
    retry_after: float | None = None  # seconds, from a 429 or 503
    trace: tuple[int | None, ...] = ()
    """The status of every attempt, this one last (None: no reply); the call log reads it."""
    json_length: int | None = None
    """Inference-Header-Content-Length: the JSON head of a binary tensor reply."""


@dataclass(frozen=True)
class Policy:
    """How hard to try: from the predictor's USING options and the engine's defaults."""

    timeout: float = DEFAULTS.timeout
    """Seconds one attempt may take, from connecting to the last byte of the reply."""
    retries: int = DEFAULTS.retries
    max_reply_bytes: int = DEFAULTS.max_reply_bytes
    label: str = "model"  # names the caller in errors: "predictor byom"
    cancelled: threading.Event | None = None  # the statement's cancel flag
    opaque: bool = False
    """A network client caused the call: say only that the endpoint failed, not whether the
    port was closed, reset or silent (that would make the server a port scanner)."""


class Transport:
    def __init__(
        self,
        max_connections: int = 64,
        hosts: ModelHosts | None = None,
        follow_redirects: bool = False,
    ) -> None:
        self._max = max_connections
        self.hosts = hosts or ModelHosts()
        self.follow_redirects = follow_redirects
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._local = threading.local()  # .http: the pool thread's own httpx transport
        self._https: list[httpx.HTTPTransport] = []  # every thread's, to close
        self._tls: ssl.SSLContext | None = None  # one for all: each costs ~0.5 MB of CA store
        self._closed = False
        self._lock = threading.Lock()

    def submit(self, request: Request, policy: Policy) -> concurrent.futures.Future[Reply]:
        return self._start().submit(self._send, request, policy)

    def call(self, request: Request, policy: Policy) -> Reply:
        """Send and wait, giving up when the policy's `cancelled` event is set."""
        return wait(self.submit(request, policy), policy.cancelled)

    def close(self) -> None:
        """For good: a call still retrying gets no new connection after this."""
        with self._lock:
            self._closed = True
            pool, https = self._pool, self._https
            self._pool, self._https = None, []
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        for http in https:
            http.close()

    def _start(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self._max, "byom-http")
            return self._pool

    def _http(self) -> httpx.HTTPTransport:
        """This pool thread's transport: it sends one request at a time, so its pool holds a
        connection per origin it talks to, no more."""
        if self._closed:
            raise ModelUnavailable("the engine was closed while a model call was under way")
        http: httpx.HTTPTransport | None = getattr(self._local, "http", None)
        if http is None:
            limits = httpx.Limits(
                max_connections=KEEPALIVE_PER_THREAD,
                max_keepalive_connections=KEEPALIVE_PER_THREAD,
            )
            with self._lock:
                if self._tls is None:
                    self._tls = httpx.create_ssl_context()
                http = httpx.HTTPTransport(verify=self._tls, limits=limits)
                self._https.append(http)
            self._local.http = http
        return http

    def _send(self, request: Request, policy: Policy) -> Reply:
        trace: list[int | None] = []
        try:
            for attempt in range(policy.retries + 1):
                last = attempt == policy.retries
                try:
                    reply = self._attempt(request, policy)
                except ModelError:  # late, too large, a redirect: not worth another attempt
                    trace.append(None)
                    raise
                except _Retryable as failure:
                    trace.append(None)
                    if last:
                        tries = f"{attempt + 1} attempt{'s' * bool(attempt)}"
                        raise _unavailable(
                            policy,
                            f"cannot reach {request.url} ({failure}, {tries})",
                            "is the model server running at that address?",
                        ) from None
                    _pause(_backoff(attempt), policy)
                    continue
                trace.append(reply.status)
                if reply.status in RETRY_STATUSES and not last:
                    _pause(reply.retry_after or _backoff(attempt), policy)
                    continue
                return replace(reply, trace=tuple(trace))
        except ModelError as error:
            error.trace = tuple(trace)
            raise
        raise AssertionError("unreachable")

    def _attempt(self, request: Request, policy: Policy) -> Reply:
        """One request, redirects followed when allowed, within `policy.timeout` in all."""
        deadline = time.monotonic() + policy.timeout
        for _ in range(MAX_REDIRECTS + 1):
            self.hosts.check(request.url, policy.label)
            reply = self._exchange(request, policy, deadline)
            location = reply.location
            if reply.status not in REDIRECT_STATUSES or location is None:
                return reply
            if not self.follow_redirects:
                raise ModelProtocolError(
                    f"{policy.label}: {request.url} answered {reply.status}, a redirect to "
                    f"{location}, and redirects are not followed",
                    hint="give the final address as the URL",
                )
            request = _redirected(request, reply.status, location)
        raise ModelProtocolError(f"{policy.label}: more than {MAX_REDIRECTS} redirects")

    def _exchange(self, request: Request, policy: Policy, deadline: float) -> Reply:
        remaining = max(deadline - time.monotonic(), 0.001)
        timeout = httpx.Timeout(remaining, connect=min(remaining, 10.0))
        try:
            sent = httpx.Request(
                request.method,
                request.url,
                content=request.body,
                headers={**HEADERS, **request.headers},
                extensions={"timeout": timeout.as_dict()},
            )
            http = self._http()
            response = http.handle_request(sent)
            watch = _WATCHDOG.watch(deadline, response.close)
            try:
                body = _read(response, policy, deadline, request.url)
            finally:
                _WATCHDOG.cancel(watch)
                response.close()
                if self._closed:  # closed meanwhile: this connection is not to outlive it
                    http.close()
            headers = response.headers
            return Reply(
                status=response.status_code,
                content_type=headers.get("content-type", ""),
                body=body,
                url=request.url,
                location=headers.get("location"),
                retry_after=_retry_after(headers.get("retry-after")),
                json_length=_json_length(headers.get("inference-header-content-length")),
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _Retryable(_reason(exc)) from None
        except httpx.RemoteProtocolError as exc:
            if time.monotonic() >= deadline:
                raise _late(policy, request.url) from None
            raise _Retryable(_reason(exc)) from None
        except (httpx.TimeoutException, httpx.StreamClosed, httpx.ReadError):
            if time.monotonic() >= deadline - 0.01:
                raise _late(policy, request.url) from None
            raise _Retryable("the connection was reset") from None
        except httpx.HTTPError as exc:
            raise _unavailable(policy, f"{request.url}: {_reason(exc)}", None) from None


class _Watchdog:
    """One thread that closes the replies still open at their deadline, so a reply that never
    ends is cut off (a timer thread per request would cost more than a fast model call). It
    wakes only when a new deadline comes before the ones it waits for, and a cancelled watch
    lets go of its reply at once."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._due: list[tuple[float, int]] = []  # (deadline, id): a heap, cancelled ids too
        self._actions: dict[int, Callable[[], None]] = {}  # id → what to do, until cancelled
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, action: Callable[[], None]) -> int:
        with self._wake:
            ident = next(self._ids)
            earliest = not self._due or deadline < self._due[0][0]
            heapq.heappush(self._due, (deadline, ident))
            self._actions[ident] = action
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="byom-watchdog")
                self._thread.daemon = True
                self._thread.start()
            if earliest:
                self._wake.notify()
        return ident

    def cancel(self, ident: int) -> None:
        with self._wake:
            self._actions.pop(ident, None)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due:
                    self._wake.wait()
                deadline, ident = self._due[0]
                if ident not in self._actions:
                    heapq.heappop(self._due)
                    continue
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._due)
                action = self._actions.pop(ident)
            try:
                action()
            except Exception:  # noqa: BLE001 - closing a reply must not end the watchdog
                pass


_WATCHDOG = _Watchdog()


class _Retryable(Exception):
    """A failure worth another attempt: no connection, or one dropped before the reply."""


def _read(response: httpx.Response, policy: Policy, deadline: float, url: str) -> bytes:
    """The reply body, no longer than max_reply_bytes (decompressed: a small gzip bomb counts
    at its full size) and no later than the deadline."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > policy.max_reply_bytes:
            raise ModelProtocolError(
                f"{policy.label}: {url} replied with more than {policy.max_reply_bytes} bytes",
                hint="raise USING max_reply_bytes, or lower batch_size",
            )
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("deadline")
        chunks.append(chunk)
    return b"".join(chunks)


def _late(policy: Policy, url: str) -> ModelUnavailable:
    return _unavailable(
        policy,
        f"{url} did not answer within {policy.timeout:g} s",
        "raise USING timeout = <seconds>, or lower batch_size",
    )


def _unavailable(policy: Policy, detail: str, hint: str | None) -> ModelUnavailable:
    if policy.opaque:
        return ModelUnavailable(f"{policy.label}: the model endpoint failed")
    return ModelUnavailable(f"{policy.label}: {detail}", hint=hint)


def _redirected(request: Request, status: int, location: str) -> Request:
    url = str(httpx.URL(request.url).join(location))
    if status == 303 or (status in (301, 302) and request.method == "POST"):
        return Request("GET", url, None, request.headers)  # as browsers and httpx do
    return Request(request.method, url, request.body, request.headers)


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


def _json_length(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _retry_after(value: str | None) -> float | None:
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
