"""Parser hooks: DuckDB's parser plus the predictor and database statements.

Each hook looks ahead for our keywords and otherwise hands the statement back to DuckDB's own
parser untouched, so plain DuckDB SQL parses exactly as it does in sqlglot's DuckDB dialect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from typing import Any

from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.parser import Parser
from sqlglot.parsers.duckdb import DuckDBParser
from sqlglot.tokens import Token, TokenType  # type: ignore[attr-defined]
from sqlglot.trie import new_trie

from byom_sql.dialect import nodes
from byom_sql.errors import InvalidOption
from byom_sql.options import OPTIONS, check_key, check_options, given_twice, validate_predictor

PREDICTOR_KINDS = ("PREDICTOR", "MODEL")
# `name (SELECT …` cannot be a DuckDB table function call (DuckDB wants `f((SELECT …))`), so a
# name followed by one of these words in parentheses is a raw query for database `name`
RAW_QUERY_STARTS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "EXPLAIN")
VALUE_EXPECTED = "Expected a value (a string, a number, TRUE, FALSE, NULL or JSON)"


class KeywordLabels(Parser):
    """After AS any keyword is a column label, as in PostgreSQL (`… AS select`, which
    Metabase sends); sqlglot takes only non-reserved ones. Mixed into our parser and the
    Postgres one the wire server reads clients' catalog queries with."""

    def _parse_alias(self, this: exp.Expr | None, explicit: bool = False) -> exp.Expr | None:
        label = self._next
        if (
            self._curr is not None
            and self._curr.token_type == TokenType.ALIAS
            and label is not None
            and label.token_type in self.RESERVED_TOKENS
            and label.text.isidentifier()
        ):
            self._advance(2)
            return self.expression(
                exp.Alias(this=this, alias=exp.to_identifier(label.text, quoted=True))
            )
        return super()._parse_alias(this, explicit)


class ByomParser(KeywordLabels, DuckDBParser):
    STATEMENT_PARSERS = {
        **DuckDBParser.STATEMENT_PARSERS,
        TokenType.CREATE: lambda self: self._parse_byom_create(),
        TokenType.DROP: lambda self: self._parse_byom_drop(),
        TokenType.DESCRIBE: lambda self: self._parse_byom_describe(),
    }

    SHOW_PARSERS = {
        **DuckDBParser.SHOW_PARSERS,
        "PREDICTORS": lambda self: self._parse_show_predictors("PREDICTORS"),
        "MODELS": lambda self: self._parse_show_predictors("MODELS"),
        "DATABASES": lambda self: self._parse_show_databases(),
        "SECRETS": lambda self: self._parse_show_secrets(),
    }
    SHOW_TRIE = new_trie(key.split(" ") for key in SHOW_PARSERS)

    def raise_error(
        self, message: str, token: Token | None = None, hint: str | None = None
    ) -> None:
        """Like sqlglot's, but worded for users: the caret goes to the first character of the
        offending token (or just past the statement when it stops short), the message says what
        was found there, and sqlglot's internal wording is replaced."""
        at_end = not token and not self._curr
        token = token or self._curr or self._prev or Token.string("")
        at_end = at_end or token.token_type == TokenType.SENTINEL
        found = "end of input" if at_end else self._token_text(token)
        message = _TOKEN_REPR.sub(lambda m: _describe(m.group(1), m.group(2)), message)
        if message.startswith(("Required keyword", "Invalid expression")):
            message = (
                "Unexpected end of input: the statement is incomplete"
                if at_end
                else f"Syntax error at or near {found}"
            )
        elif message.startswith("Expecting "):
            message = f"Expected {message.removeprefix('Expecting ')}, found {found}"
        elif message.startswith("Expected") and " got " not in message:
            message = f"{message}, found {found}"
        start = self._end_offset() if at_end else token.start
        try:
            super().raise_error(message, token)
        except ParseError as error:
            error.errors[0]["start"] = start
            error.errors[0]["description"] = message
            error.errors[0]["hint"] = hint
            raise

    def _token_text(self, token: Token) -> str:
        """A token as the user wrote it, quoted as Postgres and DuckDB quote it."""
        return f'"{self.sql[token.start : token.end + 1]}"'

    def _end_offset(self) -> int:
        """Just past the statement's last token: where something is missing."""
        return self._tokens[-1].end + 1 if self._tokens else 0

    def _parse_statement(self) -> exp.Expr | None:
        if self._curr and self._curr.token_type == TokenType.VAR:
            if self._curr.text.upper() == "RETRAIN":
                self._advance()
                return self._parse_retrain()
        if self._curr and self._curr.text.upper() == "EXPLAIN":
            return self._parse_explain()
        return super()._parse_statement()

    def _parse_explain(self) -> exp.Command:
        """EXPLAIN is a command whose text the engine reads (execution/explain.py): kept as
        sqlglot keeps a command it does not know, without its "unsupported syntax" warning."""
        start = self._curr
        assert start is not None
        while self._curr:
            self._advance()
        text = self._find_sql(start, self._prev)
        size = len(start.text)
        return exp.Command(this=text[:size], expression=exp.Literal.string(text[size:].strip()))

    # CREATE ------------------------------------------------------------------------------

    def _parse_byom_create(self) -> exp.Expr:
        index = self._index
        replace = self._match_pair(TokenType.OR, TokenType.REPLACE)
        if self._match_texts(PREDICTOR_KINDS):
            return self._parse_create_predictor(self._prev.text.upper(), bool(replace))
        if self._match(TokenType.DATABASE):
            return self._parse_create_database(bool(replace))
        if self._at_our_secret():
            return self._parse_create_secret(bool(replace))
        self._retreat(index)
        return self._parse_create()

    def _at_our_secret(self) -> bool:
        return is_our_secret([t.text.upper() for t in self._tokens[self._index : self._index + 7]])

    def _parse_create_secret(self, replace: bool) -> nodes.CreateSecret:
        self._advance()  # SECRET
        exists = self._parse_if_not_exists(replace)
        name = self._parse_name("a secret name")
        self._match(TokenType.WITH)
        self._match_text_seq("VALUE")
        self._match(TokenType.EQ)
        if not self._match(TokenType.STRING):
            self.raise_error("Expected the secret as a string, e.g. WITH VALUE = 'Bearer …'")
        value = exp.Literal.string(self._prev.text)
        if self._curr:
            self.raise_error("Expected the end of the statement")
        return self.expression(
            nodes.CreateSecret(this=name, replace=replace, exists=exists, value=value)
        )

    def _parse_create_predictor(self, kind: str, replace: bool) -> nodes.CreatePredictor:
        exists = self._parse_if_not_exists(replace)
        name = self._parse_predictor_name()
        source = self._parse_source() if self._match(TokenType.FROM) else {}
        if not self._match_text_seq("PREDICT"):
            self.raise_error("Expected PREDICT followed by the column(s) the model predicts")
        predict = self._parse_csv(lambda: self._parse_name("a column name to PREDICT"))
        using, tokens = self._parse_using()
        if self._curr:
            self.raise_error(f"Expected ,{'' if using else ' USING'} or the end of the statement")
        try:
            options = check_options((o.option_name, o.option_value) for o in using)
            validate_predictor(options, [p.name for p in predict])
        except InvalidOption as error:
            # a rule about the whole USING list: point at the option concerned, else at USING
            self.raise_error(error.message, tokens.get(error.key or "", tokens[""]), error.hint)
        return self.expression(
            nodes.CreatePredictor(
                this=name,
                kind=kind,
                replace=replace,
                exists=exists,
                predict=predict,
                using=using,
                **source,
            )
        )

    def _parse_create_database(self, replace: bool) -> nodes.CreateDatabase:
        exists = self._parse_if_not_exists(replace)
        name = self._parse_name("a database name")
        self._match(TokenType.WITH)
        if not self._match_text_seq("ENGINE"):
            self.raise_error("Expected ENGINE = 'postgres' (or mysql, sqlite, duckdb, files)")
        self._match(TokenType.EQ)
        if not self._match(TokenType.STRING):
            self.raise_error("Expected the engine name as a string, e.g. ENGINE = 'postgres'")
        engine = exp.Literal.string(self._prev.text)
        parameters = None
        if self._match_text_seq(",", "PARAMETERS") or self._match_text_seq("PARAMETERS"):
            self._match(TokenType.EQ)
            value_token = self._curr
            parameters = self._parse_inline_json()
            if parameters is None or not isinstance(parameters.decoded, dict):
                self.raise_error(
                    'Expected PARAMETERS = {...}, a JSON object such as {"host": "127.0.0.1"}',
                    value_token,
                )
        return self.expression(
            nodes.CreateDatabase(
                this=name, replace=replace, exists=exists, engine=engine, parameters=parameters
            )
        )

    def _parse_if_not_exists(self, replace: bool) -> bool:
        start = self._curr
        exists = bool(self._parse_exists(not_=True))
        if replace and exists:
            self.raise_error(
                "OR REPLACE and IF NOT EXISTS cannot be used together: keep one of them", start
            )
        return exists

    # RETRAIN, DROP, DESCRIBE, SHOW ---------------------------------------------------------

    def _parse_retrain(self) -> nodes.Retrain:
        kind = self._prev.text.upper() if self._match_texts(PREDICTOR_KINDS) else None
        name = self._parse_predictor_name()
        source = self._parse_source() if self._match(TokenType.FROM) else {}
        using, _ = self._parse_using()
        return self.expression(nodes.Retrain(this=name, kind=kind, using=using, **source))

    def _parse_byom_drop(self) -> exp.Expr:
        index = self._index
        if self._match_texts(PREDICTOR_KINDS):
            kind = self._prev.text.upper()
            exists = bool(self._parse_exists())
            return self.expression(
                nodes.DropPredictor(this=self._parse_predictor_name(), kind=kind, exists=exists)
            )
        if self._match(TokenType.DATABASE):
            exists = bool(self._parse_exists())
            name = self._parse_name("a database name")
            return self.expression(nodes.DropDatabase(this=name, exists=exists))
        if self._match_text_seq("SECRET"):  # ours or DuckDB's: the engine tells by the name
            exists = bool(self._parse_exists())
            secret = self._parse_id_var(any_token=False)
            if isinstance(secret, exp.Identifier) and not self._curr:
                return self.expression(nodes.DropSecret(this=secret, exists=exists))
        self._retreat(index)
        return self._parse_drop()

    def _parse_byom_describe(self) -> exp.Expr:
        # DESCRIBE PREDICTOR|MODEL name is ours; `DESCRIBE model` alone describes a table
        index = self._index
        if self._match_texts(PREDICTOR_KINDS) and self._curr:
            kind = self._prev.text.upper()
            name = self._parse_predictor_name(versioned=True)
            return self.expression(nodes.DescribePredictor(this=name, kind=kind))
        self._retreat(index)
        return self._parse_describe()

    def _parse_show_predictors(self, kind: str) -> nodes.ShowPredictors:
        project = None
        if self._match_set((TokenType.FROM, TokenType.IN)):
            project = self._parse_name("a project name")
        like, where = self._parse_show_filter()
        return self.expression(
            nodes.ShowPredictors(kind=kind, project=project, like=like, where=where)
        )

    def _parse_show_databases(self) -> nodes.ShowDatabases:
        like, where = self._parse_show_filter()
        return self.expression(nodes.ShowDatabases(like=like, where=where))

    def _parse_show_secrets(self) -> nodes.ShowSecrets:
        like, where = self._parse_show_filter()
        return self.expression(nodes.ShowSecrets(like=like, where=where))

    def _parse_show_filter(self) -> tuple[exp.Expr | None, exp.Expr | None]:
        if self._match(TokenType.LIKE):
            if not self._match(TokenType.STRING):
                self.raise_error("Expected a pattern string after LIKE, e.g. LIKE 'home%'")
            return exp.Literal.string(self._prev.text), None
        return None, self._parse_where()

    # pieces --------------------------------------------------------------------------------

    def _parse_table(
        self,
        schema: bool = False,
        joins: bool = False,
        alias_tokens: Collection[TokenType] | None = None,
        parse_bracket: bool = False,
        is_db_reference: bool = False,
        parse_partition: bool = False,
        consume_pipe: bool = False,
    ) -> exp.Expr | None:
        if not schema and not is_db_reference and self._at_raw_query():
            database = self._parse_id_var()
            self._match(TokenType.L_PAREN)
            query = self._parse_raw_parenthesised()
            alias = self._parse_table_alias(alias_tokens=alias_tokens or self.TABLE_ALIAS_TOKENS)
            return self.expression(nodes.RawQuery(this=database, query=query, alias=alias))
        return super()._parse_table(
            schema=schema,
            joins=joins,
            alias_tokens=alias_tokens,
            parse_bracket=parse_bracket,
            is_db_reference=is_db_reference,
            parse_partition=parse_partition,
            consume_pipe=consume_pipe,
        )

    def _at_raw_query(self) -> bool:
        """`FROM mydb (SELECT …)`: a name, an opening parenthesis, then a query keyword."""
        ahead = self._tokens[self._index : self._index + 3]
        return (
            len(ahead) == 3
            and ahead[0].token_type in (self.ID_VAR_TOKENS | {TokenType.IDENTIFIER})
            and ahead[1].token_type == TokenType.L_PAREN
            and ahead[2].text.upper() in RAW_QUERY_STARTS
        )

    def _parse_table_part(self, schema: bool = False) -> exp.Expr | None:
        # `byom.2` names version 2 of predictor byom
        if self._prev and self._prev.token_type == TokenType.DOT and _is_version(self._curr):
            self._advance()
            return exp.Identifier(this=self._prev.text, quoted=False)
        return super()._parse_table_part(schema=schema)

    def _parse_name(self, what: str, predict_ok: bool = False) -> exp.Identifier:
        """One identifier: a word or a quoted name; PREDICT only where it cannot be our
        keyword (url.predict) or when quoted."""
        token = self._curr
        if not predict_ok and token.token_type == TokenType.VAR and token.text.upper() == "PREDICT":
            self.raise_error(f"Expected {what}")
        name = self._parse_id_var(any_token=False)
        if not isinstance(name, exp.Identifier):
            self.raise_error(f"Expected {what}")
            raise AssertionError  # raise_error raised
        return name

    def _parse_predictor_name(self, versioned: bool = False) -> exp.Table:
        """`[project.]name`, and with `versioned` also `[project.]name.version`."""
        first = self._curr
        parts = [self._parse_name("a predictor name")]
        while self._match(TokenType.DOT):
            if _is_version(self._curr):
                if not versioned:
                    self.raise_error(
                        "A version (name.2) cannot be used here: give the predictor's name",
                        self._curr,
                    )
                self._advance()
                parts.append(exp.Identifier(this=self._prev.text, quoted=False))
                break
            parts.append(self._parse_name("a predictor name after ."))
        if len(parts) > 2 and not (versioned and parts[-1].this.isdigit() and len(parts) == 3):
            self.raise_error("A predictor name has at most two parts: project.name", first)
        return exp.Table(**dict(zip(("this", "db", "catalog"), reversed(parts), strict=False)))

    def _parse_source(self) -> dict[str, Any]:
        """After FROM: `(query)` in DuckDB SQL, or `db (raw query)` in db's own dialect."""
        if self._match(TokenType.L_PAREN):
            query = self._parse_select(nested=True)
            if not query:
                self.raise_error("Expected a query (SELECT ...) inside FROM ( )")
            if not self._match(TokenType.R_PAREN):
                self.raise_error("Expected ) to close FROM (")
            return {"query": query}
        database = self._parse_name("a database name or ( query ) after FROM")
        if not self._match(TokenType.L_PAREN):
            self.raise_error(
                f"Expected ( query ) after FROM {database.name}",
                hint=f"FROM {database.name} (SELECT ...) reads database {database.name} "
                f"in its own SQL; FROM (SELECT * FROM {database.name}) reads a DuckDB table",
            )
        return {"database": database, "raw_query": self._parse_raw_parenthesised()}

    def _parse_raw_parenthesised(self) -> exp.Literal:
        """The text between the parentheses, verbatim (comments included, outer blanks
        trimmed): it belongs to another database's dialect. DuckDB's tokens only tell where
        the matching ) is, so parentheses in strings and comments do not count."""
        opening = self._prev
        depth = 1
        while self._curr:
            if self._curr.token_type == TokenType.L_PAREN:
                depth += 1
            elif self._curr.token_type == TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    break
            self._advance()
        if not self._curr:
            self.raise_error("Unterminated query: this ( has no matching )", opening)
        text = self.sql[opening.end + 1 : self._curr.start].strip()
        if not text:
            self.raise_error("Expected a query inside ( )")
        self._advance()
        return exp.Literal.string(text)

    def _parse_using(self) -> tuple[list[nodes.UsingOption], dict[str, Token]]:
        """`USING key = value, ...`, each option checked on its own as it is read. Returns the
        options and, for error positions, the token of each canonical key ("" for USING, or
        where it would go)."""
        if not self._match(TokenType.USING):
            return [], {"": Token(TokenType.SENTINEL, "", start=self._end_offset())}
        options: list[nodes.UsingOption] = []
        tokens: dict[str, Token] = {"": self._prev}
        while True:
            key_token = self._curr
            key = self._parse_option_key()
            try:
                canonical = check_key(key)
            except InvalidOption as error:
                self.raise_error(error.message, key_token)
            if not self._match(TokenType.EQ):
                self.raise_error(f"Expected = after {key}")
            value_token = self._curr
            value = self._parse_option_value()
            try:
                OPTIONS[canonical].check(key, nodes.literal_value(value))
            except InvalidOption as error:
                self.raise_error(error.message, value_token, error.hint)
            if canonical in tokens:
                self.raise_error(given_twice(key).message, key_token)
            tokens[canonical] = key_token
            options.append(nodes.UsingOption(this=key, expression=value))
            if not self._match(TokenType.COMMA):
                return options, tokens

    def _parse_option_key(self) -> str:
        parts = [self._parse_name("an option name, e.g. format")]
        while self._match(TokenType.DOT):
            parts.append(self._parse_name("the rest of the option name", predict_ok=True))
        return ".".join(p.name for p in parts)

    def _parse_option_value(self) -> exp.Expr:
        json_value = self._parse_inline_json()
        if json_value is not None:
            return json_value
        for token_type, build in _SCALARS.items():
            if self._match(token_type):
                return build(self._prev.text)
        if self._curr.token_type == TokenType.DASH and self._next.token_type == TokenType.NUMBER:
            self._advance(2)
            return exp.Neg(this=exp.Literal.number(self._prev.text))
        word = self._curr.token_type in self.ID_VAR_TOKENS | {TokenType.IDENTIFIER}
        hint = f"text values go in single quotes: '{self._curr.text}'" if word else None
        self.raise_error(VALUE_EXPECTED, hint=hint)
        raise AssertionError  # raise_error raised

    def _parse_inline_json(self) -> nodes.JsonValue | None:
        """Inline JSON: decoded from the raw text (the tokenizer would read "a" as a name)."""
        if self._curr.token_type not in (TokenType.L_BRACE, TokenType.L_BRACKET):
            return None
        start = self._curr
        text = self.sql[: self._end_offset()]  # not past this statement
        try:
            value, end = json.JSONDecoder().raw_decode(text, start.start)
        except json.JSONDecodeError as error:
            if error.pos >= len(text.rstrip()):
                closing = "}" if start.text == "{" else "]"
                self.raise_error(f"Unterminated JSON: this {start.text} has no matching {closing}")
            bad = Token(TokenType.STRING, "", start=error.pos, end=error.pos)
            problem = error.msg.replace("Expecting", "expected", 1)
            self.raise_error(f"Invalid JSON: {problem}", bad, _json_hint(text, error.pos))
            raise AssertionError from error  # raise_error raised
        while self._curr and self._curr.start < end:
            self._advance()
        return nodes.JsonValue(this=json.dumps(value, separators=(",", ":")))


def _json_hint(text: str, position: int) -> str | None:
    if text[position] == "'":
        return "JSON strings use double quotes"
    if text[position] in "}]" and text[:position].rstrip().endswith(","):
        return f"JSON allows no comma before {text[position]}"
    return None


def is_our_secret(words: list[str]) -> bool:
    """`SECRET [IF NOT EXISTS] name WITH VALUE …` (the words after CREATE [OR REPLACE]) is
    ours; `SECRET name (TYPE …)` is DuckDB's."""
    if words[:1] != ["SECRET"]:
        return False
    rest = words[4:] if words[1:4] == ["IF", "NOT", "EXISTS"] else words[1:]
    return rest[1:3] == ["WITH", "VALUE"]


def _is_version(token: Token) -> bool:
    return token.token_type == TokenType.NUMBER and token.text.isdigit()


_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: .*?>")


def _describe(token_type: str, text: str) -> str:
    """A token quoted in one of sqlglot's messages (which show its repr)."""
    return "end of input" if token_type == "SENTINEL" else f'"{text}"'


_SCALARS: dict[TokenType, Callable[[str], exp.Expr]] = {
    TokenType.STRING: exp.Literal.string,
    TokenType.NUMBER: exp.Literal.number,
    TokenType.TRUE: lambda _: exp.true(),
    TokenType.FALSE: lambda _: exp.false(),
    TokenType.NULL: lambda _: exp.null(),
}
