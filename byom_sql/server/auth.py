"""Password checks for wire clients: cleartext and SCRAM-SHA-256 (RFC 5802/7677), pure.

SCRAM is done by hand because libpq sends an empty user name (`n=`) in client-first (the user
is the startup packet's), which scramp's server side rejects. No channel binding.
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


def cleartext_matches(message: bytes, password: str) -> bool:
    """A PasswordMessage body (the password, NUL-terminated) against the expected one."""
    return hmac.compare_digest(message.rstrip(b"\x00"), password.encode())
