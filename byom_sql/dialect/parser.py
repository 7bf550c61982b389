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
from sqlglot.parsers.duckdb import DuckDBParser
from sqlglot.tokens import Token, TokenType
from sqlglot.trie import new_trie

from byom_sql.dialect import nodes
from byom_sql.errors import InvalidOption
from byom_sql.options import OPTIONS, check_key, check_options, validate_predictor

PREDICTOR_KINDS = ("PREDICTOR", "MODEL")
# `name (SELECT …` cannot be a DuckDB table function call (DuckDB wants `f((SELECT …))`), so a
# name followed by one of these words in parentheses is a raw query for database `name`
RAW_QUERY_STARTS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "EXPLAIN")
VALUE_EXPECTED = "Expected a value: a string, a number, TRUE, FALSE, NULL or JSON"


class ByomParser(DuckDBParser):
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
    }
    SHOW_TRIE = new_trie(key.split(" ") for key in SHOW_PARSERS)

    def raise_error(self, message: str, token: Token | None = None) -> None:
        """Like sqlglot's, but records where the offending token starts so the caret points at
        its first character rather than its last."""
        curr = self._curr
        # nothing left to point at (sqlglot's end-of-input token is falsy)
        at_end = token is None and (curr is None or curr.token_type == TokenType.SENTINEL)
        token = token or curr or self._prev or Token.string("")
        at_end = at_end or token.token_type == TokenType.SENTINEL
        at_end = at_end or "TokenType.SENTINEL" in message
        generic = message.startswith("Required keyword") or message == _GENERIC
        message = _TOKEN_REPR.sub(lambda m: _describe_token(m.group(1), m.group(2)), message)
        if generic and at_end:
            message = "Unexpected end of input: the statement is incomplete"
        elif generic:
            near = _describe_token(token.token_type.name, token.text)
            message = f"Syntax error at or near {near}"
        elif at_end and "end of input" not in message:
            message = f"{message}, but the statement ends here"
        start = (self._tokens[-1].end + 1 if self._tokens else 0) if at_end else token.start
        try:
            super().raise_error(message, token)
        except ParseError as error:
            error.errors[0]["start"] = start
            error.errors[0]["description"] = message
            raise

    def _parse_statement(self) -> exp.Expr | None:
        if self._curr and self._curr.token_type == TokenType.VAR:
            if self._curr.text.upper() == "RETRAIN":
                self._advance()
                return self._parse_retrain()
        return super()._parse_statement()

    # CREATE ------------------------------------------------------------------------------

    def _parse_byom_create(self) -> exp.Expr:
        index = self._index
        replace = self._match_pair(TokenType.OR, TokenType.REPLACE)
        if self._match_texts(PREDICTOR_KINDS):
            return self._parse_create_predictor(self._prev.text.upper(), bool(replace))
        if self._match(TokenType.DATABASE):
            return self._parse_create_database(bool(replace))
        self._retreat(index)
        return self._parse_create()

    def _parse_create_predictor(self, kind: str, replace: bool) -> nodes.CreatePredictor:
        start = self._prev
        exists = bool(self._parse_exists(not_=True))
        if replace and exists:
            self.raise_error("OR REPLACE and IF NOT EXISTS cannot be used together", start)
        name = self._parse_predictor_name()
        source = self._parse_source() if self._match(TokenType.FROM) else {}
        if not self._match_text_seq("PREDICT"):
            self.raise_error("Expected PREDICT followed by the column(s) the model predicts")
        predict = self._parse_csv(self._parse_column_name)
        using, key_tokens = self._parse_using()
        node = nodes.CreatePredictor(
            this=name,
            kind=kind,
            replace=replace,
            exists=exists,
            predict=predict,
            using=using,
            **source,
        )
        try:
            options = check_options((o.option_name, o.option_value) for o in using)
            validate_predictor(options, [p.name for p in predict])
        except InvalidOption as error:
            self.raise_error(error.message, key_tokens.get(error.key or "", start))
        return self.expression(node)

    def _parse_create_database(self, replace: bool) -> nodes.CreateDatabase:
        exists = bool(self._parse_exists(not_=True))
        name = self._parse_id_var()
        if not name:
            self.raise_error("Expected a database name")
        self._match(TokenType.WITH)
        if not self._match_text_seq("ENGINE"):
            self.raise_error("Expected ENGINE = 'postgres' (or mysql, sqlite, duckdb, files)")
        self._match(TokenType.EQ)
        if not self._match(TokenType.STRING):
            self.raise_error("Expected the engine name as a string, e.g. ENGINE = 'postgres'")
        engine = exp.Literal.string(self._prev.text)
        parameters = None
        self._match(TokenType.COMMA)
        if self._match_text_seq("PARAMETERS"):
            self._match(TokenType.EQ)
            parameters = self._parse_json_value()
            if parameters is None or not isinstance(parameters.decoded, dict):
                self.raise_error("Expected PARAMETERS = {…}: a JSON object", self._prev)
        return self.expression(
            nodes.CreateDatabase(
                this=name, replace=replace, exists=exists, engine=engine, parameters=parameters
            )
        )

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
            name = self._parse_id_var()
            if not name:
                self.raise_error("Expected a database name")
            return self.expression(nodes.DropDatabase(this=name, exists=exists))
        self._retreat(index)
        return self._parse_drop()

    def _parse_byom_describe(self) -> exp.Expr:
        index = self._index
        if (
            self._match_texts(PREDICTOR_KINDS)
            and self._curr
            and self._curr.token_type in (self.ID_VAR_TOKENS | {TokenType.IDENTIFIER})
        ):
            kind = self._prev.text.upper()
            return self.expression(
                nodes.DescribePredictor(this=self._parse_predictor_name(), kind=kind)
            )
        self._retreat(index)
        return self._parse_describe()

    def _parse_show_predictors(self, kind: str) -> nodes.ShowPredictors:
        project = None
        if self._match_set((TokenType.FROM, TokenType.IN)):
            project = self._parse_id_var()
        like, where = self._parse_show_filter()
        return self.expression(
            nodes.ShowPredictors(kind=kind, project=project, like=like, where=where)
        )

    def _parse_show_databases(self) -> nodes.ShowDatabases:
        like, where = self._parse_show_filter()
        return self.expression(nodes.ShowDatabases(like=like, where=where))

    def _parse_show_filter(self) -> tuple[exp.Expr | None, exp.Expr | None]:
        if self._match(TokenType.LIKE):
            if not self._match(TokenType.STRING):
                self.raise_error("Expected a pattern string after LIKE")
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
        if self._prev and self._prev.token_type == TokenType.DOT and self._curr:
            if self._curr.token_type == TokenType.NUMBER and self._curr.text.isdigit():
                self._advance()
                return exp.Identifier(this=self._prev.text, quoted=False)
        return super()._parse_table_part(schema=schema)

    def _parse_predictor_name(self) -> exp.Table:
        curr = self._curr
        keyword = curr is not None and curr.text.upper() in ("PREDICT", "USING", "FROM")
        if (
            curr is None
            or keyword
            or curr.token_type not in (self.ID_VAR_TOKENS | {TokenType.IDENTIFIER})
        ):
            self.raise_error("Expected a predictor name")
        return self._parse_table_parts()

    def _parse_source(self) -> dict[str, Any]:
        """After FROM: `(query)` in DuckDB SQL, or `db (raw query)` in db's own dialect."""
        if self._match(TokenType.L_PAREN, advance=False):
            self._advance()
            query = self._parse_select(nested=True)
            if not query:
                self.raise_error("Expected a query inside FROM ( … )")
            self._match_r_paren()
            return {"query": query}
        database = self._parse_id_var()
        if not database:
            self.raise_error("Expected a database name or ( query ) after FROM")
        if not self._match(TokenType.L_PAREN):
            self.raise_error(f"Expected ( query ) after FROM {database.name}")
        return {"database": database, "raw_query": self._parse_raw_parenthesised()}

    def _parse_raw_parenthesised(self) -> exp.Literal:
        """The text up to the matching parenthesis, verbatim: it belongs to another dialect."""
        opening = self._prev
        depth, first, last = 1, self._curr, None
        while self._curr:
            if self._curr.token_type == TokenType.L_PAREN:
                depth += 1
            elif self._curr.token_type == TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    break
            last = self._curr
            self._advance()
        if not self._curr:
            self.raise_error("Missing ) to close the query", opening)
        if last is None or first is None:
            self.raise_error("Expected a query inside ( … )")
        self._advance()
        return exp.Literal.string(self.sql[first.start : last.end + 1])

    def _parse_using(self) -> tuple[list[nodes.UsingOption], dict[str, Token]]:
        if not self._match(TokenType.USING):
            return [], {}
        options: list[nodes.UsingOption] = []
        tokens: dict[str, Token] = {}
        seen: set[str] = set()
        while True:
            key_token = self._curr
            key = self._parse_option_key()
            if not self._match(TokenType.EQ):
                self.raise_error(f"Expected = after {key}")
            value_token = self._curr
            value = self._parse_option_value()
            try:
                canonical = check_key(key)
            except InvalidOption as error:
                self.raise_error(error.message, key_token)
            try:
                OPTIONS[canonical].check(key, nodes.literal_value(value))
            except InvalidOption as error:
                self.raise_error(error.message, value_token)
            if canonical in seen:
                self.raise_error(f"Option {key} is given twice", key_token)
            seen.add(canonical)
            tokens[canonical] = key_token
            options.append(nodes.UsingOption(this=key, expression=value))
            if not self._match(TokenType.COMMA):
                return options, tokens

    def _parse_option_key(self) -> str:
        parts = []
        while True:
            part = self._parse_id_var(any_token=True)
            if not part:
                self.raise_error("Expected an option name")
            parts.append(part.name)
            if not self._match(TokenType.DOT):
                return ".".join(parts)

    def _parse_option_value(self) -> exp.Expr:
        json_value = self._parse_json_value()
        if json_value is not None:
            return json_value
        for token_type, build in _SCALARS.items():
            if self._match(token_type):
                return build(self._prev.text)
        if self._match(TokenType.DASH) and self._match(TokenType.NUMBER):
            return exp.Neg(this=exp.Literal.number(self._prev.text))
        self.raise_error(VALUE_EXPECTED)
        raise AssertionError  # raise_error raised

    def _parse_json_value(self) -> nodes.JsonValue | None:
        """Inline JSON: decoded from the raw text (the tokenizer would read "a" as a name)."""
        if not self._curr or self._curr.token_type not in (TokenType.L_BRACE, TokenType.L_BRACKET):
            return None
        start = self._curr
        try:
            value, end = json.JSONDecoder().raw_decode(self.sql, start.start)
        except json.JSONDecodeError as error:
            bad = Token(TokenType.STRING, "", start=error.pos, end=error.pos)
            self.raise_error(f"Invalid JSON: {error.msg}", bad)
            raise AssertionError from error  # raise_error raised
        while self._curr and self._curr.start < end:
            self._advance()
        return nodes.JsonValue(this=json.dumps(value, separators=(",", ":")))

    def _parse_column_name(self) -> exp.Identifier:
        ident = self._parse_id_var()
        if not ident:
            self.raise_error("Expected a column name")
        return ident


_GENERIC = "Invalid expression / Unexpected token"
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: .*?>")


def _describe_token(token_type: str, text: str) -> str:
    return "end of input" if token_type == "SENTINEL" else repr(text)


_SCALARS: dict[TokenType, Callable[[str], exp.Expr]] = {
    TokenType.STRING: exp.Literal.string,
    TokenType.NUMBER: exp.Literal.number,
    TokenType.TRUE: lambda _: exp.true(),
    TokenType.FALSE: lambda _: exp.false(),
    TokenType.NULL: lambda _: exp.null(),
}
