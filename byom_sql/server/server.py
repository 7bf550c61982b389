"""The asyncio server: accept, negotiate TLS, authenticate, then move bytes between the socket
and the connection's Session, whose work runs in a thread of its own (DuckDB and model calls
block; the event loop never does, so one slow prediction does not hold up other clients). The
thread ends with the connection: what DuckDB and the allocators keep per thread goes with it, so
the server's memory returns towards its idle size when clients leave.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
import math
import secrets
import signal
import ssl
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from byom_sql.engine import Engine
from byom_sql.server import auth, messages
from byom_sql.server.messages import Notice
from byom_sql.server.metrics import Metrics
from byom_sql.server.session import Session
from byom_sql.server.state import SessionState

log = logging.getLogger("byom_sql.server")

CHUNK = 256 * 1024  # bytes of DataRows gathered in the worker before they are written
STARTUP_TIMEOUT = 60  # seconds to finish TLS negotiation and authentication, as Postgres
MAX_AUTH = 64 * 1024  # bytes of a password or SASL message
_STARTUP_SETTINGS = ("application_name", "datestyle", "timezone", "extra_float_digits")


class ConfigurationError(Exception):
    pass


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 55432
    users: tuple[str, ...] | None = None  # the user names accepted; None: any
    password: str | None = None  # every user's; None: trust (unless in passwords)
    passwords: Mapping[str, str] = field(default_factory=dict)  # per user, over `password`
    auth_method: str = "scram-sha-256"  # or "password" (cleartext); used with a password
    ssl_context: ssl.SSLContext | None = None
    require_tls: bool = False  # refuse connections that do not start TLS
    max_auth_failures: int = 5  # a minute's refusal for an address after this many; 0: off
    max_connections: int = 100
    read_only_users: frozenset[str] = frozenset()
    writers: frozenset[str] | None = None  # when given, every other user only reads
    max_message_bytes: int = messages.MAX_MESSAGE  # a longer message: FATAL 54000, not buffered
    metrics_port: int | None = None  # Prometheus metrics on host:metrics_port (metrics.py)

    @property
    def authenticates(self) -> bool:
        return self.password is not None or bool(self.passwords)

    def password_of(self, user: str) -> str | None:
        return self.passwords.get(user, self.password)

    def read_only(self, user: str) -> bool:
        return user in self.read_only_users or (
            self.writers is not None and user not in self.writers
        )

    def check(self) -> None:
        if not self.authenticates and not is_loopback(self.host):
            raise ConfigurationError(
                f"refusing to listen on {self.host} without authentication: set a password "
                "(--password-env, --passwords-file) or bind a loopback address such as 127.0.0.1"
            )
        if self.require_tls and self.ssl_context is None:
            raise ConfigurationError("--require-tls needs --tls-cert and --tls-key")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Client:
    """One socket: the reader and writer, replaced when TLS starts."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_message(self) -> tuple[str, bytes]:
        # before a session: only the password exchange, whose messages are small
        kind, length = messages.message_length(await self.reader.readexactly(5), MAX_AUTH)
        return kind, await self.reader.readexactly(length)

    async def fatal(self, sqlstate: str, message: str) -> None:
        await self.send(messages.error_response(Notice("FATAL", sqlstate, message)))


class Server:
    def __init__(self, engine: Engine, config: ServerConfig):
        config.check()
        self.engine = engine
        self.config = config
        self.sessions: dict[int, tuple[int, Session]] = {}
        self._pids = itertools.count(1001)
        self._key = secrets.token_bytes(32)  # makes up SCRAM secrets for unknown users
        passwords = {config.password, *config.passwords.values()} - {None}
        # computed now: a first login must not take longer than the next ones
        self._scram = {p: auth.ScramSecret.of(p) for p in passwords if p is not None}
        self._throttle = auth.Throttle(config.max_auth_failures or None)
        self._tasks: set[asyncio.Task[None]] = set()
        self._workers: set[ThreadPoolExecutor] = set()  # sessions' threads not yet done
        self.metrics = Metrics(engine.calls) if config.metrics_port is not None else None

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._accept, self.config.host, self.config.port)
        for sock in server.sockets:
            log.info("listening on %s:%d", *sock.getsockname()[:2])
        if self.metrics is not None and self.config.metrics_port is not None:
            self.metrics.serve(self.config.host, self.config.metrics_port)
            log.info("metrics on http://%s:%d/metrics", self.config.host, self.config.metrics_port)
        return server

    async def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM, then end every session (FATAL 57P01) and return."""
        server = await self.start()
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, _resolve, stop)
        await stop
        server.close()
        await self.close()

    async def close(self) -> None:
        for _, session in list(self.sessions.values()):
            session.interrupt()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # each closed its session
        for worker in list(self._workers):  # unless cancelled while closing it: wait here
            worker.shutdown(wait=True)
        if self.metrics is not None:
            self.metrics.close()
        log.info("stopped")

    # one connection ----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(reader, writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(client)
        except asyncio.CancelledError:
            notice = Notice("FATAL", "57P01", "terminating connection due to administrator command")
            writer.write(messages.error_response(notice))
        except messages.ProtocolError as exc:
            log.warning("%s: protocol violation, closing: %s", client.peer, exc)
            writer.write(messages.error_response(Notice("FATAL", exc.sqlstate, str(exc))))
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError) as exc:
            log.debug("%s: connection lost: %s", client.peer, exc)
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, client: _Client) -> None:
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT):
                startup = await self._startup(client)
                if startup is None:
                    return
                user = startup.parameters.get("user", "")
                database = startup.parameters.get("database") or user
                if len(self.sessions) >= self.config.max_connections:
                    await client.fatal("53300", "sorry, too many clients already")
                    return
                tls = client.writer.get_extra_info("ssl_object") is not None
                if self.config.require_tls and not tls:
                    await client.fatal(
                        "28000",
                        f'no encryption: user "{user}" must connect with TLS (sslmode=require)',
                    )
                    return
                if not await self._authenticate(client, user):
                    return
        except TimeoutError:
            log.warning("%s: no startup within %d s, closing", client.peer, STARTUP_TIMEOUT)
            return
        pid, secret = next(self._pids), secrets.randbelow(2**31)
        connection = self.engine.connect(trusted=False, read_only=self.config.read_only(user))
        state = SessionState(connection, user, database, backend_pid=pid)
        for key, value in startup.parameters.items():
            if key.lower() in _STARTUP_SETTINGS:
                state.settings[key.lower()] = value
        session = Session(state.conn, state)
        worker = ThreadPoolExecutor(1, f"byom-session-{pid}")
        self._workers.add(worker)
        self.sessions[pid] = (secret, session)
        if self.metrics is not None:
            self.metrics.connected()
        log.info(
            "connection from %s: pid %d user %r database %r%s",
            client.peer,
            pid,
            user,
            database,
            " (TLS)" if tls else "",
        )
        try:
            status = b"".join(messages.parameter_status(k, v) for k, v in state.reported().items())
            await client.send(
                messages.authentication_ok()
                + status
                + messages.backend_key_data(pid, secret)
                + messages.ready_for_query("I")
            )
            await self._converse(client, session, worker)
        finally:
            del self.sessions[pid]
            if self.metrics is not None:
                self.metrics.disconnected()
            try:
                await asyncio.get_running_loop().run_in_executor(worker, session.close)
                self._workers.discard(worker)
            finally:
                worker.shutdown(wait=False)  # its thread ends now: nothing else is queued
            log.debug("pid %d: disconnected", pid)

    async def _startup(self, client: _Client) -> messages.Startup | None:
        """SSLRequest and GSSENCRequest until a StartupMessage; a CancelRequest ends here."""
        while True:
            header = await client.reader.readexactly(4)
            body = await client.reader.readexactly(messages.startup_length(header))
            packet = messages.decode_startup(body)
            if isinstance(packet, messages.SSLRequest) and self.config.ssl_context is not None:
                await client.send(b"S")
                await client.writer.start_tls(self.config.ssl_context)
            elif isinstance(packet, messages.SSLRequest | messages.GSSENCRequest):
                await client.send(b"N")
            elif isinstance(packet, messages.CancelRequest):
                self._cancel(packet)
                return None
            elif packet.version != messages.PROTOCOL_VERSION:
                await client.fatal("0A000", "unsupported frontend protocol")
                return None
            else:
                return packet

    async def _authenticate(self, client: _Client, user: str) -> bool:
        """Trust, or a password; an unknown user is asked for one too, and always fails."""
        config = self.config
        known = config.users is None or user in config.users
        if not config.authenticates:
            if not known:
                await client.fatal("28000", f'role "{user}" does not exist')
            return known
        source = client.peer.rsplit(":", 1)[0]
        wait = self._throttle.refused_for(source, time.monotonic())
        if wait:
            await client.fatal(
                "28000",
                f"too many failed authentication attempts from {source}: "
                f"try again in {math.ceil(wait)} s",
            )
            return False
        password = config.password_of(user) if known else None
        try:
            if config.auth_method == "password":
                await client.send(messages.authentication_cleartext())
                if not auth.cleartext_matches(await self._password(client), password):
                    raise auth.AuthenticationFailed("wrong password")
            else:
                exchange = auth.ScramExchange(self._secret(user, password))
                await client.send(messages.authentication_sasl([auth.MECHANISM]))
                server_first = exchange.first(await self._password(client))
                await client.send(messages.authentication_sasl_continue(server_first))
                server_final = exchange.final(await self._password(client))
                await client.send(messages.authentication_sasl_final(server_final))
        except auth.AuthenticationFailed as exc:
            self._throttle.failed(source, time.monotonic())
            log.warning("%s: authentication failed for user %r: %s", client.peer, user, exc)
            await client.fatal("28P01", f'password authentication failed for user "{user}"')
            return False
        return True

    def _secret(self, user: str, password: str | None) -> auth.ScramSecret:
        """The user's SCRAM secret, computed once; a made-up one when there is no password."""
        if password is None:
            return auth.ScramSecret.made_up(user, self._key)
        return self._scram[password]

    async def _password(self, client: _Client) -> bytes:
        kind, body = await client.read_message()
        if kind != "p":
            raise auth.AuthenticationFailed(f"expected a password message, got {kind!r}")
        return body

    def _cancel(self, request: messages.CancelRequest) -> None:
        found = self.sessions.get(request.pid)
        if found is not None and secrets.compare_digest(
            found[0].to_bytes(4, "big"), request.secret.to_bytes(4, "big", signed=True)
        ):
            log.info("pid %d: cancel requested", request.pid)
            found[1].interrupt()

    async def _converse(
        self, client: _Client, session: Session, worker: ThreadPoolExecutor
    ) -> None:
        """Read messages as they come; each batch runs in the session's worker, its output is
        written back in chunks (a large result streams with the socket's back-pressure)."""
        framer = messages.Framer(self.config.max_message_bytes)
        loop = asyncio.get_running_loop()
        while True:
            data = await client.reader.read(CHUNK)
            if not data:
                return
            batch = [messages.decode(kind, body) for kind, body in framer.feed(data)]
            if self.metrics is not None:
                self.metrics.queries.inc(
                    sum(isinstance(m, messages.Query | messages.Execute) for m in batch)
                )
            terminate = any(isinstance(m, messages.Terminate) for m in batch)
            output = _outputs(session, batch)
            while True:
                chunk, done = await loop.run_in_executor(worker, _gather, output)
                if chunk:
                    await client.send(chunk)
                if done:
                    break
            if terminate:
                return


def _outputs(session: Session, batch: list[messages.FrontendMessage]) -> Iterator[bytes]:
    for message in batch:
        if isinstance(message, messages.Terminate):
            return
        yield from session.handle(message)


def _gather(output: Iterator[bytes]) -> tuple[bytes, bool]:
    """Up to CHUNK bytes of output, and whether it is all there is."""
    parts, size = [], 0
    for part in output:
        parts.append(part)
        size += len(part)
        if size >= CHUNK:
            return b"".join(parts), False
    return b"".join(parts), True


def run(engine: Engine, config: ServerConfig) -> None:
    """Serve until SIGINT or SIGTERM."""
    asyncio.run(Server(engine, config).serve_forever())
