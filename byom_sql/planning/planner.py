"""Rewrite a query that reads predictors into a `Plan`: DuckDB work plus model calls. No I/O
here: what the planner must know about the database comes through `Schema`.

For each SELECT that has predictors among its FROM/JOIN sources (innermost first):

1. `Materialize` steps copy into temporary tables the rows of a data source that must be read
   once: a remote table (with the projection and filters that only touch it), or a source whose
   LIMIT can run before the model is called.
2. A `Predict` step per predictor: its inputs yield each distinct input row once, columns named
   after the model's features; an executor sends them to the model and registers the rows plus
   predictions under the step's name.
3. The SELECT itself is rewritten to read that name instead of the predictor, joined to the data
   on the features with IS NOT DISTINCT FROM. Everything else stays for DuckDB.

The planner rewrites its own copy of the statement: the caller's tree is left as it was.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlglot import exp

from byom_sql.catalog import Predictor
from byom_sql.config import EngineConfig
from byom_sql.dialect.nodes import literal_value
from byom_sql.errors import FeatureNotSupported, UndefinedColumn
from byom_sql.planning.plan import Batching, Direct, Materialize, Plan, Predict, Step
from byom_sql.sqlbuild import cast, relation
from byom_sql.types import sql_type


class Schema(Protocol):
    """What planning asks of the database."""

    def resolve(self, table: exp.Table) -> Predictor | None: ...
    def columns(self, query: exp.Query) -> list[str]: ...
    def is_remote(self, table: exp.Table) -> bool: ...
    def outputs(self, predictor: Predictor) -> list[str]:
        """Output columns the predictor's model was seen to return, targets first."""
        ...


@dataclass
class Ref:
    """A predictor read by a SELECT: the source node and how the query names it."""

    predictor: Predictor
    source: exp.Table

    @property
    def alias(self) -> str:
        return self.source.alias_or_name

    def owns(self, name: str) -> bool:
        name = name.lower()
        outputs = {t.lower() for t in self.predictor.targets}
        features = {f.lower() for f in self.predictor.features() or []}
        return name in features or name in outputs or any(name.startswith(f"{t}_") for t in outputs)


@dataclass
class Namer:
    """Names for temporary relations, unique within a session."""

    prefix: str
    counter: Iterator[int] = field(default_factory=itertools.count)

    def __call__(self, kind: str) -> str:
        return f"__byom_{kind}_{self.prefix}_{next(self.counter)}"


@dataclass
class _Planning:
    """What planning one statement shares between its SELECTs."""

    schema: Schema
    config: EngineConfig
    namer: Namer
    steps: list[Step] = field(default_factory=list)
    stand_ins: dict[str, exp.Query] = field(default_factory=dict)
    """For each relation planned so far, a query with its columns, so that an outer SELECT can
    be described before anything runs."""

    def columns(self, query: exp.Query) -> list[str]:
        return self.schema.columns(self.describable(query))

    def describable(self, query: exp.Query) -> exp.Query:
        """`query` with the relations of earlier steps replaced by their stand-ins."""
        if not self.stand_ins:
            return query
        copied = query.copy()
        for table in list(copied.find_all(exp.Table)):
            stand_in = self.stand_ins.get(table.name)
            if stand_in is not None and not table.db:
                table.replace(stand_in.copy().subquery(table.alias_or_name))
        return copied

    def materialize(self, name: str, query: exp.Query, remote: bool) -> None:
        self.steps.append(Materialize(name, query, remote))
        self.stand_ins[name] = self.describable(query)

    def predict(self, step: Predict) -> None:
        self.steps.append(step)
        self.stand_ins[step.name] = self._predicted(step)

    def _predicted(self, step: Predict) -> exp.Query:
        """The columns an executor gives a predict step's relation: the model's outputs, then
        the inputs it did not overwrite."""
        dtypes = {k.lower(): v for k, v in step.predictor.dtype_dict.items()}

        def typed_null(name: str) -> exp.Expr:
            kind = sql_type(dtypes.get(name.lower()))
            return (cast(exp.null(), kind) if kind else exp.null()).as_(name, quoted=True)

        outputs = self.schema.outputs(step.predictor)
        taken = {o.lower() for o in outputs}
        rest = [f for f in step.features if f.lower() not in taken]
        if step.inputs is not None and not step.constants:
            inputs = self.describable(step.inputs).subquery("i")
            kept = [exp.column(f, "i", quoted=True) for f in rest]
            return exp.select(*map(typed_null, outputs), *kept).from_(inputs)
        return exp.select(*map(typed_null, outputs), *map(typed_null, rest))


def plan(statement: exp.Expr, schema: Schema, config: EngineConfig, prefix: str) -> Plan:
    """The plan of a statement that reads predictors; `prefix` makes its relation names unique
    within the session."""
    node = statement.copy()
    planning = _Planning(schema, config, Namer(prefix))
    for select, refs in predictor_scopes(node, schema.resolve):
        plan_scope(select, refs, planning)
    return Plan(tuple(planning.steps), node, _direct(node, planning.steps))


_CLAUSES = ("with_", "joins", "group", "having", "order", "limit", "offset", "distinct")
_MORE_CLAUSES = ("qualify", "windows", "laterals", "pivots", "into", "locks", "sample")


def _direct(node: exp.Expr, steps: list[Step]) -> Direct | None:
    """Whether the statement is its one constant predict step's rows as they are: a plain
    SELECT of its columns, filtered only by the constants the inputs came from."""
    if not isinstance(node, exp.Select) or len(steps) != 1:
        return None
    step = steps[0]
    if not isinstance(step, Predict) or not step.constants or not step.rows:
        return None
    if any(node.args.get(k) for k in (*_CLAUSES, *_MORE_CLAUSES)):
        return None
    source = node.args["from_"].this
    if not (isinstance(source, exp.Table) and source.name == step.name and not source.db):
        return None
    alias = source.alias_or_name
    features = set(step.features)
    constrained: set[str] = set()
    for condition in _conjuncts(node.args.get("where")):
        found = _constant_values(condition, alias)
        if found is None or found[0] not in features or found[0] in constrained:
            return None  # a second condition on an input (`a = 1 AND a = 2`): DuckDB's to judge
        constrained.add(found[0])
    columns: list[tuple[str, str]] = []
    for item in node.expressions:
        if isinstance(item, exp.Star):
            return Direct(None) if len(node.expressions) == 1 else None
        value = item.this if isinstance(item, exp.Alias) else item
        if not isinstance(value, exp.Column) or value.table not in ("", alias):
            return None
        columns.append((value.name, item.alias if isinstance(item, exp.Alias) else ""))
    return Direct(tuple(columns))


# finding predictors -------------------------------------------------------------------------


def predictor_scopes(
    root: exp.Expr, resolve: Callable[[exp.Table], Predictor | None]
) -> list[tuple[exp.Select, list[Ref]]]:
    """SELECTs reading predictors, innermost and earlier CTEs first (the order to plan them)."""
    scopes: list[tuple[exp.Select, list[Ref]]] = []
    for node in _postorder(root):
        if not isinstance(node, exp.Select):
            continue
        refs = []
        for source in _sources(node):
            if isinstance(source, exp.Table) and source.name.lower() not in _visible_ctes(node):
                predictor = resolve(source)
                if predictor is not None:
                    refs.append(Ref(predictor, source))
        if refs:
            scopes.append((node, refs))
    return scopes


def _postorder(node: exp.Expr) -> Iterator[exp.Expr]:
    children = list(node.iter_expressions())
    children.sort(key=lambda child: child.arg_key != "with_")  # CTEs before their users
    for child in children:
        yield from _postorder(child)
    yield node


def _sources(select: exp.Select) -> list[exp.Expr]:
    from_ = select.args.get("from_")
    sources = [from_.this] if from_ else []
    return sources + [join.this for join in select.args.get("joins") or []]


def _visible_ctes(node: exp.Expr) -> set[str]:
    names: set[str] = set()
    for ancestor in _with_ancestors(node):
        names.update(cte.alias_or_name.lower() for cte in ancestor.expressions)
    return names


def _with_ancestors(node: exp.Expr) -> list[exp.With]:
    withs = []
    current: exp.Expr | None = node
    while current is not None:
        with_ = current.args.get("with_")
        if isinstance(with_, exp.With):
            withs.append(with_)
        current = current.parent
    return withs[::-1]


def _with_prefix(select: exp.Select, query: exp.Select) -> exp.Select:
    """`query` with the CTEs visible from `select` (a CTE cannot see later siblings)."""
    ctes = []
    for with_ in _with_ancestors(select):
        for cte in with_.expressions:
            if cte is select or select in cte.find_all(exp.Select):
                break
            ctes.append(cte.copy())
    for cte in ctes:
        query = query.with_(cte.alias_or_name, cte.this, copy=False)
    if ctes and any(w.args.get("recursive") for w in _with_ancestors(select)):
        query.args["with_"].set("recursive", True)
    return query


# planning one SELECT ------------------------------------------------------------------------


def plan_scope(select: exp.Select, refs: list[Ref], planning: _Planning) -> None:
    data = [s for s in _sources(select) if all(s is not r.source for r in refs)]
    if not data:
        _plan_constants(select, refs, planning)
    else:
        _JoinPlanner(select, refs, data, planning).plan()


def _plan_constants(select: exp.Select, refs: list[Ref], planning: _Planning) -> None:
    """`SELECT … FROM byom WHERE a = 1 AND b IN (2, 3)`: input rows from the constants, one
    per combination; `WHERE (a = 1 AND b = 2) OR (a = 3 AND b = 4)` gives the rows of each."""
    if len(refs) > 1:
        raise FeatureNotSupported(
            "several predictors in one FROM need data: JOIN them to a table or a query",
        )
    ref = refs[0]
    where = select.args.get("where")
    if where is None:  # a preview (what GUI tools run): no rows, the predictor's columns
        _plan_preview(ref, planning)
        return
    condition = _unparen(where.this) if where else None
    groups = _disjuncts(condition) if isinstance(condition, exp.Or) else [condition]
    found = [_constant_values_of(ref, group) for group in groups]
    features = list(found[0])
    if any(list(values) != features for values in found):
        raise UndefinedColumn(
            f"each OR branch must give every input of predictor {ref.predictor.name}"
        )
    namer = planning.namer
    name = namer("pred")
    ref.source.replace(relation(name, ref.alias))
    step = Predict(
        name,
        ref.predictor,
        tuple(features),
        Batching.of(ref.predictor, planning.config),
        constants=True,
    )
    rows = _literal_rows(found, features)
    if rows is not None:  # no need to ask DuckDB what 3000 is
        planning.predict(replace(step, rows=tuple(rows)))
        return
    inputs: exp.Query = _combinations(found[0], namer)
    for values in found[1:]:
        inputs = exp.union(inputs, _combinations(values, namer), distinct=True)
    planning.predict(replace(step, inputs=inputs))


def _plan_preview(ref: Ref, planning: _Planning) -> None:
    name = planning.namer("pred")
    ref.source.replace(relation(name, ref.alias))
    features = tuple(ref.predictor.features() or ())
    batching = Batching.of(ref.predictor, planning.config)
    planning.predict(Predict(name, ref.predictor, features, batching, constants=True, rows=()))


def _literal_rows(
    found: list[dict[str, list[exp.Expr]]], features: list[str]
) -> list[tuple[Any, ...]] | None:
    """Every combination of the constants as Python values, when all are plain literals of
    one kind per column; None sends the work to DuckDB."""
    try:
        columns = [[[literal_value(v) for v in values[f]] for f in features] for values in found]
    except TypeError:
        return None
    for index in range(len(features)):
        kinds = {type(v) for group in columns for v in group[index] if v is not None}
        if len(kinds) > 1:
            return None
    rows = (row for group in columns for row in itertools.product(*group))
    return list(dict.fromkeys(rows))


def _combinations(values: dict[str, list[exp.Expr]], namer: Namer) -> exp.Select:
    """A query of every combination of the constants (a VALUES list per input)."""
    query = exp.Select(expressions=[exp.Star()], distinct=exp.Distinct())
    for index, (feature, constants) in enumerate(values.items()):
        table = exp.Values(
            expressions=[exp.Tuple(expressions=[value.copy()]) for value in constants],
            alias=exp.TableAlias(
                this=exp.to_identifier(namer("v")), columns=[exp.to_identifier(feature)]
            ),
        )
        query = query.from_(table) if index == 0 else query.join(table, join_type="cross")
    return query


def _constant_values_of(ref: Ref, condition: exp.Expr | None) -> dict[str, list[exp.Expr]]:
    """The constants `condition` gives each input of the predictor, in feature order."""
    predictor = ref.predictor
    features = predictor.features()
    canonical = {f.lower(): f for f in features or []}
    values: dict[str, list[exp.Expr]] = {}
    for conjunct in _conjuncts(condition):
        found = _constant_values(conjunct, ref.alias)
        if found is None:
            continue
        column, constants = found
        key = column.lower()
        if any(key == t.lower() or key.startswith(f"{t.lower()}_") for t in predictor.targets):
            continue  # a filter on a prediction
        if features is not None and key not in canonical:
            raise UndefinedColumn(
                f"predictor {predictor.name} has no input column {column!r}; its inputs are "
                f"{', '.join(features)} and it predicts {', '.join(predictor.targets)}"
            )
        values.setdefault(canonical.get(key, column), constants)
    if features is None:
        features = list(values)
    missing = [f for f in features if f not in values]
    if missing or not features:
        needed = missing or ["its input columns"]
        raise UndefinedColumn(
            f"predictor {predictor.name} needs a value for {needed[0]}",
            hint=f"add WHERE {needed[0]} = … to the query, or JOIN a table that has "
            f"{', '.join(missing or features or ['the inputs'])}",
        )
    return {feature: values[feature] for feature in features}


class _JoinPlanner:
    """`SELECT … FROM data AS t JOIN byom AS p [ON …] [WHERE …]`."""

    def __init__(
        self,
        select: exp.Select,
        refs: list[Ref],
        data: list[exp.Expr],
        planning: _Planning,
    ):
        self.select, self.refs, self.data = select, refs, data
        self.planning, self.namer = planning, planning.namer
        self.columns = {
            source.alias_or_name.lower(): planning.columns(
                _with_prefix(select, exp.select("*").from_(source.copy()))
            )
            for source in data
        }
        self.lower_columns = {a: {c.lower(): c for c in cs} for a, cs in self.columns.items()}

    def plan(self) -> None:
        self._qualify()
        where = _conjuncts(self.select.args.get("where"))
        bindings = [(ref, self._bind(ref, where)) for ref in self.refs]
        moved = [c for ref in self.refs for c in self._take_join_condition(ref)]
        conditions = where + moved
        pushable = [c for c in conditions if self._data_only(c)]
        pushable += [
            r for c in conditions if not self._data_only(c) if (r := self._relax(c)) is not None
        ]
        self._materialize(pushable, self._limit_source(conditions))
        self._rewrite_star(bindings)
        data_query = self._data_query(pushable)
        for ref, binding in bindings:
            inputs = (
                data_query.copy()
                .select(
                    *(expr.copy().as_(feature, quoted=True) for feature, expr in binding.items()),
                    copy=False,
                )
                .distinct()
            )
            name = self.namer("pred")
            self.planning.predict(
                Predict(
                    name,
                    ref.predictor,
                    tuple(binding),
                    Batching.of(ref.predictor, self.planning.config),
                    constants=False,
                    inputs=_with_prefix(self.select, inputs),
                )
            )
            moved += [
                exp.NullSafeEQ(this=exp.column(f, ref.alias, quoted=True), expression=e.copy())
                for f, e in binding.items()
            ]
            ref.source.replace(relation(name, ref.alias))
        self._set_where(where + moved)

    # columns and ownership

    def _owner(self, column: exp.Column) -> str | None:
        if column.table:
            return column.table.lower()
        name = column.name.lower()
        holders = [a for a, cols in self.lower_columns.items() if name in cols]
        if len(holders) == 1:
            return holders[0]
        if holders:
            return None  # ambiguous: DuckDB will say so
        owners = [r.alias.lower() for r in self.refs if r.owns(name)]
        if not owners and len(self.refs) == 1:
            owners = [self.refs[0].alias.lower()]  # extra model outputs are not known ahead
        return owners[0] if len(owners) == 1 else None

    def _qualify(self) -> None:
        """Qualify this SELECT's unqualified columns: once predictions are joined in, a
        feature name exists on both sides."""
        aliases = {e.alias.lower() for e in self.select.expressions if e.alias}
        for column in _own_columns(self.select):
            if column.table or isinstance(column.this, exp.Star):
                continue
            if column.name.lower() in aliases and _in_output_clause(column, self.select):
                continue
            owner = self._owner(column)
            if owner is not None:
                column.set("table", exp.to_identifier(self._alias_spelling(owner)))

    def _alias_spelling(self, owner: str) -> str:
        for source in [*self.data, *(r.source for r in self.refs)]:
            if source.alias_or_name.lower() == owner:
                return source.alias_or_name
        return owner

    def _data_only(self, node: exp.Expr) -> bool:
        columns = list(node.find_all(exp.Column))
        return (
            bool(columns)
            and not node.find(exp.Subquery, exp.AggFunc, exp.Window)
            and all(self._owner(c) in self.columns for c in columns)
        )

    def _relax(self, node: exp.Expr) -> exp.Expr | None:
        """A weaker filter over the data alone: under OR, each branch keeps its data-only
        conjuncts; a branch with none makes the whole thing unusable."""
        if not isinstance(node, exp.Or):
            return None
        branches = []
        for branch in _disjuncts(node):
            kept = [c for c in _conjuncts(branch) if self._data_only(c)]
            kept += [
                r
                for c in _conjuncts(branch)
                if not self._data_only(c)
                if (r := self._relax(c)) is not None
            ]
            if not kept:
                return None
            branches.append(exp.and_(*(k.copy() for k in kept)))
        return exp.or_(*branches)

    # features

    def _bind(self, ref: Ref, where: list[exp.Expr]) -> dict[str, exp.Expr]:
        """Which expression over the data feeds each feature: ON t.x = p.y, WHERE p.y = 1,
        else the column of the same name."""
        predictor = ref.predictor
        features = predictor.features()
        canonical = {f.lower(): f for f in features or []}
        bound: dict[str, exp.Expr] = {}
        join = ref.source.parent if isinstance(ref.source.parent, exp.Join) else None
        joins = self.select.args.get("joins") or []
        explicit = [c for j in joins for c in _conjuncts(j.args.get("on"))]
        for conjunct in explicit + where:
            found = self._explicit_binding(conjunct, ref)
            if found:
                name, expr = found
                bound.setdefault(canonical.get(name.lower(), name), expr)
        for name in (join.args.get("using") or []) if join else []:
            bound.setdefault(canonical.get(name.name.lower(), name.name), self._by_name(name.name))
        if features is None:
            targets = {t.lower() for t in predictor.targets}
            for alias, cols in self.columns.items():
                for col in cols:
                    if col.lower() not in targets and col.lower() not in {b.lower() for b in bound}:
                        bound[col] = exp.column(col, self._alias_spelling(alias), quoted=True)
            return bound
        for feature in features:
            if feature not in bound:
                bound[feature] = self._by_name(feature, predictor)
        return {f: bound[f] for f in features}

    def _explicit_binding(self, node: exp.Expr, ref: Ref) -> tuple[str, exp.Expr] | None:
        if not isinstance(node, exp.EQ):
            return None
        for mine, other in ((node.this, node.expression), (node.expression, node.this)):
            if (
                isinstance(mine, exp.Column)
                and mine.table.lower() == ref.alias.lower()
                and not isinstance(mine.this, exp.Star)
                and (_is_constant(other) or self._data_only(other))
            ):
                return mine.name, other
        return None

    def _by_name(self, feature: str, predictor: Predictor | None = None) -> exp.Expr:
        holders = [a for a, cols in self.lower_columns.items() if feature.lower() in cols]
        who = f"predictor {predictor.name}" if predictor else "JOIN … USING"
        if len(holders) > 1:
            raise UndefinedColumn(
                f"{who} input {feature!r} is ambiguous: "
                f"{' and '.join(self._alias_spelling(h) for h in holders)} both have it",
                hint=f"say which with ON {self._alias_spelling(holders[0])}.{feature} = "
                f"<predictor>.{feature}",
            )
        if not holders:
            raise UndefinedColumn(
                f"{who} needs input column {feature!r}, which no table in the query has",
                hint=f"add it to the data, or map one with ON t.<column> = <predictor>.{feature}"
                f" or WHERE <predictor>.{feature} = <value>",
            )
        alias = holders[0]
        return exp.column(
            self.lower_columns[alias][feature.lower()], self._alias_spelling(alias), quoted=True
        )

    def _take_join_condition(self, ref: Ref) -> list[exp.Expr]:
        """The predictor's ON conditions move to WHERE (the join to predictions is inner:
        every input row gets one)."""
        join = ref.source.parent
        if not isinstance(join, exp.Join):
            return []
        conditions = _conjuncts(join.args.get("on"))
        for key in ("on", "using", "side", "kind"):
            join.set(key, None)
        return conditions

    def _rewrite_star(self, bindings: list[tuple[Ref, dict[str, exp.Expr]]]) -> None:
        """`SELECT *` shows the data once: a predictor's inputs taken from data columns are
        left out of its side."""
        stars = [
            e
            for e in self.select.expressions
            if isinstance(e, exp.Star) and not any(e.args.values())
        ]
        if not stars:
            return
        expanded: list[exp.Expr] = []
        for source in _sources(self.select):
            alias = exp.to_identifier(source.alias_or_name)
            binding = next((b for r, b in bindings if r.source is source), None)
            if binding is None:
                expanded.append(exp.Column(this=exp.Star(), table=alias))
                continue
            from_data = [
                exp.column(f, quoted=True) for f, e in binding.items() if isinstance(e, exp.Column)
            ]
            expanded.append(exp.Column(this=exp.Star(except_=from_data or None), table=alias))
        expressions = list(self.select.expressions)
        at = expressions.index(stars[0])
        self.select.set("expressions", expressions[:at] + expanded + expressions[at + 1 :])

    # data side

    def _data_query(self, pushable: list[exp.Expr]) -> exp.Select:
        """FROM/JOIN of the data sources alone, filtered by what can run before the model."""
        query = exp.select()
        from_ = self.select.args["from_"]
        joins = [(from_.this, None)] + [(j.this, j) for j in self.select.args.get("joins") or []]
        conditions = [c.copy() for c in pushable]
        first = True
        for source, join in joins:
            if any(source is r.source for r in self.refs):
                continue
            # a data join's ON may read a predictor that comes first: keep the data part
            on = (
                [c.copy() for c in _conjuncts(join.args.get("on")) if self._data_only(c)]
                if join
                else []
            )
            if first:
                query = query.from_(source.copy(), copy=False)
                conditions += on
                first = False
            else:
                copied = join.copy()
                if join.args.get("on"):
                    copied.set("on", exp.and_(*on) if on else exp.true())
                query.append("joins", copied)
        return query.where(*conditions, copy=False) if conditions else query

    def _materialize(self, pushable: list[exp.Expr], limited: exp.Expr | None) -> None:
        for source in self.data:
            remote = isinstance(source, exp.Table) and self.planning.schema.is_remote(source)
            if source is not limited and not remote:
                continue
            alias = source.alias_or_name.lower()
            mine = [
                c.copy()
                for c in pushable
                if {self._owner(col) for col in c.find_all(exp.Column)} == {alias}
            ]
            query = exp.select(*self._needed(alias)).from_(source.copy())
            if mine:
                query = query.where(*mine, copy=False)
            if source is limited:
                query = self._with_limit(query)
            name = self.namer("src")
            self.planning.materialize(name, _with_prefix(self.select, query), remote)
            source.replace(relation(name, source.alias_or_name))

    def _needed(self, alias: str) -> list[exp.Expr]:
        names: dict[str, None] = {}
        for column in self.select.find_all(exp.Column):
            if column.table.lower() != alias:
                continue
            if isinstance(column.this, exp.Star):
                return [exp.Star()]
            names[column.name] = None
        for ref in self.refs:
            features = ref.predictor.features()
            if features is None:
                return [exp.Star()]
            for feature in features:
                actual = self.lower_columns[alias].get(feature.lower())
                if actual:
                    names[actual] = None
        if any(isinstance(e, exp.Star) for e in self.select.expressions) or not names:
            return [exp.Star()]
        return [exp.column(n, quoted=True) for n in names]

    def _limit_source(self, conditions: list[exp.Expr]) -> exp.Expr | None:
        """The single data source whose LIMIT can run before the model: nothing that decides
        which rows come first or survive depends on a prediction."""
        select = self.select
        if not (select.args.get("limit") or select.args.get("offset")) or len(self.data) != 1:
            return None
        if any(select.args.get(k) for k in ("group", "having", "qualify", "distinct")):
            return None
        if any(e.find(exp.AggFunc, exp.Window) for e in select.expressions):
            return None
        if not all(
            self._data_only(c) or any(self._explicit_binding(c, r) for r in self.refs)
            for c in conditions
        ):
            return None
        order = select.args.get("order")
        if order and not all(self._data_only(o.this) for o in order.expressions):
            return None
        if not all(
            _literal_int(select.args.get(k)) is not None
            for k in ("limit", "offset")
            if select.args.get(k)
        ):
            return None
        return self.data[0]

    def _with_limit(self, query: exp.Select) -> exp.Select:
        limit = _literal_int(self.select.args.get("limit"))
        offset = _literal_int(self.select.args.get("offset")) or 0
        order = self.select.args.get("order")
        if order:
            query.set("order", order.copy())
        return query.limit(limit + offset, copy=False) if limit is not None else query

    def _set_where(self, conditions: list[exp.Expr]) -> None:
        self.select.set("where", exp.Where(this=exp.and_(*conditions)) if conditions else None)


# small helpers -------------------------------------------------------------------------------


def _conjuncts(node: exp.Expr | None) -> list[exp.Expr]:
    if node is None:
        return []
    if isinstance(node, exp.Where):
        node = node.this
    return list(node.flatten()) if isinstance(node, exp.And) else [_unparen(node)]


def _disjuncts(node: exp.Expr) -> list[exp.Expr]:
    return [_unparen(n) for n in node.flatten()] if isinstance(node, exp.Or) else [node]


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_constant(node: exp.Expr) -> bool:
    return not node.find(exp.Column, exp.Subquery, exp.Select, exp.AggFunc, exp.Window)


def _constant_values(node: exp.Expr, alias: str) -> tuple[str, list[exp.Expr]] | None:
    """`col = constant`, `constant = col` or `col IN (constants)` on the predictor."""

    def mine(column: exp.Expr) -> bool:
        return isinstance(column, exp.Column) and column.table.lower() in ("", alias.lower())

    if isinstance(node, exp.EQ):
        for column, value in ((node.this, node.expression), (node.expression, node.this)):
            if mine(column) and _is_constant(value):
                return column.name, [value]
    if isinstance(node, exp.In) and mine(node.this) and not node.args.get("query"):
        values = node.expressions
        if values and all(_is_constant(v) for v in values):
            return node.this.name, list(values)
    return None


def _own_columns(select: exp.Select) -> Iterator[exp.Column]:
    """Columns of this SELECT, not of the queries nested in it, nor lambda parameters."""
    for column in select.find_all(exp.Column):
        parent = column.parent
        while parent is not None and parent is not select:
            if isinstance(parent, exp.Select | exp.Lambda):
                break
            parent = parent.parent
        if parent is select:
            yield column


def _in_output_clause(column: exp.Column, select: exp.Select) -> bool:
    node: exp.Expr | None = column
    while node is not None and node.parent is not select:
        node = node.parent
    return node is not None and node.arg_key in ("order", "group", "having", "qualify")


def _literal_int(node: exp.Expr | None) -> int | None:
    value = node.args.get("expression") if isinstance(node, exp.Limit | exp.Offset) else node
    if isinstance(value, exp.Literal) and value.is_int:
        return int(value.this)
    return None
