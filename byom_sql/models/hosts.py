"""Which hosts model calls may go to (`--allow-model-hosts`), checked for url.predict and
url.train when a predictor is made and for every request and redirect hop.

A pattern is a host name (`models.internal`), a wildcard name (`*.models.internal`), an address
(`10.1.2.3`, `::1`), a network (`10.0.0.0/8`), or `loopback`; each may end in `:port`
(`[::1]:8000`, `*:8000` for any host on that port), and `*` allows everything. A URL is allowed
when its host matches a name pattern, or when every address the name resolves to matches an
address pattern, so a name cannot smuggle a call to an address the list does not allow.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from byom_sql.errors import InsufficientPrivilege, InvalidOption

Address = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = ("127.0.0.0/8", "::1/128", "localhost")


@dataclass(frozen=True)
class Pattern:
    name: str | None  # a host name or wildcard, lower case
    network: Address | None
    port: int | None

    def allows_port(self, port: int) -> bool:
        return self.port is None or self.port == port


def parse_pattern(text: str) -> list[Pattern]:
    text = text.strip().lower()
    if not text:
        raise InvalidOption("an empty host pattern")
    if text in ("*", "any"):
        return [Pattern("*", None, None)]
    host, port = _split_port(text)
    if host == "loopback":
        return [
            p
            for name in LOOPBACK
            for p in parse_pattern(name if port is None else f"{_bracket(name)}:{port}")
        ]
    try:
        return [Pattern(None, ipaddress.ip_network(host, strict=False), port)]
    except ValueError:
        pass
    if not all(
        part and (part == "*" or part.replace("-", "").replace("_", "").isalnum())
        for part in host.split(".")
    ):
        raise InvalidOption(
            f"invalid host pattern {text!r}: give a name, *.domain, an address or a network"
        )
    return [Pattern(host, None, port)]


def _bracket(name: str) -> str:
    return f"[{name}]" if ":" in name else name


def _split_port(text: str) -> tuple[str, int | None]:
    """`host:port`, `[v6]:port`, a bare IPv6 address or network (which has colons of its own)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, _port(rest[1:], text) if rest.startswith(":") else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port, text)
    return text, None


def _port(text: str, pattern: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidOption(f"invalid port in host pattern {pattern!r}")
    return int(text)


class ModelHosts:
    """The allowed hosts; `None` allows every host (the embedding program and the CLI)."""

    def __init__(self, patterns: Iterable[str] | None = None):
        self.text = None if patterns is None else tuple(patterns)
        self.patterns = (
            None if patterns is None else [p for t in patterns for p in parse_pattern(t)]
        )

    def check(self, url: str, what: str) -> None:
        """InsufficientPrivilege unless a call to `url` is allowed; `what` names the caller."""
        if self.patterns is None:
            return
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not self._allowed(host, port):
            raise InsufficientPrivilege(
                f"{what}: calls to {host}:{port} are not allowed on this server",
                hint="the server's --allow-model-hosts lists where models may be called "
                f"(now: {', '.join(self.text or ()) or 'nowhere'})",
            )

    def _allowed(self, host: str, port: int) -> bool:
        assert self.patterns is not None
        candidates = [p for p in self.patterns if p.allows_port(port)]
        if any(p.name is not None and fnmatchcase(host, p.name) for p in candidates):
            return True
        networks = [p.network for p in candidates if p.network is not None]
        if not networks:
            return False
        addresses = _addresses(host)
        return bool(addresses) and all(any(a in n for n in networks) for a in addresses)


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
