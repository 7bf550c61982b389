"""Keep credentials out of error messages and logs: one function, `redact`, applied at the
logging boundary (every record of byom_sql and the libraries it drives) and to every DuckDB
error message (duckdb_errors.py).

It masks the secrets the engine knows (remembered when they are stored or used) and anything
that looks like one in statement text, so that a failed `CREATE DATABASE … {"password": "…"}`
or `USING headers = {"Authorization": "Bearer …"}` is logged without it.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from typing import Any

MASK = "********"
SECRET_WORDS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "credential",
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "cookie",
)
LOGGERS = ("byom_sql", "sqlglot", "httpx", "httpcore", "asyncio", "root")
"""Loggers whose records are redacted (the root logger included)."""

_known: set[str] = set()
_lock = threading.Lock()
_WORD = "|".join(re.escape(w) for w in SECRET_WORDS)
# password=xyz, passwd = 'x y', PASSWORD 'it''s': the forms drivers and DuckDB print
_ASSIGNED = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd)(?:\s*=\s*|\s+(?=')))"
    r"(?P<value>'(?:[^']|'')*'|\"[^\"]*\"|[^\s,;)\"']+)",
    re.IGNORECASE,
)
# "password": "x", 'api_key': 'y', "X-Api-Key": "z": JSON and Python reprs of secrets
_PAIR = re.compile(
    rf"(?P<key>([\"'])[^\"']*(?:{_WORD})[^\"']*\2\s*:\s*)(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*')",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<key>\b(?:Bearer|Basic|Token)\s+)(?P<value>[A-Za-z0-9._~+/=-]{4,})")
_HEADERS = re.compile(r"\bheaders\s*[=:]\s*\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}", re.IGNORECASE)
_STRING_VALUE = re.compile(r"(?P<key>:\s*)(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*')")
_SECRET_VALUE = re.compile(r"(?P<key>\bVALUE\s*=?\s*)(?P<value>'(?:[^']|'')*')", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    """`password`, `api_token` … hold secrets; `password_env` and `password_secret` name where
    one is, they are not one."""
    key = key.lower()
    return not key.endswith(("_env", "_secret")) and any(word in key for word in SECRET_WORDS)


def remember(secret: str) -> None:
    if secret:
        with _lock:
            _known.add(secret)


def redact(text: str) -> str:
    """`text` with every remembered secret and everything that looks like one masked."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    text = _HEADERS.sub(lambda m: _STRING_VALUE.sub(_masked, m.group(0)), text)
    if re.search(r"\bSECRET\b", text, re.IGNORECASE):
        text = _SECRET_VALUE.sub(_masked, text)
    for pattern in (_ASSIGNED, _PAIR, _BEARER):
        text = pattern.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('key')}{quote}{MASK}{quote}"


def _redact_record(record: logging.LogRecord) -> None:
    message = record.getMessage()
    redacted = redact(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())


def _install() -> None:
    """Redact each record as it is made, before any handler (ours or the embedding
    program's) formats it."""
    make = logging.getLogRecordFactory()
    if getattr(make, "byom_sql_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if record.name.split(".", 1)[0] in LOGGERS:
            _redact_record(record)
        return record

    factory.byom_sql_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install()
