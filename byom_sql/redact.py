"""Keep credentials out of error messages and logs.

Secrets of attached databases are remembered here when they are used, and every DuckDB error
message goes through `redact` (see duckdb_errors.py): a driver that echoes a connection string
must not show a password to a user, a log file or a network client. sqlglot's log records,
which quote statement text, are filtered the same way.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "********"
SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "credential", "api_key", "apikey")

_known: set[str] = set()
_lock = threading.Lock()
# password=xyz, passwd = 'x y', PASSWORD 'it''s': the forms drivers and DuckDB print
_ASSIGNED = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd)(?:\s*=\s*|\s+(?=')))"
    r"(?P<value>'(?:[^']|'')*'|\"[^\"]*\"|[^\s,;)\"']+)",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """`password`, `api_token` … hold secrets; `password_env` names a variable, it is not one."""
    key = key.lower()
    return not key.endswith("_env") and any(word in key for word in SECRET_WORDS)


def remember(secret: str) -> None:
    if secret:
        with _lock:
            _known.add(secret)


def redact(text: str) -> str:
    """`text` with every remembered secret and every `password=…` value masked."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    return _ASSIGNED.sub(lambda m: m.group("key") + MASK, text)


class RedactingFilter(logging.Filter):
    """Masks secrets in log records of a library that echoes statement text: sqlglot logs
    `'CREATE SECRET … PASSWORD …' contains unsupported syntax` as a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


logging.getLogger("sqlglot").addFilter(RedactingFilter())
