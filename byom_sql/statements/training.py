"""Training: read the FROM data, hand it to the train endpoint (or a Python model's `train`),
record the outcome.

The predictor row exists (status `training`) before the endpoint is called, so other sessions
see the state; it ends `complete`, or `error` with the endpoint's message.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from byom_sql.catalog import Predictor
from byom_sql.databases.sources import raw_query
from byom_sql.dialect import to_sql
from byom_sql.errors import Error, UndefinedColumn
from byom_sql.execution.direct import query_table
from byom_sql.models import trainer_for
from byom_sql.models.transport import Policy
from byom_sql.session import Session
from byom_sql.statements import python


@dataclass(frozen=True)
class Source:
    """Training data: DuckDB SQL, or a raw query in an attached database's own dialect."""

    database: str | None
    text: str

    @classmethod
    def of(cls, node: exp.Expr) -> Source | None:
        if node.args.get("database"):
            return cls(node.args["database"].name, node.args["raw_query"].this)
        if node.args.get("query"):
            return cls(None, to_sql(node.args["query"]))
        return None

    @classmethod
    def stored(cls, predictor: Predictor) -> Source | None:
        if predictor.from_query is None:
            return None
        return cls(predictor.from_database, predictor.from_query)


def train(session: Session, predictor: Predictor, source: Source) -> Predictor:
    catalog = session.catalog
    options, columns = None, None
    try:
        data = _fetch(session, source)
        _check_targets(predictor, data)
        if predictor.format == "python":
            options, columns = python.train(session, predictor, data)
        elif predictor.options.get("url.train"):
            _call_train_endpoint(session, predictor, data)
    except Error as error:
        catalog.set_status(predictor, "error", error=error.message)
        error.hint = error.hint or (
            f"predictor {predictor.name} is saved with status 'error'; fix the cause and "
            f"RETRAIN {predictor.name}"
        )
        raise
    return catalog.set_status(
        predictor,
        "complete",
        columns=columns or data.column_names,
        training_rows=data.num_rows,
        options=options,
    )


def _fetch(session: Session, source: Source) -> pa.Table:
    if source.database is None:
        return query_table(session, source.text)
    query = raw_query(session.catalog, session.attachments, source.database, source.text)
    return query_table(session, to_sql(query))


def _check_targets(predictor: Predictor, data: pa.Table) -> None:
    present = {c.lower() for c in data.column_names}
    missing = [t for t in predictor.targets if t.lower() not in present]
    if missing:
        raise UndefinedColumn(
            f"the training data has no column {missing[0]!r} to predict "
            f"(it has {', '.join(data.column_names)})"
        )


def _call_train_endpoint(session: Session, predictor: Predictor, data: pa.Table) -> None:
    trainer = trainer_for(predictor, session.transport, session.catalog.headers(predictor))
    config = session.config
    policy = Policy(
        timeout=predictor.options.get("train_timeout", config.train_timeout),
        retries=predictor.options.get("retries", config.retries),
        max_reply_bytes=predictor.options.get("max_reply_bytes", config.max_reply_bytes),
        label=f"predictor {predictor.name}",
        cancelled=session.cancel,
        opaque=not session.trusted,
    )
    reply = session.transport.call(trainer.train_request(data), policy)
    trainer.check_trained(reply)
