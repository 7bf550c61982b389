"""The session interface: what statement handlers and executors may use of a connection.

A handler gets exactly this, never the engine or the Connection, so what a statement can touch
is visible here: the catalog, the attached databases, the engine's settings, the model transport
and Python runtime, the session's DuckDB cursor and cancel flag.
"""

from __future__ import annotations

import threading
from typing import Protocol

import duckdb

from byom_sql.catalog import Catalog
from byom_sql.config import EngineConfig
from byom_sql.databases.attachments import Attachments
from byom_sql.models.calls import CallLog
from byom_sql.models.python import PythonRuntime
from byom_sql.models.transport import Transport
from byom_sql.planning.plan import Plans
from byom_sql.planning.planner import Schema
from byom_sql.result import Progress


class Session(Protocol):
    catalog: Catalog
    attachments: Attachments
    config: EngineConfig
    transport: Transport
    python: PythonRuntime
    calls: CallLog
    """The engine's log of model calls (mindsdb.model_calls)."""
    cursor: duckdb.DuckDBPyConnection
    """The session's own DuckDB cursor: its transaction and temporary relations."""
    cancel: threading.Event
    """Set when the running statement is to stop (57014)."""
    trusted: bool
    """The embedding program itself, not a network client."""
    schema: Schema
    """Predictor names and relation columns, as planning asks for them."""
    plans: Plans
    """Plans of the session's Direct statements, by text."""

    def report(self, progress: Progress) -> None:
        """Tell the front door how scoring goes."""
        ...
