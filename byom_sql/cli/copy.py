"""The shell's `\\copy`: COPY with the file on the client's side, as psql does, so it works the
same in process and against a remote server (which may not see this machine's files).

    \\copy (SELECT …) TO 'out.csv' [csv|json|jsonl]     \\copy table TO out.csv
    \\copy table FROM 'in.csv'                           (CSV with a header line)
"""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

from byom_sql.cli import render
from byom_sql.cli.backends import Backend
from byom_sql.errors import Error
from byom_sql.sqlbuild import names, quote_string

_COPY = re.compile(
    r"^(?P<source>\(.*\)|[\w.\"]+)\s+(?P<way>TO|FROM)\s+(?P<file>'[^']*'|\S+)"
    r"(?:\s+(?:WITH\s*)?\(?\s*(?:FORMAT\s+)?(?P<format>csv|json|jsonl)\s*\)?)?\s*;?\s*$",
    re.I | re.S,
)
ROWS_PER_INSERT = 1000


def run(backend: Backend, argument: str) -> int:
    """Copy as `argument` says; the number of rows copied."""
    match = _COPY.match(argument.strip())
    if match is None:
        raise Error(
            "cannot read the \\copy command",
            hint="\\copy (SELECT …) TO 'file' [csv|json|jsonl], or \\copy table FROM 'file'",
        )
    source, path = match["source"], Path(match["file"].strip("'")).expanduser()
    fmt = (match["format"] or "csv").lower()
    try:
        if match["way"].upper() == "TO":
            query = source[1:-1] if source.startswith("(") else f"SELECT * FROM {source}"
            return _copy_to(backend, query, path, fmt)
        if source.startswith("(") or fmt != "csv":
            raise Error("\\copy … FROM reads a CSV file into a table")
        return _copy_from(backend, source, path)
    except OSError as error:
        raise Error(f"cannot use {path}: {error.strerror or error}") from None


def _copy_to(backend: Backend, query: str, path: Path, fmt: str) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        for outcome in backend.execute(query):
            if outcome.rows is None:
                continue
            counted = render.Counted(outcome.rows)
            for chunk in render.formatted(outcome.columns, counted, fmt):
                out.write(chunk)
            count = counted.count
    return count


def _copy_from(backend: Backend, table: str, path: Path) -> int:
    count = 0
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            return 0
        columns = names(header)
        while batch := list(itertools.islice(reader, ROWS_PER_INSERT)):
            values = ", ".join(
                "(" + ", ".join("NULL" if v == "" else quote_string(v) for v in row) + ")"
                for row in batch
            )
            for _ in backend.execute(f"INSERT INTO {table} ({columns}) VALUES {values}"):
                pass
            count += len(batch)
    return count
