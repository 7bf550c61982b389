"""The Plan: what a query that reads predictors will do, as a value.

    Plan
    ├── steps, in the order they run
    │   ├── Materialize  a data source read once into a temporary table (remote ones, and
    │   │                sources whose LIMIT runs before the model)
    │   └── Predict      a predictor's distinct input rows → model calls → relation `name`
    └── final            the user's statement rewritten to read those relations

Steps and the final statement are sqlglot trees; executors copy what they change, so one Plan
can be printed (EXPLAIN), looked at (the cache, per-row errors) and run more than once.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlglot import exp

from byom_sql.catalog import Predictor
from byom_sql.config import EngineConfig
from byom_sql.dialect import to_sql
from byom_sql.sqlbuild import literal


@dataclass(frozen=True)
class Batching:
    """How a predict step calls its model: the predictor's USING options over the engine's."""

    batch_size: int
    max_concurrency: int
    timeout: float
    retries: int
    max_reply_bytes: int

    @classmethod
    def of(cls, predictor: Predictor, config: EngineConfig) -> Batching:
        options = predictor.options
        return cls(
            batch_size=options.get("batch_size", config.batch_size),
            max_concurrency=options.get("max_concurrency", config.max_concurrency),
            timeout=options.get("timeout", config.timeout),
            retries=options.get("retries", config.retries),
            max_reply_bytes=options.get("max_reply_bytes", config.max_reply_bytes),
        )


@dataclass(frozen=True)
class Materialize:
    """Rows of `query` kept in temporary table `name`, so they are read once."""

    name: str
    query: exp.Query
    remote: bool  # reads a database server

    def __str__(self) -> str:
        where = " (remote)" if self.remote else ""
        return f"Materialize {self.name}{where}:\n    {to_sql(self.query)}"


@dataclass(frozen=True)
class Predict:
    """Relation `name`: each distinct input row once, with the model's outputs.

    The input rows are `rows` (plain constants, no DuckDB needed) or the rows of `inputs`.
    With `constants`, the inputs are typed by dtype_dict and travel with the outputs (a query
    of constants has no data to join back to); otherwise the final statement joins `name` to
    the data on the features.
    """

    name: str
    predictor: Predictor
    features: tuple[str, ...]
    batching: Batching
    constants: bool
    inputs: exp.Query | None = None
    rows: tuple[tuple[Any, ...], ...] | None = None

    def __str__(self) -> str:
        p, b = self.predictor, self.batching
        url = p.options.get("url.predict") or (p.options.get("python") or {}).get("callable")
        head = (
            f"Predict {self.name}: {p.qualified_name} version {p.version} ({p.format} {url})\n"
            f"    features {', '.join(self.features)}; batches of {b.batch_size}, "
            f"{b.max_concurrency} in flight, timeout {b.timeout:g} s, {b.retries} retries"
        )
        if self.rows is not None:
            return f"{head}\n    rows {list(self.rows)}"
        assert self.inputs is not None
        return f"{head}\n    {to_sql(self.inputs)}"


Step = Materialize | Predict


@dataclass(frozen=True)
class Direct:
    """A statement whose answer is its one predict step's rows as they are (`SELECT * FROM
    byom WHERE a = 1 AND b IN (2, 3)`, the online-serving case): the columns to give, as
    (column of the step's table, its alias or ""), or None for all. An executor may skip DuckDB, as
    long as every typed input equals the constant it came from (else the final statement's
    WHERE could drop it: `a = 2.5` of an integer input)."""

    columns: tuple[tuple[str, str], ...] | None


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    final: exp.Expr  # read it through statement(): it may hold a template's stand-ins
    direct: Direct | None = None
    bindings: tuple[tuple[Any, Any], ...] = ()
    """(stand-in, value) pairs of a plan made from a Template: each value goes where its
    stand-in is in `final`, only when the final statement is wanted (the Direct answer of an
    online prediction needs none: copying the tree was most of that call's planning cost)."""

    def statement(self) -> exp.Expr:
        """The final statement, a copy the caller may change."""
        if not self.bindings:
            return self.final.copy()
        values = _values(self.bindings)

        def put(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Literal):
                value: Any = node.this if node.is_string else _number(node.this)
                if _key(value) in values:
                    return literal(values[_key(value)])
            return node

        return self.final.transform(put)

    @property
    def materializations(self) -> list[Materialize]:
        return [s for s in self.steps if isinstance(s, Materialize)]

    @property
    def predictions(self) -> list[Predict]:
        return [s for s in self.steps if isinstance(s, Predict)]

    def __str__(self) -> str:
        final = f"Final:\n    {to_sql(self.statement())}"
        if self.direct is not None:
            final += "\n    (answered by the predictions as they are, unless an input changed type)"
        return "\n".join([*(str(s) for s in self.steps), final])


STAND_IN_BASE = 7_340_000_000_000_000_000
"""Integer parameters are planned with stand-ins from here on: values no query holds."""


def stand_ins(params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Values to plan a statement's parameters with, one unique value of each parameter's own
    type; None when a type cannot have one (only integers and strings are stood in for)."""
    out: list[Any] = []
    for index, value in enumerate(params):
        if type(value) is int:
            out.append(STAND_IN_BASE + index)
        elif type(value) is str:
            out.append(f"\x01byom parameter {index}\x01")
        else:
            return None
    return tuple(out)


@dataclass(frozen=True)
class Template:
    """The Direct plan of a statement with parameters, planned once with stand-in values for
    them: each call puts its own values where the stand-ins are, instead of planning again."""

    plan: Plan
    stand_ins: tuple[Any, ...]

    @classmethod
    def of(cls, plan: Plan, stand_ins: tuple[Any, ...]) -> Template | None:
        """A template, when the plan is one predict step of constant rows holding every
        stand-in (a parameter used elsewhere, as in LIMIT $1, needs a plan of its own)."""
        steps = plan.predictions
        if plan.direct is None or len(plan.steps) != 1 or len(steps) != 1:
            return None
        rows = steps[0].rows
        found = {_key(v) for row in rows or () for v in row}
        if rows is None or not all(_key(v) in found for v in stand_ins):
            return None
        return cls(plan, stand_ins)

    def bound(self, params: Sequence[Any]) -> Plan | None:
        """The plan for these values; None when two rows would be the same (the planner
        keeps distinct rows only: plan them afresh)."""
        bindings = tuple(zip(self.stand_ins, params, strict=True))
        values = _values(bindings)
        (step,) = self.plan.predictions
        assert step.rows is not None
        rows = tuple(tuple(values.get(_key(v), v) for v in row) for row in step.rows)
        if len({tuple(_key(v) for v in row) for row in rows}) != len(rows):
            return None
        return replace(self.plan, steps=(replace(step, rows=rows),), bindings=bindings)


def _key(value: Any) -> tuple[type, Any]:
    return type(value), value


def _values(bindings: tuple[tuple[Any, Any], ...]) -> dict[tuple[type, Any], Any]:
    """Each value by the key of its stand-in."""
    return {_key(stand_in): value for stand_in, value in bindings}


def _number(text: str) -> Any:
    return int(text) if text.lstrip("-").isdigit() else text


class Plans:
    """A session's plans of Direct statements by text (and of templates, by text and parameter
    types), so the online-serving case plans once: forgotten whenever the engine's names may
    have changed (`version` moves on)."""

    def __init__(self, size: int, version: Callable[[], int]):
        self._size, self._version = size, version
        self._plans: collections.OrderedDict[str, Plan | Template | None] = (
            collections.OrderedDict()
        )
        self._seen = version()

    def template(self, sql: str, params: Sequence[Any]) -> Template | None | bool:
        """The statement's template for parameters of these types; False when none was
        made yet, None when it cannot have one."""
        key = self._template_key(sql, params)
        if key not in self._current():
            return False
        found = self._plans[key]
        assert found is None or isinstance(found, Template)
        self._plans.move_to_end(key)
        return found

    def keep_template(self, sql: str, params: Sequence[Any], template: Template | None) -> None:
        self._remember(self._template_key(sql, params), template)

    @staticmethod
    def _template_key(sql: str, params: Sequence[Any]) -> str:
        return f"{sql}\x00{','.join(type(p).__name__ for p in params)}"

    def _current(self) -> collections.OrderedDict[str, Plan | Template | None]:
        if self._version() != self._seen:
            self._plans.clear()
            self._seen = self._version()
        return self._plans

    def _remember(self, key: str, value: Plan | Template | None) -> None:
        if self._version() != self._seen:
            return
        self._plans[key] = value
        if len(self._plans) > self._size:
            self._plans.popitem(last=False)

    def get(self, sql: str) -> Plan | None:
        plan = self._current().get(sql)
        if not isinstance(plan, Plan):
            return None
        self._plans.move_to_end(sql)
        return plan

    def keep(self, sql: str, plan: Plan) -> None:
        if plan.direct is not None:
            self._remember(sql, plan)
