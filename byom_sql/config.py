"""Engine-wide settings and their defaults, in one place.

A predictor's USING options override the model-call ones (`batch_size`, `max_concurrency`,
`timeout`, `train_timeout`, `retries`); the transport's own defaults are these too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineConfig:
    batch_size: int = 10_000
    """Rows per model request."""
    max_concurrency: int = 2
    """Model requests in flight per query."""
    timeout: float = 60.0
    """Seconds a model call may take."""
    train_timeout: float = 3600.0
    """Seconds a training call may take."""
    retries: int = 3
    """Retries of a model call on connect errors, 429, 502, 503 and 504."""
    max_reply_bytes: int = 256 * 1024 * 1024
    """The largest reply a model call may give."""
    model_hosts: tuple[str, ...] | None = None
    """Where model calls may go (models/hosts.py patterns); None: anywhere. The wire server
    allows loopback addresses unless told otherwise (--allow-model-hosts)."""
    follow_redirects: bool = False
    """Follow a model endpoint's redirects (each hop checked against model_hosts)."""
    call_log_size: int = 1000
    """Model calls mindsdb.model_calls keeps (the most recent)."""
    read_only: bool = False
    """Open the database file read-only."""
    python_models: bool = True
    """Load and run Python predictors (code from the artifact store); the server turns it on
    only with --python-models."""
    debug: bool = False
    """Put the traceback of a Python model's exception in the error message."""
    memory_limit: str | None = None
    """DuckDB's memory_limit ('1GB'): past it, joins, sorts, DISTINCT and temporary tables
    spill to disk. None: DuckDB's default, 80% of the machine's memory. Engine-wide; sessions
    cannot change it."""
    external_access: bool = True
    """False: once the catalog's databases are attached, DuckDB may not touch files or load
    extensions (read_csv('/etc/passwd'), COPY, ATTACH, INSTALL fail). Irreversible for the
    engine's lifetime; the wire server sets it for network clients."""


DEFAULTS = EngineConfig()
ROWS_PER_BATCH = DEFAULTS.batch_size
"""Rows per Arrow batch read from DuckDB for a front door."""
