"""Postgres session settings (GUCs): their names, defaults, and the SET / SHOW / RESET statements.

Settings live per session in `SessionState.settings`, by lower-case name; the server seeds them
from `state.DEFAULT_SETTINGS` and the startup packet. This module knows the canonical spelling
(SHOW DateStyle answers in a column named "DateStyle"), the defaults of settings Postgres has but
the server does not seed, and how to read the statements. It is pure: text in, decision out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType  # type: ignore[attr-defined]

from byom_sql.errors import QueryError, SqlSyntaxError

# canonical name → (default when the session has no value, description for SHOW ALL)
KNOWN: dict[str, tuple[str, str]] = {
    "application_name": ("", "Sets the application name to be reported in statistics and logs."),
    "array_nulls": ("on", "Enable input of NULL elements in arrays."),
    "backslash_quote": ("safe_encoding", 'Sets whether "\\\'" is allowed in string literals.'),
    "block_size": ("8192", "Shows the size of a disk block."),
    "bytea_output": ("hex", "Sets the output format for bytea."),
    "client_encoding": ("UTF8", "Sets the client's character set encoding."),
    "client_min_messages": ("notice", "Sets the message levels that are sent to the client."),
    "DateStyle": ("ISO, MDY", "Sets the display format for date and time values."),
    "default_table_access_method": ("heap", "Sets the default table access method."),
    "default_transaction_deferrable": ("off", "Sets the default deferrable status."),
    "default_transaction_isolation": ("read committed", "Sets the default isolation level."),
    "default_transaction_read_only": ("off", "Sets the default read-only status."),
    "escape_string_warning": ("on", "Warn about backslash escapes in ordinary strings."),
    "extra_float_digits": ("1", "Sets the number of digits displayed for floating-point values."),
    "idle_in_transaction_session_timeout": ("0", "Idle-in-transaction timeout (ms)."),
    "idle_session_timeout": ("0", "Idle session timeout (ms)."),
    "in_hot_standby": ("off", "Shows whether hot standby is currently active."),
    "integer_datetimes": ("on", "Shows whether datetimes are integer based."),
    "IntervalStyle": ("postgres", "Sets the display format for interval values."),
    "is_superuser": ("on", "Shows whether the current user is a superuser."),
    "jit": ("off", "Allow JIT compilation."),
    "lc_collate": ("C", "Shows the collation order locale."),
    "lc_ctype": ("C", "Shows the character classification and case conversion locale."),
    "lc_messages": ("C", "Sets the language in which messages are displayed."),
    "lc_monetary": ("C", "Sets the locale for formatting monetary amounts."),
    "lc_numeric": ("C", "Sets the locale for formatting numbers."),
    "lc_time": ("C", "Sets the locale for formatting date and time values."),
    "lock_timeout": ("0", "Sets the maximum allowed duration of any wait for a lock (ms)."),
    "max_connections": ("100", "Sets the maximum number of concurrent connections."),
    "max_identifier_length": ("63", "Shows the maximum identifier length."),
    "max_index_keys": ("32", "Shows the maximum number of index keys."),
    "row_security": ("on", "Enable row security."),
    "search_path": ('"$user", public', "Sets the schema search order for names."),
    "server_encoding": ("UTF8", "Shows the server (database) character set encoding."),
    "server_version": ("16.0", "Shows the server version."),
    "server_version_num": ("160000", "Shows the server version as an integer."),
    "session_authorization": ("", "Sets the session user name."),
    "standard_conforming_strings": ("on", "Causes '...' strings to treat backslashes literally."),
    "statement_timeout": ("0", "Sets the maximum allowed duration of any statement (ms)."),
    "synchronous_commit": ("on", "Sets the current transaction's synchronization level."),
    "TimeZone": ("UTC", "Sets the time zone for displaying and interpreting time stamps."),
    "timezone_abbreviations": ("Default", "Selects a file of time zone abbreviations."),
    "transaction_deferrable": ("off", "Whether to defer a read-only serializable transaction."),
    "transaction_isolation": ("read committed", "Sets the current transaction's isolation level."),
    "transaction_read_only": ("off", "Sets the current transaction's read-only status."),
    "work_mem": ("4MB", "Sets the maximum memory to be used for query workspaces."),
    "xmloption": ("content", "Sets whether XML data is to be considered documents or content."),
}
CANONICAL = {name.lower(): name for name in KNOWN}
# multi-word spellings SHOW and SET accept for one setting
ALIASES = {
    "transaction isolation level": "transaction_isolation",
    "time zone": "timezone",
    "session authorization": "session_authorization",
    "names": "client_encoding",
    "schema": "search_path",
}
# settings a session may only read
READ_ONLY = {
    "block_size",
    "in_hot_standby",
    "integer_datetimes",
    "is_superuser",
    "lc_collate",
    "lc_ctype",
    "max_identifier_length",
    "max_index_keys",
    "server_encoding",
    "server_version",
    "server_version_num",
}


_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class SetStatement:
    """SET name TO value / RESET name; `value` None means the session's default (RESET,
    SET … TO DEFAULT); `name` "all" with RESET ALL."""

    name: str  # lower case
    value: str | None


def canonical(name: str) -> str:
    """The spelling Postgres shows (DateStyle, TimeZone) of a lower-case setting name."""
    return CANONICAL.get(name, name)


def is_known(name: str) -> bool:
    """A Postgres setting, or a custom one (`myapp.tenant`, which Postgres accepts too)."""
    return name in CANONICAL or "." in name


def default(name: str, user: str) -> str:
    if name == "session_authorization":
        return user
    return KNOWN.get(canonical(name), ("", ""))[0]


def value(settings: dict[str, str], name: str, user: str) -> str:
    return settings.get(name, default(name, user))


def all_settings(settings: dict[str, str], user: str) -> list[tuple[str, str, str]]:
    """(canonical name, value, description) of every known or set setting, by name."""
    names = {n.lower() for n in KNOWN} | set(settings)
    rows = [
        (canonical(n), value(settings, n, user), KNOWN.get(canonical(n), ("", ""))[1])
        for n in names
    ]
    return sorted(rows, key=lambda row: row[0].lower())


def show_target(sql: str) -> str | None:
    """The lower-case setting name of `SHOW name` (or "all"), None for other SHOW statements
    (SHOW TABLES …, which are the engine's) and for text that is not SHOW."""
    words = _words(sql)
    if len(words) < 2 or words[0] != "show":
        return None
    name = " ".join(words[1:])
    return ALIASES.get(name, name) if " " in name else name


def parse_set(sql: str) -> SetStatement | None:
    """SET [SESSION|LOCAL] name {TO|=} value[, …], SET TIME ZONE x, SET NAMES x,
    SET SCHEMA x, RESET name, RESET ALL; None for anything else (SET TRANSACTION …)."""
    tokens = _tokens(sql)
    if not tokens:
        return None
    verb = tokens[0].text.lower()
    if verb == "reset" and len(tokens) > 1:
        return SetStatement("".join(t.text.lower() for t in tokens[1:]), None)
    if verb != "set" or len(tokens) < 3:
        return None
    rest = tokens[1:]
    if rest[0].text.lower() in ("session", "local") and len(rest) > 2:
        rest = rest[1:]
    words = [t.text.lower() for t in rest]
    for alias, name in ALIASES.items():
        size = len(alias.split())
        if " ".join(words[:size]) == alias and name != "transaction_isolation":
            return SetStatement(name, _value(rest[size:], sql))
    split = next((i for i, word in enumerate(words) if word in ("to", "=")), None)
    if not split:
        return None
    return SetStatement("".join(words[:split]), _value(rest[split + 1 :], sql))


def _value(tokens: list[Token], sql: str) -> str | None:
    """The value as Postgres stores it: items joined by ', ', DEFAULT/LOCAL → None."""
    if not tokens:
        raise SqlSyntaxError("SET needs a value", sql=sql, position=len(sql))
    if len(tokens) == 1 and tokens[0].text.lower() in ("default", "local"):
        return None
    items, current = [], ""
    for token in tokens:
        if token.token_type == TokenType.COMMA:
            items.append(current)
            current = ""
        elif token.token_type == TokenType.IDENTIFIER and not _PLAIN.match(token.text):
            current += f'"{token.text}"'
        else:
            current += token.text
    items.append(current)
    return ", ".join(items)


def check_settable(name: str) -> None:
    if name in READ_ONLY:
        raise QueryError(f'parameter "{name}" cannot be changed', sqlstate="55P02")
    if not is_known(name):
        raise QueryError(f'unrecognized configuration parameter "{name}"', sqlstate="42704")


def _tokens(sql: str) -> list[Token]:
    try:
        tokens = Postgres().tokenize(sql)
    except TokenError:
        return []
    while tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        tokens.pop()
    return tokens


def _words(sql: str) -> list[str]:
    return sql.strip().rstrip(";").lower().split()
