"""Password checks for wire clients: cleartext and SCRAM-SHA-256 (RFC 5802/7677), pure.

SCRAM is done by hand because libpq sends an empty user name (`n=`) in client-first (the user
is the startup packet's), which scramp's server side rejects. No channel binding.

An unknown user goes through the same exchange as a known one, against a made-up secret (as
PostgreSQL does), so neither the answer nor its timing tells which user names exist; a source
that keeps failing is refused for a while (`Throttle`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass

MECHANISM = "SCRAM-SHA-256"
ITERATIONS = 4096


class AuthenticationFailed(Exception):
    pass


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class ScramSecret:
    """What the server keeps of a password: salt, iterations, StoredKey, ServerKey."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def of(cls, password: str, iterations: int = ITERATIONS) -> ScramSecret:
        salt = secrets.token_bytes(16)
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
        stored = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
        return cls(salt, iterations, stored, _hmac(salted, b"Server Key"))

    @classmethod
    def made_up(cls, user: str, key: bytes) -> ScramSecret:
        """A secret no password matches, the same for a user name at every attempt (a salt
        that changed would tell the name is unknown)."""
        name = user.encode()
        return cls(
            _hmac(key, b"salt " + name)[:16],
            ITERATIONS,
            _hmac(key, b"stored " + name),
            _hmac(key, b"server " + name),
        )


def _attributes(message: str) -> dict[str, str]:
    try:
        return dict(part.split("=", 1) for part in message.split(","))
    except ValueError:
        raise AuthenticationFailed("malformed SCRAM message") from None


class ScramExchange:
    """Server side of one SCRAM-SHA-256 exchange: client-first → server-first, client-final →
    server-final, raising AuthenticationFailed on a bad message or a wrong proof."""

    def __init__(self, secret: ScramSecret):
        self.secret = secret
        self._nonce = ""
        self._client_first_bare = ""
        self._server_first = ""

    def first(self, initial_response: bytes) -> bytes:
        """SASLInitialResponse body (mechanism, length, client-first) → server-first."""
        end = initial_response.find(b"\x00")
        if end < 0 or initial_response[:end].decode(errors="replace") != MECHANISM:
            raise AuthenticationFailed(f"only {MECHANISM} is supported")
        (length,) = struct.unpack_from(">i", initial_response, end + 1)
        client_first = initial_response[end + 5 : end + 5 + max(length, 0)].decode()
        header, _, bare = client_first.partition(",")
        if header not in ("n", "y") or not bare.startswith(","):
            raise AuthenticationFailed("channel binding is not supported")
        self._client_first_bare = bare[1:]
        client_nonce = _attributes(self._client_first_bare).get("r")
        if not client_nonce:
            raise AuthenticationFailed("malformed SCRAM client-first message")
        self._nonce = client_nonce + _b64(secrets.token_bytes(18))
        self._server_first = (
            f"r={self._nonce},s={_b64(self.secret.salt)},i={self.secret.iterations}"
        )
        return self._server_first.encode()

    def final(self, response: bytes) -> bytes:
        """SASLResponse body (client-final) → server-final, if the proof is right."""
        client_final = response.decode(errors="replace")
        without_proof, _, proof_part = client_final.rpartition(",p=")
        attributes = _attributes(without_proof)
        if attributes.get("r") != self._nonce or not proof_part:
            raise AuthenticationFailed("SCRAM nonce mismatch")
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        signature = _hmac(self.secret.stored_key, auth_message)
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise AuthenticationFailed("malformed SCRAM proof") from None
        if len(proof) != len(signature):
            raise AuthenticationFailed("malformed SCRAM proof")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.secret.stored_key):
            raise AuthenticationFailed("wrong password")
        return f"v={_b64(_hmac(self.secret.server_key, auth_message))}".encode()


def cleartext_matches(message: bytes, password: str | None) -> bool:
    """A PasswordMessage body (the password, NUL-terminated) against the expected one; None
    (an unknown user) is compared with as much work, and never matches."""
    expected = password.encode() if password is not None else secrets.token_bytes(16)
    return hmac.compare_digest(message.rstrip(b"\x00"), expected) and password is not None


class Throttle:
    """Refuses a source after `limit` failed logins within `window` seconds, until the window
    has passed since its last failure; a limit of None refuses nobody."""

    def __init__(self, limit: int | None = 5, window: float = 60.0):
        self.limit, self.window = limit, window
        self._failures: dict[str, list[float]] = {}

    def failed(self, source: str, now: float) -> None:
        recent = [t for t in self._failures.get(source, []) if now - t < self.window]
        self._failures[source] = [*recent, now]

    def refused_for(self, source: str, now: float) -> float:
        """Seconds the source must still wait; 0 when it may try."""
        recent = [t for t in self._failures.get(source, []) if now - t < self.window]
        if not recent:
            self._failures.pop(source, None)
        if self.limit is None or len(recent) < self.limit:
            return 0.0
        return self.window - (now - recent[-1])
