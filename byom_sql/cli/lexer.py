"""Our dialect's words: DuckDB's keywords (asked of DuckDB itself) plus the predictor and
database statements', for the shell's syntax highlighting and completion."""

from __future__ import annotations

import functools

import duckdb
from pygments.lexer import inherit, words
from pygments.lexers.sql import SqlLexer
from pygments.token import Keyword, Name, Number, Punctuation

BYOM_KEYWORDS = (
    "PREDICTOR",
    "PREDICTORS",
    "PREDICT",
    "MODEL",
    "MODELS",
    "RETRAIN",
    "DATABASES",
    "ENGINE",
    "PARAMETERS",
    "USING",
)


@functools.cache
def duckdb_keywords() -> dict[str, str]:
    """DuckDB's keywords and their category (reserved, unreserved, type_function, …)."""
    with duckdb.connect() as db:
        rows = db.execute("SELECT keyword_name, keyword_category FROM duckdb_keywords()")
        return {name.upper(): category for name, category in rows.fetchall()}


def keywords() -> list[str]:
    """Every keyword completion offers, ours first."""
    return list(BYOM_KEYWORDS) + sorted(set(duckdb_keywords()) - set(BYOM_KEYWORDS))


def _highlighted() -> list[str]:
    """Words shown as keywords: ours and DuckDB's reserved ones (the unreserved ones, such as
    `name` or `value`, are more often column names)."""
    reserved = [k for k, c in duckdb_keywords().items() if c in ("reserved", "type_function")]
    return sorted(set(BYOM_KEYWORDS) | set(reserved) | {"ATTACH", "DETACH", "INSTALL", "LOAD"})


class ByomLexer(SqlLexer):  # type: ignore[misc]  # pygments has no types
    """Pygments' SQL lexer, plus our keywords, DuckDB's, `backtick` names, $1 parameters,
    decimal numbers and JSON braces."""

    name = "byom_sql"
    aliases = ["byom"]
    filenames: list[str] = []

    tokens = {
        "root": [
            (r"`[^`]*`", Name),
            (r"\$[0-9]+|\?", Name.Variable),
            (r"[0-9]*\.[0-9]+(e[+-]?[0-9]+)?|[0-9]+e[+-]?[0-9]+", Number.Float),
            (r"(?<=\.)[a-z_]\w*", Name),  # url.predict, t.name: never a keyword after a dot
            (r"[{}]", Punctuation),  # JSON objects in USING and PARAMETERS
            (words(_highlighted(), suffix=r"\b"), Keyword),
            inherit,
        ]
    }
