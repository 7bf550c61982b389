"""A small HTTP/1.1 server core for model endpoints: `byom-sql serve-model`, the demo's model, the
tests' model server and the benchmarks' all answer through it.

A handler is a plain function of a `Request` to a `Response`, run in the connection's own thread,
so it may block (a model), sleep, stream a body that never ends, or drop the connection. The
core speaks only what model clients need: keep-alive, Content-Length or chunked replies, no
request bodies beyond Content-Length. Header parsing is minimal on purpose: http.server's costs
more than the model in the benchmarks.

    server = HttpServer(lambda request: json_response({"ok": True})).start()
    server.url  # http://127.0.0.1:<port>
    server.stop()
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("byom_sql.serving")

JSON = "application/json"
MAX_HEADER = 64 * 1024
REASONS = {
    200: "OK",
    307: "Temporary Redirect",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # as sent: path and query
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path.rstrip("/") or "/"

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        """The body as JSON; BadRequest when it is not."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise BadRequest(f"the body is not JSON: {exc}") from None


@dataclass
class Response:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    """Bytes, or chunks written as they come (with `length`, or else chunked)."""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None  # of a streamed body, when known


DROP = Response(status=0)
"""Close the connection without answering (a crashed or overloaded server)."""


class BadRequest(Exception):
    """A request the handler cannot read: answered 400 with the message."""


def json_response(
    value: Any, status: int = 200, dumps: Callable[[Any], bytes] | None = None
) -> Response:
    data = dumps(value) if dumps else json.dumps(value).encode()
    return Response(status, data)


Handler = Callable[[Request], Response]


class HttpServer:
    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0):
        self.handler = handler
        self._tcp = _TCPServer((host, port), _Connection)
        self._tcp.app = self
        self.host, self.port = str(self._tcp.server_address[0]), int(self._tcp.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> HttpServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._tcp.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until `stop` (from another thread) or KeyboardInterrupt."""
        try:
            self._tcp.serve_forever()
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        if self._thread is not None:
            self._tcp.shutdown()
            self._thread.join()
        self._tcp.server_close()

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 resets connections when many clients call at once
    app: HttpServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that give up (cancelled or timed-out queries) are expected: stay quiet."""


class _Connection(socketserver.StreamRequestHandler):
    server: _TCPServer

    def setup(self) -> None:
        super().setup()
        # headers and body in one segment: without it the client's delayed ACK adds ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            while (request := self._read()) is not None:
                response = self._respond(request)
                if response is DROP:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._write(response)
                if request.headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, TimeoutError, OSError):
            return  # the client went away

    def _read(self) -> Request | None:
        line = self.rfile.readline(MAX_HEADER)
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            return None
        headers: dict[str, str] = {}
        while (header := self.rfile.readline(MAX_HEADER)) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        return Request(parts[0].upper(), parts[1], headers, body)

    def _respond(self, request: Request) -> Response:
        try:
            return self.server.app.handler(request)
        except BadRequest as exc:
            return json_response({"error": str(exc)}, 400)
        except Exception as exc:  # noqa: BLE001 - a model server answers, it does not die
            log.exception("%s %s failed", request.method, request.target)
            return json_response({"error": f"{type(exc).__name__}: {exc}"}, 500)

    def _write(self, response: Response) -> None:
        head = [f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Status')}"]
        head.append(f"Content-Type: {response.content_type}")
        head += [f"{k}: {v}" for k, v in response.headers.items()]
        body = response.body
        if isinstance(body, bytes | bytearray):
            head.append(f"Content-Length: {len(body)}")
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            return
        chunked = response.length is None
        head.append(
            "Transfer-Encoding: chunked" if chunked else f"Content-Length: {response.length}"
        )
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        for chunk in body:
            if chunked:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            else:
                self.wfile.write(chunk)
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
