"""The byom_sql dialect: DuckDB's SQL plus the predictor and database statements.

`parse(text)` splits a script into statements, keeping each one's original text so that plain
DuckDB statements can be run verbatim, and turns sqlglot's errors into `SqlSyntaxError`.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType  # type: ignore[attr-defined]

from byom_sql.dialect import nodes
from byom_sql.dialect.generator import ByomGenerator
from byom_sql.dialect.parser import ByomParser, is_our_secret
from byom_sql.errors import InvalidText, QueryCanceled, SqlSyntaxError, StatementTooComplex


class Byom(DuckDB):
    class Tokenizer(DuckDB.Tokenizer):
        IDENTIFIERS = ['"', "`"]  # MindsDB writes `1`

    Parser = ByomParser
    Generator = ByomGenerator


DIALECT = Byom()


@dataclass(frozen=True)
class Statement:
    node: exp.Expr | None  # None: sqlglot cannot read it, DuckDB gets the text as is
    sql: str  # this statement's own text, verbatim
    start: int  # its offset in the script, for error positions
    error: SqlSyntaxError | None = None  # why sqlglot could not read it (lenient parse)


def parse(
    sql: str, *, lenient: bool = False, cancel: threading.Event | None = None
) -> list[Statement]:
    """All statements of a script; an empty or comment-only script gives [].

    With `lenient`, a statement that sqlglot cannot parse but that is not one of ours is
    returned with `node=None`: DuckDB's own parser has the last word on DuckDB SQL. A long
    script stops between statements once `cancel` is set (57014).
    """
    check_text(sql)
    try:
        all_tokens = DIALECT.tokenize(sql)
    except TokenError as error:
        raise _token_error(sql, error) from None
    _check_nesting(sql, all_tokens)
    statements = []
    for chunk in _split(all_tokens):
        if cancel is not None and cancel.is_set():
            raise QueryCanceled("canceling statement due to user request")
        start, end = chunk[0].start, chunk[-1].end + 1
        problem: SqlSyntaxError | None = None
        node: exp.Expr | None
        try:
            node = DIALECT.parser().parse(chunk, sql)[0]
        except RecursionError:
            raise too_complex(sql, start) from None
        except (ParseError, IndexError) as failure:  # sqlglot trips on a few inputs: SHOW ALL
            problem = (
                _syntax_error(sql, failure)
                if isinstance(failure, ParseError)
                else SqlSyntaxError("cannot read the statement", sql=sql, position=start)
            )
            if not lenient or _is_ours(chunk):
                raise problem from None
            node = None
        statements.append(Statement(node=node, sql=sql[start:end], start=start, error=problem))
    return statements


def parse_one(sql: str) -> exp.Expr:
    statements = parse(sql)
    if len(statements) != 1:
        raise SqlSyntaxError(f"expected one statement, got {len(statements)}", sql=sql, position=0)
    node = statements[0].node
    assert node is not None  # a strict parse raises instead
    return node


def to_sql(node: exp.Expr) -> str:
    try:
        return str(node.sql(dialect=DIALECT))
    except RecursionError:
        raise too_complex() from None


MAX_NESTING = 200
"""Parentheses, brackets, CASE and unary operators nested deeper than this are refused before
sqlglot's recursive parser would exhaust Python's stack."""
RECURSION_LIMIT = 10_000
"""sqlglot takes 20 to 30 Python frames a nesting level: Python's default limit of 1000 would
stop at about 40 levels. Frames of Python calls take no C stack in Python 3.11."""
if sys.getrecursionlimit() < RECURSION_LIMIT:
    sys.setrecursionlimit(RECURSION_LIMIT)
_OPENERS = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE, TokenType.CASE}
_CLOSERS_ = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE, TokenType.END}
_UNARY = {TokenType.NOT, TokenType.DASH, TokenType.PLUS, TokenType.TILDE}


def too_complex(sql: str = "", position: int | None = None) -> StatementTooComplex:
    return StatementTooComplex(
        f"statement too complex: nested more than {MAX_NESTING} levels deep",
        position=position,
        hint="flatten the nesting (a CTE per level, IN (…) lists instead of nested ORs)",
    )


def _check_nesting(sql: str, tokens: list[Token]) -> None:
    depth = run = 0
    for token in tokens:
        kind = token.token_type
        if kind in _OPENERS:
            depth += 1
        elif kind in _CLOSERS_:
            depth -= 1
        run = run + 1 if kind in _UNARY else 0
        if depth > MAX_NESTING or run > MAX_NESTING:
            raise too_complex(sql, token.start)


def check_text(sql: str) -> None:
    """Text a statement may hold: no lone surrogate (not UTF-8) and no NUL (as PostgreSQL)."""
    nul = sql.find("\x00")
    if nul >= 0:
        raise InvalidText("invalid byte sequence for encoding UTF8: 0x00", position=nul)
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidText(
            f"invalid character for encoding UTF8 at position {error.start + 1}: a lone "
            "surrogate (text that is not Unicode)",
            position=error.start,
        ) from None


def decode(data: bytes) -> str:
    """UTF-8 text from bytes (a file, stdin, a network message), or InvalidText saying where."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1].hex()
        raise InvalidText(
            f"invalid byte sequence for encoding UTF8: 0x{bad} at byte {error.start + 1}"
        ) from None


def is_byom_statement(node: exp.Expr) -> bool:
    return isinstance(node, nodes.BYOM_STATEMENTS)


_OURS = {
    "CREATE": {"PREDICTOR", "MODEL", "DATABASE"},
    "DROP": {"PREDICTOR", "MODEL", "DATABASE"},
    "DESCRIBE": {"PREDICTOR", "MODEL"},
    "SHOW": {"PREDICTORS", "MODELS", "DATABASES", "SECRETS"},
    "RETRAIN": None,
}


def _is_ours(chunk: list[Token]) -> bool:
    words = [t.text.upper() for t in chunk[:4]]
    after = [t.text.upper() for t in chunk[1:10]]
    after = after[2:] if after[:2] == ["OR", "REPLACE"] else after
    if words[0] == "CREATE" and is_our_secret(after):
        return True
    if words[0] not in _OURS:
        return False
    follow = _OURS[words[0]]
    rest = words[3:] if words[1:3] == ["OR", "REPLACE"] else words[1:2]
    return follow is None or bool(rest and rest[0] in follow)


def _split(all_tokens: list[Token]) -> list[list[Token]]:
    chunks: list[list[Token]] = [[]]
    for token in all_tokens:
        if token.token_type == TokenType.SEMICOLON:
            chunks.append([])
        else:
            chunks[-1].append(token)
    return [c for c in chunks if c]


def _syntax_error(sql: str, error: ParseError) -> SqlSyntaxError:
    detail = error.errors[0] if error.errors else {}
    message = detail.get("description") or str(error)
    position = detail.get("start")
    if position is None:
        position = _offset(sql, detail.get("line") or 1, detail.get("col") or 1)
    return SqlSyntaxError(
        message, sql=sql, position=min(position, len(sql)), hint=detail.get("hint")
    )


_CLOSERS = {"'": "'", '"': '"', "`": "`", "$$": "$$", "/*": "*/", "--": "\n"}
_UNTERMINATED = {
    "'": "Unterminated string: add the closing '",
    '"': 'Unterminated quoted name: add the closing "',
    "`": "Unterminated quoted name: add the closing `",
    "$$": "Unterminated $$ string: add the closing $$",
    "/*": "Unterminated comment: add the closing */",
}


def _token_error(sql: str, error: TokenError) -> SqlSyntaxError:
    # sqlglot's tokenizer does not say where it failed: find the quote that never closes
    unclosed = _unclosed(sql)
    if unclosed is None:
        return SqlSyntaxError(f"Cannot read the statement: {error}", sql=sql, position=0)
    opener, position = unclosed
    hint = None
    if opener == "'" and "\\'" in sql:
        hint = "a quote inside a string is written twice ('it''s'); a backslash does not escape it"
    return SqlSyntaxError(_UNTERMINATED[opener], sql=sql, position=position, hint=hint)


def _unclosed(sql: str) -> tuple[str, int] | None:
    """The quote or comment opened and never closed, and its offset (DuckDB's rules: quotes
    are escaped by doubling them, backslashes are plain characters)."""
    i = 0
    while i < len(sql):
        opener = next((o for o in _CLOSERS if sql.startswith(o, i)), None)
        if opener is None:
            i += 1
            continue
        closer, end = _CLOSERS[opener], i + len(opener) - 1
        while True:
            end = sql.find(closer, end + 1)
            if end < 0:
                return None if opener == "--" else (opener, i)
            if opener not in "'\"`" or not sql.startswith(closer, end + 1):
                break
            end += 1  # a doubled quote stands for itself
        i = end + len(closer)
    return None


def _offset(sql: str, line: int, col: int) -> int:
    lines = sql.split("\n")
    return sum(len(text) + 1 for text in lines[: line - 1]) + max(col - 1, 0)
