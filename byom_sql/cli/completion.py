"""Completion for the shell: keywords, tables, columns, attached databases, predictors, USING
keys, model formats, and the meta-commands' arguments.

`suggest(text, names)` is pure (the text before the cursor in, suggestions out); the
prompt_toolkit Completer around it adds file names for \\i and \\o.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from byom_sql import sqlbuild
from byom_sql.cli.introspect import Names
from byom_sql.cli.lexer import keywords
from byom_sql.options import ALIASES, FORMATS, OPTIONS

# after these words a relation comes: a table, a predictor, a database or schema to qualify
RELATION_BEFORE = {"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "DESCRIBE", "PREDICTOR", "MODEL"}
RELATION_BEFORE |= {"RETRAIN", "SUMMARIZE", "VIEW"}
_PREDICTOR_STATEMENT = re.compile(
    r"^\s*(CREATE\s+(OR\s+REPLACE\s+)?(PREDICTOR|MODEL)|RETRAIN)\b", re.IGNORECASE
)
_CLAUSE_WORDS = (
    "WHERE|JOIN|ON|USING|GROUP|ORDER|LIMIT|LEFT|RIGHT|INNER|OUTER|FULL|CROSS|NATURAL|POSITIONAL"
    "|ASOF|UNION|HAVING|QUALIFY|WINDOW|OFFSET|EXCEPT|INTERSECT|SEMI|ANTI"
)
# FROM/JOIN name [[AS] alias], the alias not being the next clause's keyword
_RELATION_REF = re.compile(
    rf"\b(?:FROM|JOIN)\s+([\w.\"`]+)(?:\s+(?:AS\s+)?(?!(?:{_CLAUSE_WORDS})\b)([A-Za-z_]\w*))?",
    re.IGNORECASE,
)
_SIMPLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Suggestion:
    text: str  # what replaces the word being typed
    length: int  # how many characters before the cursor it replaces
    meta: str  # shown beside it in the menu


@dataclass(frozen=True)
class MetaArguments:
    """What a meta-command's argument is, for completion: "relation", "path", or a choice."""

    kind: str
    choices: tuple[str, ...] = ()


def suggest(text: str, names: Names, meta: dict[str, MetaArguments]) -> list[Suggestion]:
    """Suggestions for the word before the cursor, `text` being all the text before it."""
    statement = _current_statement(text)
    if statement.lstrip().startswith(("\\", ".")):
        return _meta(statement.lstrip(), names, meta)
    if statement.count("'") % 2:  # inside a string literal
        value = re.search(r"\bformat\s*=\s*'(\w*)$", statement, re.IGNORECASE)
        return _matching(value.group(1), sorted(FORMATS), "model format") if value else []
    word = re.search(r"[\w.]*$", statement).group()  # type: ignore[union-attr]
    before = statement[: len(statement) - len(word)]
    if _is_using_key(before):
        keys = {key: option.doc for key, option in OPTIONS.items()}
        keys.update({alias: f"alias of {key}" for alias, key in ALIASES.items()})
        return _matching(word, list(keys), "option", docs=keys)
    if "." in word:
        qualifier, partial = word.rsplit(".", 1)
        return _qualified(qualifier, partial, statement, names)
    previous = re.findall(r"\w+|[^\s\w]", before)
    after_relation_word = bool(previous) and previous[-1].upper() in RELATION_BEFORE
    relations = _relations(word, names)
    if after_relation_word:
        return relations
    columns = _matching(word, _columns_in_scope(statement, names), "column", quote=True)
    words = _matching(word, keywords(), "keyword", lower=word.islower())
    return columns + words + relations


def _current_statement(text: str) -> str:
    """The text after the last `;` outside quotes (the statement being typed)."""
    start, quote = 0, ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == ";":
            start = index + 1
    return text[start:]


def _is_using_key(before: str) -> bool:
    """The word starts a USING option of CREATE PREDICTOR / RETRAIN (not a JSON key)."""
    if not _PREDICTOR_STATEMENT.match(before):
        return False
    using = [m.end() for m in re.finditer(r"\bUSING\b", before, re.IGNORECASE)]
    if not using:
        return False
    tail = before[using[-1] :]
    if tail.count("{") != tail.count("}") or tail.count("[") != tail.count("]"):
        return False
    return re.search(r"(^|,)\s*$", tail) is not None


def _qualified(qualifier: str, partial: str, statement: str, names: Names) -> list[Suggestion]:
    """After `x.`: columns of table or alias x, tables of schema x, schemas of database x,
    predictors of project x; after `db.schema.`: its tables."""
    parts = [p.strip('"`').lower() for p in qualifier.split(".")]
    found: list[Suggestion] = []
    aliases = _aliases(statement)
    if len(parts) == 1 and parts[0] in aliases:
        parts = aliases[parts[0]]
    for (database, schema, table), columns in names.relations.items():
        path = [database.lower(), schema.lower(), table.lower()]
        if parts == path[-len(parts) :]:  # table., schema.table., database.schema.table.
            found += _matching(partial, columns, "column", quote=True)
        elif parts == path[:1]:  # database.
            found += _matching(partial, [schema], "schema", quote=True)
        elif parts in (path[:2], path[1:2]):  # database.schema., schema.
            found += _matching(partial, [table], "table", quote=True)
    for (project, name), columns in names.predictors.items():
        if parts == [project.lower()]:
            found += _matching(partial, [name], "predictor", quote=True)
        elif parts in ([name.lower()], [project.lower(), name.lower()]):
            found += _matching(partial, columns, "predictor column", quote=True)
    return _unique(found)


def _relations(word: str, names: Names) -> list[Suggestion]:
    tables = sorted({table for _, _, table in names.relations})
    predictors = sorted({name for _, name in names.predictors})
    qualifiers = sorted(set(names.databases) | {s for d in names.schemas().values() for s in d})
    return _unique(
        _matching(word, predictors, "predictor", quote=True)
        + _matching(word, tables, "table", quote=True)
        + _matching(word, qualifiers, "database/schema", quote=True)
    )


def _columns_in_scope(statement: str, names: Names) -> list[str]:
    """Columns of the relations the statement names, else of every relation."""
    mentioned = {parts[-1] for parts in _aliases(statement).values()}
    columns: list[str] = []
    for (_, _, table), cols in names.relations.items():
        if not mentioned or table.lower() in mentioned:
            columns += cols
    for (_, name), cols in names.predictors.items():
        if not mentioned or name.lower() in mentioned:
            columns += cols
    return list(dict.fromkeys(columns))


def _aliases(statement: str) -> dict[str, list[str]]:
    """alias (or table name) → the qualified name it refers to, from FROM and JOIN."""
    found: dict[str, list[str]] = {}
    for match in _RELATION_REF.finditer(statement):
        parts = [p.strip('"`').lower() for p in match.group(1).split(".")]
        found[parts[-1]] = parts
        if match.group(2):
            found[match.group(2).lower()] = parts
    return found


def _meta(line: str, names: Names, meta: dict[str, MetaArguments]) -> list[Suggestion]:
    command, _, argument = line.partition(" ")
    if not _:
        return _matching(command, sorted(meta), "meta-command")
    spec = meta.get(command)
    if spec is None or " " in argument.strip():
        return []
    if spec.kind == "relation":
        return _relations(argument, names)
    return _matching(argument, list(spec.choices), spec.kind)


def _matching(
    word: str,
    candidates: Iterable[str],
    meta: str,
    *,
    lower: bool = False,
    quote: bool = False,
    docs: dict[str, str] | None = None,
) -> list[Suggestion]:
    """Candidates starting with `word` (any case), then those containing it (two letters or
    more); names that need it are double-quoted (`quote`), keywords follow the typed case."""
    folded = word.lower()
    starts, contains = [], []
    for candidate in candidates:
        key = candidate.lower()
        if key.startswith(folded):
            starts.append(candidate)
        elif len(folded) > 1 and folded in key:
            contains.append(candidate)
    out = []
    for candidate in starts + contains:
        text = candidate.lower() if lower else candidate
        if quote and not _SIMPLE_NAME.match(text):
            text = sqlbuild.quote(text)
        out.append(Suggestion(text, len(word), (docs or {}).get(candidate, meta)))
    return out


def _unique(suggestions: list[Suggestion]) -> list[Suggestion]:
    seen: set[str] = set()
    out = []
    for s in suggestions:
        if s.text not in seen:
            seen.add(s.text)
            out.append(s)
    return out


class ShellCompleter(Completer):
    """prompt_toolkit's side: suggestions as Completions, file names for path arguments."""

    def __init__(self, names: Callable[[], Names], meta: dict[str, MetaArguments]) -> None:
        self._names = names
        self._meta = meta
        self._paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        if not event.completion_requested and not re.search(r"[\w.]$", text):
            return  # while typing, only once a word is begun (Tab asks at any point)
        line = _current_statement(text).lstrip()
        command, space, argument = line.partition(" ")
        spec = self._meta.get(command) if space else None
        if spec is not None and spec.kind == "path":
            yield from self._paths.get_completions(Document(argument, len(argument)), event)
            return
        for s in suggest(text, self._names(), self._meta):
            yield Completion(s.text, start_position=-s.length, display_meta=s.meta)
