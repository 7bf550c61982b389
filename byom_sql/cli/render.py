"""Results as text: aligned table, CSV, JSON, JSON lines, markdown. Shared by the one-shot
command and the shell."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa

FORMATS = ("table", "csv", "json", "jsonl", "markdown")
NULL = "NULL"


def cell(value: Any) -> str:
    """A value as the table shows it: NULL distinct from '', floats without noise."""
    if value is None:
        return NULL
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


def rows_of(batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[Any, ...]]:
    for batch in batches:
        yield from zip(*(c.to_pylist() for c in batch.columns), strict=True)


def table(
    names: list[str],
    rows: list[tuple[Any, ...]],
    *,
    types: list[str] | None = None,
    max_width: int = 60,
) -> str:
    """psql-style aligned text; over-long cells are cut with an ellipsis."""
    header = [n if not types else f"{n}\n{t}" for n, t in zip(names, types or names, strict=True)]
    body = [[_clip(cell(v), max_width) for v in row] for row in rows]
    head_lines = [h.split("\n") for h in header]
    widths = [
        max([len(x) for x in head_lines[i]] + [len(r[i]) for r in body]) for i in range(len(names))
    ]
    out = []
    for level in range(max(len(h) for h in head_lines) if head_lines else 0):
        out.append(
            " "
            + " | ".join(
                (h[level] if level < len(h) else "").center(w)
                for h, w in zip(head_lines, widths, strict=True)
            ).rstrip()
        )
    out.append("-" + "-+-".join("-" * w for w in widths) + "-")
    for row in body:
        out.append(" " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    count = len(rows)
    out.append(f"({count} row{'s' if count != 1 else ''})")
    return "\n".join(out)


def markdown(names: list[str], rows: list[tuple[Any, ...]]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(esc(n) for n in names) + " |",
        "|" + "|".join(" --- " for _ in names) + "|",
    ]
    lines += ["| " + " | ".join(esc(cell(v)) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def stream(names: list[str], batches: Iterable[pa.RecordBatch], fmt: str) -> Iterator[str]:
    """Text chunks for the streaming formats (csv, json, jsonl): rows are not all held."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        for row in rows_of(batches):
            writer.writerow(["" if v is None else cell(v) for v in row])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
        return
    option = orjson.OPT_NON_STR_KEYS
    if fmt == "jsonl":
        for row in rows_of(batches):
            yield (
                orjson.dumps(
                    dict(zip(names, row, strict=True)), default=_json_default, option=option
                ).decode()
                + "\n"
            )
        return
    first = True
    yield "["
    for row in rows_of(batches):
        yield ("\n  " if first else ",\n  ") + orjson.dumps(
            dict(zip(names, row, strict=True)), default=_json_default, option=option
        ).decode()
        first = False
    yield "\n]\n" if not first else "]\n"


def _clip(text: str, width: int) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"
