"""Rewrite the metadata SQL Postgres clients send into DuckDB SQL over the emulated catalog.

The statement is parsed as Postgres SQL (sqlglot) and the tree rewritten:

- a pg_catalog relation (`pg_catalog.pg_class c`, or `pg_type t` unqualified) becomes the CTE
  `__pg_class` of pgrelations.py, prepended to the query with what it reads;
- Postgres functions DuckDB lacks or answers differently (version(), current_setting,
  format_type, pg_get_expr, pg_table_is_visible, obj_description, has_*_privilege …) become
  literals or scalar subqueries over those CTEs;
- `::regclass`, `::regtype`, `::regnamespace` become oid lookups by name, and their `::text`
  name lookups by oid; `::oid`, `::name`, `::"char"` become DuckDB types;
- `OPERATOR(pg_catalog.~)`, `COLLATE pg_catalog.default`, '{…}' array literals, set-returning
  functions in FROM without a column alias get their DuckDB spelling;
- unaliased output columns get the names Postgres gives them ("format_type", "?column?").

A statement that names none of these is not touched (`rewrite` returns None): user SQL reaches
the engine as written. Every `$n` placeholder of the statement survives the rewrite, so the
client's Bind still fits. Pure, except that `facts` (the session's predictors, settings, type
map) is called when a CTE needs them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.parsers.postgres import PostgresParser

from byom_sql.dialect.parser import KeywordLabels
from byom_sql.server import pgrelations, pgtypes
from byom_sql.server.pgrelations import Facts

_REG_TYPES = ("regclass", "regtype", "regnamespace", "regproc", "regprocedure")
# Postgres types DuckDB lacks, as the DuckDB type a value of them is kept in
_CAST_TYPES = {
    "oid": "BIGINT",
    "xid": "BIGINT",
    "xid8": "BIGINT",
    "regoper": "BIGINT",
    "regoperator": "BIGINT",
    "regrole": "BIGINT",
    "regconfig": "BIGINT",
    "regdictionary": "BIGINT",
    "regcollation": "BIGINT",
    "cid": "BIGINT",
    "name": "VARCHAR",
    "char": "VARCHAR",
    "bpchar": "VARCHAR",
    "text": "VARCHAR",
    "int2vector": "SMALLINT[]",
    "oidvector": "BIGINT[]",
    "aclitem": "VARCHAR",
    "pg_node_tree": "VARCHAR",
}
_TEXT_TYPES = ("text", "varchar", "name", "char", "bpchar")
# what a FROM item may be that is a value, not a set of rows: a function rewritten to a
# constant (pg_indexam_has_property(…) AS amcanorder), string_to_array(…) AS s
_SCALARS = (exp.Boolean, exp.Literal, exp.Null, exp.Cast, exp.StringToArray)
_OPERATORS: dict[str, Callable[[exp.Expr, exp.Expr], exp.Expr]] = {
    "~": lambda a, b: exp.RegexpLike(this=a, expression=b),
    "~*": lambda a, b: exp.RegexpILike(this=a, expression=b),
    "!~": lambda a, b: exp.not_(exp.RegexpLike(this=a, expression=b)),
    "!~*": lambda a, b: exp.not_(exp.RegexpILike(this=a, expression=b)),
    "~~": lambda a, b: exp.Like(this=a, expression=b),
    "~~*": lambda a, b: exp.ILike(this=a, expression=b),
    "=": lambda a, b: exp.EQ(this=a, expression=b),
    "<>": lambda a, b: exp.NEQ(this=a, expression=b),
    "<": lambda a, b: exp.LT(this=a, expression=b),
    ">": lambda a, b: exp.GT(this=a, expression=b),
}
_ALWAYS_TRUE = re.compile(
    r"^(has_\w+_privilege|pg_has_role|pg_\w+_is_visible|pg_index\w*_has_property)$"
)
_NULL_TEXT = (
    "pg_get_statisticsobjdef_columns",
    "pg_get_serial_sequence",
    "shobj_description",
    "pg_get_triggerdef",
    "pg_get_ruledef",
    "pg_get_partkeydef",
    "pg_advisory_unlock_all",
)
_CONSTANTS: dict[str, exp.Expr] = {
    "pg_stat_get_numscans": exp.Literal.number(0),
    "pg_encoding_to_char": exp.Literal.string("UTF8"),
    "pg_char_to_encoding": exp.Literal.number(6),
    "pg_tablespace_location": exp.Literal.string(""),
    "pg_is_in_recovery": exp.false(),
    "pg_relation_is_publishable": exp.false(),
}
_NULL_SIZE = (
    "pg_table_size",
    "pg_relation_size",
    "pg_total_relation_size",
    "pg_indexes_size",
    "pg_database_size",
)


@dataclass(frozen=True)
class Session:
    """What the rewrite needs to know about the session asking."""

    user: str
    backend_pid: int
    version: str  # what version() says
    setting: Callable[[str], str | None]  # a setting's value by lower-case name, None: unknown
    facts: Callable[[], Facts]


@dataclass
class Rewritten:
    sql: str  # DuckDB SQL, with the statement's $n placeholders
    set_config: list[tuple[str, str]] = field(default_factory=list)  # (name, value) to store


# `x::regtype[]` (pgcli's function listing), which sqlglot reads as an index: arrays of oids
_REG_ARRAY = re.compile(r"::\s*(?:pg_catalog\.)?reg\w+\s*\[\s*\]", re.IGNORECASE)


class _Postgres(Postgres):
    class Parser(KeywordLabels, PostgresParser):
        pass


_POSTGRES = _Postgres()


@functools.lru_cache(maxsize=512)
def parse(sql: str) -> exp.Expr | None:
    """The statement as Postgres reads it; None when sqlglot cannot (the engine will say).
    Cached by text (clients send the same few metadata queries again and again): copy it
    before changing it."""
    try:
        statements = _POSTGRES.parse(_REG_ARRAY.sub("::BIGINT[]", sql))
    except (ParseError, TokenError):
        return None
    return statements[0] if len(statements) == 1 else None


def rewrite(sql: str, session: Session) -> Rewritten | None:
    parsed = parse(sql)
    if not isinstance(parsed, exp.Query):
        return None
    query = parsed.copy()
    rewriter = _Rewriter(session, query)
    names = _output_names(query)
    tree = rewriter.walk(query)
    if not rewriter.changed and not _REG_ARRAY.search(sql):
        return None
    _name_outputs(tree, names, rewriter)
    _name_inner_outputs(tree)
    return Rewritten(_with_ctes(tree, session), rewriter.set_config)


def _with_ctes(tree: exp.Expr, session: Session) -> str:
    """The tree as DuckDB SQL, the CTEs it reads (and what they read) prepended to its WITH.
    The CTEs are DuckDB SQL text already: spliced in, not parsed and generated again."""
    wanted = [t.name for t in tree.find_all(exp.Table) if t.name.startswith("__pg_") and not t.db]
    sql = tree.sql(dialect="duckdb")
    if not wanted:
        return sql
    ctes = ", ".join(
        f"{name} AS ({body})" for name, body in pgrelations.ctes(wanted, session.facts())
    )
    existing = re.match(r"WITH(\s+RECURSIVE)?\s+", sql) if tree.args.get("with_") else None
    if existing:
        return f"{existing.group(0)}{ctes}, {sql[existing.end() :]}"
    return f"WITH {ctes} {sql}"


class _Rewriter:
    def __init__(self, session: Session, tree: exp.Expr):
        self.session = session
        self.user_ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        # the emulated relation each alias names, for its system column tableoid
        self.aliases = {
            t.alias_or_name.lower(): relation
            for t in tree.find_all(exp.Table)
            if (relation := self.emulated(t)) is not None
        }
        self.changed = False
        self.set_config: list[tuple[str, str]] = []
        self.reg_kind: dict[int, str] = {}  # id of a rewritten reg cast → its reg type

    def walk(self, node: exp.Expr) -> exp.Expr:
        """Children first, so each rule sees arguments already rewritten."""
        if _qualified_call(node):  # pg_catalog.f(…): f(…), rewritten as such
            self.changed = True
            node = _typed(node.expression)
        for key, value in list(node.args.items()):
            if isinstance(value, exp.Expr):
                new = self.walk(value)
                if new is not value:
                    node.set(key, new)
            elif isinstance(value, list):
                node.set(key, [self.walk(v) if isinstance(v, exp.Expr) else v for v in value])
        return self.rule(node)

    def rule(self, node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table):
            return self.table(node)
        if isinstance(node, exp.Select) and node.args.get("group"):
            return self.grouped(node)
        if isinstance(node, exp.Unnest):
            return _alias_columns(node)
        if isinstance(node, exp.Column) and node.text("db").lower() == "pg_catalog":
            node.set("db", None)
            return node
        if isinstance(node, exp.Column) and node.name.lower() == "tableoid":
            relation = self.aliases.get(node.table.lower())
            return exp.Literal.number(relation.oid) if relation else node
        if isinstance(node, exp.Column) and node.name.lower() == "xmin" and self.system(node):
            self.changed = True  # every row was written by transaction 1 (DataGrip reads it)
            return _cast(exp.Literal.number(1), "BIGINT")
        if isinstance(node, exp.Cast):  # before Func: a Cast is one
            return self.cast(node)
        if isinstance(node, exp.Collate):
            return node.this if _is_default_collation(node.expression) else node
        if isinstance(node, exp.Operator):
            return self.operator(node)
        if isinstance(node, exp.Func):
            return self.function(node)
        if isinstance(node, exp.EQ) and isinstance(node.expression, exp.Any):
            self.changed = True
            return _list_contains(node.this, node.expression.this)
        if isinstance(node, exp.EQ | exp.NEQ):
            return _array_literals(node)
        if isinstance(node, exp.Any):
            return _any_of_literal(node)
        return node

    # relations ---------------------------------------------------------------------------

    def table(self, node: exp.Table) -> exp.Expr:
        if not isinstance(node.this, exp.Identifier):  # a function in FROM
            if node.text("db").lower() == "pg_catalog":
                node.set("db", None)
                self.changed = True
            if isinstance(node.this, _SCALARS):  # Postgres: a one-row table of its value
                self.changed = True
                alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier("v"))
                column = (alias.columns or [alias.this])[0]
                row = exp.select(node.this.as_(column.copy()))
                return exp.Subquery(this=row, alias=exp.TableAlias(this=alias.this.copy()))
            if isinstance(node.this, exp.Anonymous) and node.this.name.lower() == "pg_get_keywords":
                self.changed = True
                alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier("k"))
                return exp.Subquery(this=exp.maybe_parse(_KEYWORDS, dialect="duckdb"), alias=alias)
            return _alias_columns(node)
        relation = self.emulated(node)
        if relation is None:
            return node
        name = relation.name
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
        self.changed = True
        return exp.Table(this=exp.to_identifier(pgrelations.cte_name(name)), alias=alias)

    def grouped(self, select: exp.Select) -> exp.Select:
        """A set-returning function in a grouped SELECT (pgcli's `regexp_split_to_table(…)
        AS word, count(1) … GROUP BY word`), which DuckDB refuses: its rows come from a
        lateral join instead."""
        for index, item in enumerate(select.expressions):
            call = item.this if isinstance(item, exp.Alias) else item
            rows = _set_returning(call)
            if rows is None:
                continue
            name = f"__srf_{index}"
            source = exp.Unnest(
                expressions=[rows],
                alias=exp.TableAlias(
                    this=exp.to_identifier(name), columns=[exp.to_identifier("v")]
                ),
            )
            select.join(source, join_type="cross", copy=False)
            call.replace(exp.column("v", name))
            self.changed = True
        return select

    def system(self, column: exp.Column) -> bool:
        """Whether a column names a system column of an emulated relation: its alias is one,
        or, unqualified, its SELECT reads one emulated relation and nothing else."""
        if column.table:
            return column.table.lower() in self.aliases
        select = column.find_ancestor(exp.Select)
        if select is None:
            return False
        sources = [
            source.this if isinstance(source, exp.Join) else source
            for source in [select.args.get("from_"), *select.args.get("joins", [])]
            if source is not None
        ]
        sources = [s.this if isinstance(s, exp.From) else s for s in sources]
        names = [s.alias_or_name.lower() for s in sources]
        return len(names) == 1 and names[0] in self.aliases

    def emulated(self, node: exp.Table) -> pgrelations.Relation | None:
        """The pg_catalog relation a table reference names: pg_catalog.x, or x unless the
        query has a CTE of that name."""
        if not isinstance(node.this, exp.Identifier) or node.catalog:
            return None
        name, schema = node.name.lower(), node.text("db").lower()
        if schema not in ("", "pg_catalog") or (not schema and name in self.user_ctes):
            return None
        return pgrelations.RELATIONS.get(name)

    # functions ---------------------------------------------------------------------------

    def function(self, node: exp.Func) -> exp.Expr:
        new = self._function(node)
        self.changed = self.changed or new is not node
        return new

    def _function(self, node: exp.Func) -> exp.Expr:
        session = self.session
        if isinstance(node, exp.CurrentVersion):
            return exp.Literal.string(session.version)
        if isinstance(node, exp.CurrentUser | exp.SessionUser):
            return exp.Literal.string(session.user)
        if isinstance(node, exp.CurrentCatalog):
            return exp.CurrentDatabase()
        if isinstance(node, exp.CurrentSchema | exp.CurrentDatabase | exp.CurrentSchemas):
            self.changed = True  # DuckDB's answer, under the column name Postgres gives it
            return node
        if isinstance(node, exp.Format):
            return _format(node)
        if not isinstance(node, exp.Anonymous):
            return node
        name, args = node.name.lower(), list(node.expressions)
        build = _FUNCTIONS.get(name)
        if build is not None:
            return _keeping_parameters(build(self, args), args)
        if name in _CONSTANTS:
            return _keeping_parameters(_CONSTANTS[name].copy(), args)
        if _ALWAYS_TRUE.match(name):
            return _keeping_parameters(exp.true(), args)
        if name in _NULL_TEXT:
            return _keeping_parameters(_cast(exp.null(), "VARCHAR"), args)
        if name in _NULL_SIZE:
            return _keeping_parameters(_cast(exp.null(), "BIGINT"), args)
        return node

    def current_setting(self, args: list[exp.Expr]) -> exp.Expr:
        name = args[0]
        if isinstance(name, exp.Literal) and name.is_string:
            value = self.session.setting(name.name.lower())
            return (
                exp.Literal.string(value)
                if value is not None
                else exp.Anonymous(this="current_setting", expressions=[name])
            )
        return _scalar(
            "setting",
            "__pg_settings_now",
            exp.func("lower", _field("name")).eq(exp.func("lower", name)),
        )

    def set_config_call(self, args: list[exp.Expr]) -> exp.Expr:
        name, value = args[0], args[1]
        if all(isinstance(a, exp.Literal) and a.is_string for a in (name, value)):
            self.set_config.append((name.name.lower(), value.name))
        return value

    # casts -------------------------------------------------------------------------------

    def cast(self, node: exp.Cast) -> exp.Expr:
        target = _type_name(node.to)
        inner = node.this
        kind = self.reg_kind.get(id(inner))
        if kind is not None and target in _TEXT_TYPES:
            return _reg_name(kind, inner)
        if target in _REG_TYPES:
            kind = "regproc" if target == "regprocedure" else target
            value = _reg_oid(kind, inner) if _is_textual(inner) else _cast(inner, "BIGINT")
            self.reg_kind[id(value)] = kind
            self.changed = True
            return value
        if target.endswith("[]") and (items := _array_literal(inner)) is not None:
            self.changed = True  # '{a,b}'::text[]: Postgres' array literal, as a list
            node.set("this", exp.Array(expressions=items))
        if not _postgres_only(node.to):
            return node
        element = target.removesuffix("[]")
        try:
            duckdb_type = _CAST_TYPES.get(element) or exp.DataType.build(
                element, dialect="postgres"
            ).sql(dialect="duckdb")
        except ParseError:  # a DuckDB type Postgres lacks (UBIGINT): DuckDB reads it as is
            return node
        self.changed = True
        return _cast(inner, duckdb_type + ("[]" if target.endswith("[]") else ""))

    def operator(self, node: exp.Operator) -> exp.Expr:
        symbol = str(node.args.get("operator") or "").split(".")[-1].strip()
        build = _OPERATORS.get(symbol)
        if build is None:
            return node
        self.changed = True
        return build(node.this, node.expression)


# DBeaver's pg_get_keywords(): DuckDB's own keywords, in PostgreSQL's categories
_KEYWORDS = (
    "SELECT keyword_name AS word, CASE keyword_category WHEN 'reserved' THEN 'R' "
    "WHEN 'type_function' THEN 'T' WHEN 'column_name' THEN 'C' ELSE 'U' END AS catcode, "
    "true AS barelabel, keyword_category AS catdesc, 'can be bare label' AS baredesc "
    "FROM duckdb_keywords()"
)


# function rules: (rewriter, arguments) → replacement ---------------------------------------


def _scalar(column: str, relation: str, where: exp.Expr) -> exp.Expr:
    """(SELECT column FROM relation WHERE … LIMIT 1), over the relation's lookup CTE: its
    columns are `__`-prefixed (`_field`), so the client's own column names in `where` still
    name the client's columns, not the lookup's."""
    query = exp.select(_field(column)).from_(pgrelations.lookup_name(relation))
    return exp.Subquery(this=query.where(where).limit(1))


def _field(name: str) -> exp.Column:
    return exp.column(f"__{name}")


def _format_type(_: _Rewriter, args: list[exp.Expr]) -> exp.Expr:
    oid, typmod = args[0], args[1] if len(args) > 1 else exp.null()
    mod = exp.Paren(this=exp.Sub(this=typmod.copy(), expression=exp.Literal.number(4)))
    numeric = exp.func(
        "concat",
        exp.Literal.string("numeric("),
        exp.Paren(this=exp.BitwiseRightShift(this=mod.copy(), expression=exp.Literal.number(16))),
        exp.Literal.string(","),
        exp.Paren(this=exp.BitwiseAnd(this=mod.copy(), expression=exp.Literal.number(65535))),
        exp.Literal.string(")"),
    )
    sized = exp.func(
        "concat",
        _field("display"),
        exp.Literal.string("("),
        mod.copy(),
        exp.Literal.string(")"),
    )
    display = (
        exp.case()
        .when(exp.or_(typmod.copy().is_(exp.null()), typmod.copy() < 0), _field("display"))
        .when(_field("typname").eq(exp.Literal.string("numeric")), numeric)
        .when(_field("typname").isin("varchar", "bpchar"), sized)
        .else_(_field("display"))
    )
    lookup = pgrelations.lookup_name("__pg_types")
    found = exp.Subquery(
        this=exp.select(display).from_(lookup).where(_field("oid").eq(oid)).limit(1)
    )
    return exp.func("coalesce", found, exp.Literal.string("???"))


def _by_oid(column: str, relation: str) -> Callable[[_Rewriter, list[exp.Expr]], exp.Expr]:
    def build(_: _Rewriter, args: list[exp.Expr]) -> exp.Expr:
        return _scalar(column, relation, _field("oid").eq(args[0]))

    return build


def _description(_: _Rewriter, args: list[exp.Expr]) -> exp.Expr:
    subid = args[1] if len(args) > 1 and not _is_textual(args[1]) else exp.Literal.number(0)
    where = exp.and_(_field("objoid").eq(args[0]), _field("objsubid").eq(subid))
    return _scalar("description", "__pg_description", where)


def _table_is_visible(_: _Rewriter, args: list[exp.Expr]) -> exp.Expr:
    found = _scalar("visible", "__pg_rel", _field("oid").eq(args[0]))
    return exp.func("coalesce", found, exp.false())


def _view_definition(_: _Rewriter, args: list[exp.Expr]) -> exp.Expr:
    text = _scalar("definition", "__pg_rel", _field("oid").eq(args[0]))
    pattern = r"(?is)^\s*CREATE\s+(OR\s+REPLACE\s+)?(TEMP\w*\s+)?VIEW\s+.*?\s+AS\s+"
    return exp.func("regexp_replace", text, exp.Literal.string(pattern), exp.Literal.string(""))


def _set_returning(call: exp.Expr) -> exp.Expr | None:
    """The list whose elements a set-returning call gives, if it is one."""
    if isinstance(call, exp.Unnest) and len(call.expressions) == 1:
        return call.expressions[0]  # type: ignore[no-any-return]
    if isinstance(call, exp.Anonymous) and call.name.lower() == "regexp_split_to_table":
        return exp.Anonymous(this="string_split_regex", expressions=list(call.expressions))
    return None


def _name_inner_outputs(tree: exp.Expr) -> None:
    """Unaliased computed columns of CTEs and FROM subqueries get Postgres' names too, since
    the query around them may use them (`ORDER BY count` over a CTE's `COUNT(1)`)."""
    for node in list(tree.find_all(exp.CTE, exp.Subquery)):
        if isinstance(node, exp.Subquery) and not isinstance(node.parent, exp.From | exp.Join):
            continue
        select: exp.Expr = _leftmost_select(node.this)
        if not isinstance(select, exp.Select):  # VALUES
            continue
        select.set(
            "expressions",
            [
                e
                if isinstance(e, exp.Alias | exp.Column | exp.Dot) or e.is_star
                else exp.alias_(e, _pg_name(e), quoted=True)
                for e in select.expressions
            ],
        )


def _age(_: _Rewriter, args: list[exp.Expr]) -> exp.Expr:
    """age(xid), which DataGrip asks of xmin and pg_locks: every row is transaction 1's and
    nothing is older, so 0; age(timestamp) is DuckDB's."""
    if len(args) == 1 and _is_xid(args[0]):
        return _cast(exp.Literal.number(0), "BIGINT")
    return exp.Anonymous(this="age", expressions=args)


def _is_xid(value: exp.Expr) -> bool:
    if isinstance(value, exp.Cast):
        return _is_xid(value.this)
    if isinstance(value, exp.Literal):
        return not value.is_string
    return isinstance(value, exp.Column) and value.name.lower() in ("xmin", "transactionid")


def _format(node: exp.Format) -> exp.Expr:
    """format('%s.%I', a, b) with a literal format: the text it gives, as a concatenation
    (DuckDB's format() reads {} placeholders, not %s, %I and %L)."""
    pattern, args = node.this, list(node.expressions)
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return node
    parts: list[exp.Expr] = []
    for text, spec in re.findall(r"([^%]*)(%[sIL%]|$)", pattern.name):
        if text:
            parts.append(exp.Literal.string(text))
        if spec == "%%":
            parts.append(exp.Literal.string("%"))
        elif spec and args:
            value = args.pop(0)
            if spec == "%I":
                parts.append(_quote_ident(value))
            elif spec == "%L":
                parts.append(
                    exp.func("coalesce", _quote_literal(value), exp.Literal.string("NULL"))
                )
            else:
                parts.append(exp.func("coalesce", _cast(value, "VARCHAR"), exp.Literal.string("")))
    return exp.func("concat", *parts) if parts else exp.Literal.string("")


def _quote_literal(value: exp.Expr) -> exp.Expr:
    quote = exp.Literal.string("'")
    doubled = exp.func("replace", _cast(value, "VARCHAR"), quote, exp.Literal.string("''"))
    return exp.func("concat", quote.copy(), doubled, quote.copy())


def _size_pretty(_: _Rewriter, args: list[exp.Expr]) -> exp.Expr:
    size = args[0]
    case = exp.case().when(
        exp.func("abs", size.copy()) < 10240,
        exp.func("concat", size.copy(), exp.Literal.string(" bytes")),
    )
    for power, unit in enumerate(("kB", "MB", "GB"), start=1):
        scaled = exp.func(
            "round", exp.Div(this=size.copy(), expression=exp.Literal.number(1024**power))
        )
        case = case.when(
            exp.func("abs", size.copy()) < 10240 * 1024**power,
            exp.func("concat", _cast(scaled, "BIGINT"), exp.Literal.string(f" {unit}")),
        )
    scaled = exp.func("round", exp.Div(this=size.copy(), expression=exp.Literal.number(1024**4)))
    return case.else_(exp.func("concat", _cast(scaled, "BIGINT"), exp.Literal.string(" TB")))


def _expand_array(_: _Rewriter, args: list[exp.Expr]) -> exp.Expr:
    """information_schema._pg_expandarray(a): one row (x, n) per element, as a struct."""
    array = args[0]
    i = exp.to_identifier("__i")  # not a name the client's query may use for a table
    element = exp.Struct(
        expressions=[
            exp.PropertyEQ(
                this=exp.to_identifier("x"),
                expression=exp.Bracket(this=array.copy(), expressions=[exp.column(i)]),
            ),
            exp.PropertyEQ(this=exp.to_identifier("n"), expression=exp.column(i)),
        ]
    )
    positions = exp.func("generate_series", exp.Literal.number(1), exp.func("len", array.copy()))
    lambda_ = exp.Lambda(this=element, expressions=[i])
    return exp.Explode(this=exp.func("list_transform", positions, lambda_))


_FUNCTIONS: dict[str, Callable[[_Rewriter, list[exp.Expr]], exp.Expr]] = {
    "version": lambda r, a: exp.Literal.string(r.session.version),
    "current_setting": _Rewriter.current_setting,
    "set_config": _Rewriter.set_config_call,
    "pg_backend_pid": lambda r, a: exp.Literal.number(r.session.backend_pid),
    "pg_get_userbyid": lambda r, a: exp.Literal.string(r.session.user),
    "pg_table_is_visible": _table_is_visible,
    "format_type": _format_type,
    "pg_get_expr": lambda r, a: a[0],
    "pg_get_constraintdef": _by_oid("def", "__pg_keys"),
    "pg_get_viewdef": _view_definition,
    "pg_get_indexdef": lambda r, a: _scalar("indexdef", "__pg_keys", _field("indexoid").eq(a[0])),
    "pg_get_function_result": _by_oid("result", "__pg_proc_info"),
    "pg_get_function_arguments": _by_oid("arguments", "__pg_proc_info"),
    "pg_get_function_identity_arguments": _by_oid("arguments", "__pg_proc_info"),
    "pg_get_functiondef": _by_oid("definition", "__pg_proc_info"),
    "obj_description": _description,
    "col_description": _description,
    "pg_size_pretty": _size_pretty,
    "age": _age,
    "to_regtype": lambda r, a: _reg_oid("regtype", a[0]),
    "to_regclass": lambda r, a: _reg_oid("regclass", a[0]),
    "to_regnamespace": lambda r, a: _reg_oid("regnamespace", a[0]),
    "array_upper": lambda r, a: exp.func("nullif", exp.func("len", a[0]), exp.Literal.number(0)),
    "array_lower": lambda r, a: (
        exp.case().when(exp.func("len", a[0]) > 0, exp.Literal.number(1)).else_(exp.null())
    ),
    "json_build_object": lambda r, a: exp.Anonymous(
        this="json_object",
        expressions=[exp.paren(x) if isinstance(x, exp.Binary) else x for x in a],
    ),
    "_pg_expandarray": _expand_array,
    "quote_ident": lambda r, a: _quote_ident(a[0]),
    "parse_ident": lambda r, a: _parse_ident(a[0]),
}


def _quote_ident(value: exp.Expr) -> exp.Expr:
    """Grafana's quote_ident(name): quoted unless it is a plain lower-case identifier."""
    plain = exp.func("regexp_full_match", value, exp.Literal.string("[a-z_][a-z0-9_$]*"))
    doubled = exp.func("replace", value, exp.Literal.string('"'), exp.Literal.string('""'))
    quoted = exp.DPipe(
        this=exp.DPipe(this=exp.Literal.string('"'), expression=doubled),
        expression=exp.Literal.string('"'),
    )
    return exp.case().when(plain, value).else_(quoted)


def _parse_ident(value: exp.Expr) -> exp.Expr:
    """parse_ident('a."B c"') → [a, B c]: each dotted part unquoted, or folded to lower case
    (a dot inside quotes splits too)."""
    part = exp.to_identifier("part")
    inner = exp.func(
        "replace",
        exp.Substring(this=part, start=exp.Literal.number(2), length=exp.func("length", part) - 2),
        exp.Literal.string('""'),
        exp.Literal.string('"'),
    )
    each = (
        exp.case()
        .when(exp.Like(this=part, expression=exp.Literal.string('"%"')), inner)
        .else_(exp.func("lower", part))
    )
    split = exp.func("string_split", value, exp.Literal.string("."))
    return exp.func("list_transform", split, exp.Lambda(this=each, expressions=[part]))


# regclass & co: oids looked up by name, names by oid ----------------------------------------

# (relation, name column, display column) of each reg type
_REG_LOOKUP = {
    "regclass": ("__pg_regclass", ("relname", "qualname"), "display"),
    "regtype": ("__pg_types", ("typname", "display"), "display"),
    "regnamespace": ("__pg_schemas", ("nspname",), "nspname"),
    "regproc": ("__pg_proc_info", ("name",), "name"),
}


def _reg_oid(kind: str, name: exp.Expr) -> exp.Expr:
    """The oid of the object a text names ('pg_class', 'mindsdb.byom', 'integer')."""
    relation, columns, _ = _REG_LOOKUP[kind]
    bare = exp.func(
        "regexp_replace",
        exp.func("replace", name, exp.Literal.string('"'), exp.Literal.string("")),
        exp.Literal.string("^pg_catalog\\."),
        exp.Literal.string(""),
    )
    where = exp.or_(*(_field(c).eq(bare.copy()) for c in columns))
    return _scalar("oid", relation, where)


def _reg_name(kind: str, oid: exp.Expr) -> exp.Expr:
    relation, _, display = _REG_LOOKUP[kind]
    found = _scalar(display, relation, _field("oid").eq(oid))
    return exp.func("coalesce", found, _cast(oid.copy(), "VARCHAR"))


def _is_textual(node: exp.Expr) -> bool:
    """A value Postgres would read as a name: a string, a parameter, a cast to text."""
    if isinstance(node, exp.Literal):
        return node.is_string
    if isinstance(node, exp.Placeholder | exp.Parameter | exp.Concat | exp.DPipe):
        return True
    return isinstance(node, exp.Cast) and _type_name(node.to) in _TEXT_TYPES


# small transforms ---------------------------------------------------------------------------


def _cast(value: exp.Expr, duckdb_type: str) -> exp.Cast:
    return exp.Cast(this=value, to=exp.DataType.build(duckdb_type, dialect="duckdb"))


def _qualified_call(node: exp.Expr) -> bool:
    return (
        isinstance(node, exp.Dot)
        and isinstance(node.expression, exp.Func)
        and node.this.name.lower() in ("pg_catalog", "information_schema")
    )


def _typed(function: exp.Func) -> exp.Func:
    """`pg_catalog.f(...)` parses as an anonymous call: the typed node sqlglot has for f."""
    if not isinstance(function, exp.Anonymous):
        return function
    try:
        typed = exp.func(function.name, *function.expressions, dialect="postgres")
    except (ValueError, ParseError, TypeError):
        return function
    return typed if isinstance(typed, exp.Func) else function


def _type_name(data_type: exp.Expr) -> str:
    """'regclass', 'text', 'char', 'int2[]' … of a cast target, without pg_catalog."""
    if isinstance(data_type, exp.DataType) and data_type.is_type(exp.DataType.Type.ARRAY):
        elements = data_type.expressions
        return (_type_name(elements[0]) if elements else "") + "[]"
    if isinstance(data_type, exp.DataType) and data_type.this == exp.DataType.Type.USERDEFINED:
        kind = data_type.args.get("kind")
        text = kind.name if isinstance(kind, exp.Dot | exp.Identifier) else str(kind)
        return text.lower().strip('"')
    return data_type.sql(dialect="postgres").lower().removeprefix("pg_catalog.")


def _postgres_only(data_type: exp.Expr) -> bool:
    """A cast target DuckDB does not have (oid, name, "char", pg_catalog.text, int2vector …)."""
    if isinstance(data_type, exp.ObjectIdentifier):
        return True
    if not isinstance(data_type, exp.DataType):
        return False
    if data_type.is_type(exp.DataType.Type.ARRAY):
        return any(_postgres_only(e) for e in data_type.expressions)
    return data_type.this in (exp.DataType.Type.USERDEFINED, exp.DataType.Type.NAME)


def _is_default_collation(collation: exp.Expr) -> bool:
    return collation.name.lower() in ("default", "c", "posix")


def _array_literals(node: exp.Binary) -> exp.Expr:
    """'{0}' compared with an array is Postgres' array literal; DuckDB spells it '[0]'."""
    for side in ("this", "expression"):
        value = node.args.get(side)
        if isinstance(value, exp.Literal) and value.is_string:
            text = value.name
            if text.startswith("{") and text.endswith("}"):
                node.set(side, exp.Literal.string(f"[{text[1:-1]}]"))
    return node


def _any_of_literal(node: exp.Any) -> exp.Expr:
    """`= ANY('{r,p,f}')` (pgcli's \\dt): Postgres reads the string as an array; DuckDB needs
    the list itself."""
    value = node.this.unnest() if isinstance(node.this, exp.Paren) else node.this
    items = _array_literal(value)
    if items is not None:
        node.set("this", exp.Paren(this=exp.Array(expressions=items)))
    return node


def _array_literal(value: exp.Expr) -> list[exp.Expr] | None:
    """The elements of a Postgres array literal ('{1,2}', '{a,"b c"}'), or None."""
    if not (isinstance(value, exp.Literal) and value.is_string):
        return None
    text = value.name
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        items = pgtypes.decode_text(text, pgtypes.ARRAY_OF[pgtypes.TEXT])
    except (ValueError, IndexError):
        return None
    numeric = all(re.fullmatch(r"-?\d+(\.\d+)?", str(i)) for i in items if i is not None)
    return [
        exp.null() if i is None else exp.Literal.number(i) if numeric else exp.Literal.string(i)
        for i in items
    ]


def _list_contains(value: exp.Expr, array: exp.Expr) -> exp.Expr:
    """`x = ANY(array)` as list_contains(array, x): DuckDB cannot unnest a list inside the
    joins of the emulated catalog (pgcli's `relkind = ANY($1)`)."""
    return exp.func(
        "list_contains", array.unnest() if isinstance(array, exp.Paren) else array, value
    )


def _alias_columns(node: exp.Expr) -> exp.Expr:
    """`FROM generate_series(1, 3) s`: Postgres names the column s too; DuckDB needs s(s)."""
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.this and not alias.columns:
        alias.set("columns", [alias.this.copy()])
    return node


def _keeping_parameters(replacement: exp.Expr, args: list[exp.Expr]) -> exp.Expr:
    """The replacement of a call whose dropped arguments held $n: the client binds them all,
    so they stay in the statement, in a branch that never changes the value."""
    kept = {p.sql() for p in replacement.find_all(exp.Placeholder, exp.Parameter)}
    dropped = [
        p
        for arg in args
        for p in arg.find_all(exp.Placeholder, exp.Parameter)
        if p.sql() not in kept
    ]
    if not dropped:
        return replacement
    condition = exp.and_(*(p.copy().is_(exp.null()) for p in dropped), exp.false())
    return exp.case().when(condition, replacement.copy()).else_(replacement)


# output column names ------------------------------------------------------------------------


def _output_names(tree: exp.Expr) -> list[str | None]:
    """The names Postgres gives the unaliased output columns (None: keep what is there)."""
    select = _leftmost_select(tree)
    return [
        None if isinstance(e, exp.Alias) or e.is_star else _pg_name(e) for e in select.expressions
    ]


def computed_names(select: exp.Select) -> list[str | None] | None:
    """The names Postgres gives a SELECT's unaliased computed columns (`count(*)` → count,
    `1` → ?column?), None where the name stays (an alias, a column); None for a SELECT with
    a star. Clients such as Grafana label series by them."""
    if any(e.is_star for e in select.expressions):
        return None
    return [
        None if isinstance(e, exp.Alias | exp.Column | exp.Dot) else _pg_name(e)
        for e in select.expressions
    ]


def _name_outputs(tree: exp.Expr, names: list[str | None], rewriter: _Rewriter) -> None:
    select = _leftmost_select(tree)
    outputs = []
    for expression, name in zip(select.expressions, names, strict=True):
        value = expression.this if isinstance(expression, exp.Alias) else expression
        kind = rewriter.reg_kind.get(id(value))
        if kind is not None:  # a regclass column is shown by name
            named = _reg_name(kind, value.copy())
            if isinstance(expression, exp.Alias):
                expression.set("this", named)
            else:
                expression = named
        if name is not None and not isinstance(expression, exp.Alias):
            expression = exp.alias_(expression, name, quoted=True)
        alias = expression.args.get("alias") if isinstance(expression, exp.Alias) else None
        if isinstance(alias, exp.Identifier) and not alias.quoted:  # Postgres folds it
            alias.set("this", alias.name.lower())
        outputs.append(expression)
    select.set("expressions", outputs)


def _leftmost_select(tree: exp.Expr) -> exp.Select:
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    while isinstance(tree, exp.Subquery):
        tree = tree.this
    return tree  # type: ignore[return-value]


def _pg_name(node: exp.Expr) -> str:
    """Postgres' FigureColname: the column, function, or type name, else ?column?."""
    if isinstance(node, exp.Column):
        return node.name if node.this.args.get("quoted") else node.name.lower()
    if isinstance(node, exp.Dot):
        return node.name if not isinstance(node.expression, exp.Func) else _pg_name(node.expression)
    if isinstance(node, exp.Cast):
        inner = _pg_name(node.this)
        return inner if inner != "?column?" else _type_name(node.to).split(".")[-1]
    if isinstance(node, exp.Paren | exp.Window):  # a window call: its function's name
        return _pg_name(node.this)
    if isinstance(node, exp.Case):  # named after its ELSE, as Postgres does
        default = node.args.get("default")
        name = _pg_name(default) if default is not None else "?column?"
        return name if name != "?column?" else "case"
    if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select):
        first = node.this.expressions[0] if node.this.expressions else None
        return (
            (first.alias or _pg_name(first.this))
            if isinstance(first, exp.Alias)
            else (_pg_name(first) if first is not None else "?column?")
        )
    if isinstance(node, exp.Array):
        return "array"
    if isinstance(node, exp.Boolean):
        return "bool"
    if isinstance(node, exp.Func):
        match = re.match(r"\s*([A-Za-z_]\w*)", node.sql(dialect="postgres"))
        return match.group(1).lower() if match else "?column?"
    return "?column?"
