"""Results and errors as text: aligned table (fitted to a width on demand), expanded records,
CSV, JSON, JSON lines, markdown. Shared by the one-shot command and the shell."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from byom_sql.errors import Error, SqlSyntaxError, caret, line_and_column

FORMATS = ("table", "csv", "json", "jsonl", "markdown")
NULL = "NULL"
MIN_WIDTH = 8  # a column fitted to the screen keeps at least this many characters

Row = tuple[Any, ...]
Style = Callable[[str], str]


@dataclass(frozen=True)
class Omitted:
    """Stands for rows left out of a long result (the shell shows the head and the tail)."""

    count: int


def cell(value: Any, null_text: str = NULL) -> str:
    """A value as the table shows it: NULL distinct from '', floats without noise."""
    if value is None:
        return null_text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, list | dict):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    return str(value)


def numeric(types: Sequence[str] | None) -> list[bool]:
    """Which columns hold numbers (right-aligned, as psql does), by their type names."""
    return [(t or "").split("(")[0].strip().lower() in _NUMERIC for t in types or ()]


_NUMERIC = {
    "tinyint", "smallint", "integer", "int", "int2", "int4", "int8", "bigint", "hugeint",
    "utinyint", "usmallint", "uinteger", "ubigint", "uhugeint", "float", "float4", "float8",
    "real", "double", "double precision", "decimal", "numeric",
}  # fmt: skip


def table(
    names: list[str],
    rows: Sequence[Row | Omitted],
    *,
    types: list[str] | None = None,
    right: Sequence[bool] = (),
    max_width: int = 60,
    width: int | None = None,
    null: Style | None = None,
    null_text: str = NULL,
    footer: bool = True,
) -> str:
    """psql-style aligned text for the screen. Cells over `max_width` are cut with an
    ellipsis; given `width`, columns are narrowed, then middle ones dropped (shown as one …
    column), to fit. `null` styles NULL cells (the shell dims them); `types` adds a line of
    column types under the names; columns marked in `right` are right-aligned."""
    heads = [[n, t] for n, t in zip(names, types, strict=True)] if types else [[n] for n in names]
    body = [
        r if isinstance(r, Omitted) else [_clip(cell(v, null_text), max_width) for v in r]
        for r in rows
    ]
    widths = [
        max([len(h) for h in heads[i]] + [len(r[i]) for r in body if not isinstance(r, Omitted)])
        for i in range(len(names))
    ]
    columns = _fit(widths, width) if width else list(range(len(names)))

    def line(text: Callable[[int], str]) -> str:
        return (" " + " | ".join("…" if i < 0 else text(i) for i in columns)).rstrip()

    def data(source: Row, row: list[str], i: int) -> str:
        text = _clip(row[i], widths[i])
        padding = " " * (widths[i] - len(text))
        shown = null(text) if null and source[i] is None else text
        return padding + shown if i < len(right) and right[i] else shown + padding

    lines = [
        line(functools.partial(_head, heads, widths, level))
        for level in range(len(heads[0]) if heads else 0)
    ]
    lines.append("-" + "-+-".join("-" * (widths[i] if i >= 0 else 1) for i in columns) + "-")
    for source, row in zip(rows, body, strict=True):
        if isinstance(row, Omitted) or isinstance(source, Omitted):
            lines.append(line(lambda i: "…".center(widths[i])))
        else:
            lines.append(line(functools.partial(data, source, row)))
    if footer:
        lines.append(count_rows(sum(r.count if isinstance(r, Omitted) else 1 for r in rows)))
    return "\n".join(lines)


def _fit(widths: list[int], width: int) -> list[int]:
    """Narrow `widths` (in place) and choose the columns that fit in `width` characters: the
    first and last ones, -1 standing for the dropped middle ones."""

    def total(columns: list[int]) -> int:
        return sum(widths[i] if i >= 0 else 1 for i in columns) + 3 * (len(columns) - 1) + 2

    every = list(range(len(widths)))
    while total(every) > width and max(widths, default=0) > MIN_WIDTH:
        widest = max(every, key=lambda i: widths[i])
        widths[widest] -= 1
    if total(every) <= width or len(every) < 3:
        return every

    def keep(left: int, right: int) -> list[int]:
        return every[:left] + [-1] + every[len(every) - right :]

    left, right = 1, 1
    while left + right < len(every):
        trial = (left + 1, right) if left <= right else (left, right + 1)
        if total(keep(*trial)) > width:
            break
        left, right = trial
    return keep(left, right)


def expanded(
    names: list[str],
    rows: Sequence[Row | Omitted],
    *,
    width: int | None = None,
    null: Style | None = None,
    null_text: str = NULL,
) -> str:
    """One block per row, one line per column (psql's \\x): for results too wide for a table."""
    name_width = max((len(n) for n in names), default=0)
    value_width = max(width - name_width - 3, MIN_WIDTH) if width else 10**9
    out, number = [], 0
    for row in rows:
        if isinstance(row, Omitted):
            out.append(f"… {row.count} more record{'s' if row.count != 1 else ''} …")
            number += row.count
            continue
        number += 1
        out.append(f"-[ RECORD {number} ]" + "-" * max(name_width - 8, 1))
        for name, value in zip(names, row, strict=True):
            text = _clip(cell(value, null_text), value_width)
            text = null(text) if null and value is None else text
            out.append(f"{name.ljust(name_width)} | {text}")
    return "\n".join(out)


class Counted:
    """Rows passing through, counted."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Row]:
        for row in self._rows:
            self.count += 1
            yield row


def count_rows(count: int) -> str:
    return f"({count} row{'s' if count != 1 else ''})"


def markdown(names: list[str], rows: Iterable[Row]) -> Iterator[str]:
    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    yield "| " + " | ".join(esc(n) for n in names) + " |\n"
    yield "|" + "|".join(" --- " for _ in names) + "|\n"
    for block in _blocks(rows):
        yield "".join("| " + " | ".join(esc(cell(v)) for v in row) + " |\n" for row in block)


def aligned(
    names: list[str],
    rows: Iterable[Row],
    *,
    right: Sequence[bool] = (),
    null_text: str = NULL,
    footer: bool = True,
) -> Iterator[str]:
    """psql-style aligned text, never cut, streamed a block of rows at a time: a column
    widens when a later block needs it (as psql's FETCH_COUNT output does)."""
    widths = [len(n) for n in names]
    count = 0
    for block in _blocks(rows):
        body = [[cell(v, null_text).replace("\n", "\\n") for v in row] for row in block]
        widths = [max([w, *(len(r[i]) for r in body)]) for i, w in enumerate(widths)]
        lines = []
        if count == 0:
            lines.append((" " + " | ".join(map(str.center, names, widths))).rstrip())
            lines.append("-" + "-+-".join("-" * w for w in widths) + "-")
        for values in body:
            padded = (
                v.rjust(w) if i < len(right) and right[i] else v.ljust(w)
                for i, (v, w) in enumerate(zip(values, widths, strict=True))
            )
            lines.append((" " + " | ".join(padded)).rstrip())
        count += len(body)
        yield "\n".join(lines) + "\n"
    if footer:
        yield count_rows(count) + "\n"


def formatted(
    names: list[str],
    rows: Iterable[Row],
    fmt: str,
    *,
    types: list[str] | None = None,
    null_text: str = NULL,
    footer: bool = True,
) -> Iterator[str]:
    """A whole result in `fmt`, as chunks of text, streamed, no cell ever cut (output that is
    not a screen: a pipe, a file)."""
    if fmt == "table":
        yield from aligned(names, rows, right=numeric(types), null_text=null_text, footer=footer)
    elif fmt == "markdown":
        yield from markdown(names, rows)
    else:
        yield from _stream(names, rows, fmt)


def _stream(names: list[str], rows: Iterable[Row], fmt: str) -> Iterator[str]:
    """Text chunks for the streaming formats (csv, json, jsonl): rows are not all held."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if v is None else cell(v) for v in row])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
        return
    option = orjson.OPT_NON_STR_KEYS
    if fmt == "jsonl":
        for row in rows:
            yield (
                orjson.dumps(
                    dict(zip(names, row, strict=True)), default=_json_default, option=option
                ).decode()
                + "\n"
            )
        return
    first = True
    yield "["
    for row in rows:
        yield ("\n  " if first else ",\n  ") + orjson.dumps(
            dict(zip(names, row, strict=True)), default=_json_default, option=option
        ).decode()
        first = False
    yield "\n]\n" if not first else "]\n"


BLOCK = 10_000  # rows formatted at a time


def _blocks(rows: Iterable[Row], size: int = BLOCK) -> Iterator[list[Row]]:
    """Rows in lists of `size`; at least one (maybe empty) list, so headers get written."""
    iterator = iter(rows)
    block = list(itertools.islice(iterator, size))
    yield block
    while block := list(itertools.islice(iterator, size)):
        yield block


def error(err: Error, sql: str, source: str = "") -> str:
    """`ERROR: message`, and for a position in the text, where it is with a caret."""
    where = f" ({source})" if source else ""
    text = f"ERROR{where}: {err}"
    if isinstance(err, SqlSyntaxError):
        return text
    if err.position is not None and 0 <= err.position <= len(sql):
        line, column = line_and_column(sql, err.position)
        text += f"\nLINE {line}, column {column}:\n{caret(sql, err.position)}"
    return text


def _head(heads: list[list[str]], widths: list[int], level: int, i: int) -> str:
    return _clip(heads[i][level], widths[i]).center(widths[i])


def _clip(text: str, width: int) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
