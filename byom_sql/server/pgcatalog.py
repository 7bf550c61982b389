"""pg_catalog, information_schema, SET/SHOW and friends for Postgres clients (stub).

`intercept(state, sql)` is called by the session for every statement of a simple Query and for
every Parse, before the engine sees the text, in the session's worker thread (it may use
`state.conn` to query DuckDB). It returns None to let the engine run the statement, or an
InterceptResult (rows or a command tag to send, or SQL to run instead).

It may be called more than once for the same text (at Parse to describe the statement, then at
each Execute), so anything it changes in `state` must be idempotent. Transaction statements
(BEGIN, COMMIT, ROLLBACK …) are handled by the session and never reach it.
"""

from __future__ import annotations

from byom_sql.server.state import InterceptResult, SessionState


def intercept(state: SessionState, sql: str) -> InterceptResult | None:
    """The answer for a statement DuckDB cannot run as a Postgres client means it, or None."""
    return None
