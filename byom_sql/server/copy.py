"""COPY … TO STDOUT and COPY … FROM STDIN as PostgreSQL speaks them: the statement read into a
`Copy`, rows encoded to and decoded from the text, CSV and binary formats. Pure: the session
runs the query or the INSERT and moves the bytes.

The server answers these itself, so DuckDB never sees STDOUT or STDIN: a wire client cannot
make the server write to its own stdout or read its own stdin.
"""

from __future__ import annotations

import csv
import io
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from byom_sql.errors import FeatureNotSupported, QueryError
from byom_sql.server import pgtypes

_STATEMENT = re.compile(
    r"^\s*COPY\s+(?:\((?P<query>.*)\)|(?P<table>[\w.\"]+)\s*(?:\((?P<columns>[^)]*)\))?)"
    r"\s+(?P<way>TO\s+STDOUT|FROM\s+STDIN)\b(?P<options>.*?)\s*;?\s*$",
    re.I | re.S,
)
_OPTION = re.compile(r"'(?:[^']|'')*'|E'(?:[^'\\]|\\.|'')*'|[\w]+|[(),]", re.I)
BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
BINARY_HEADER = BINARY_SIGNATURE + struct.pack(">ii", 0, 0)
BINARY_TRAILER = struct.pack(">h", -1)


@dataclass(frozen=True)
class Copy:
    out: bool  # TO STDOUT; else FROM STDIN
    query: str | None  # COPY (query) TO STDOUT
    table: str | None  # COPY table [(columns)] …
    columns: tuple[str, ...] = ()
    format: str = "text"  # text, csv, binary
    delimiter: str = "\t"
    null: str = "\\N"
    header: bool = False
    quote: str = '"'
    escape: str = '"'

    @property
    def binary(self) -> bool:
        return self.format == "binary"

    def select(self) -> str:
        """The query whose rows COPY … TO STDOUT sends."""
        if self.query is not None:
            return self.query
        return f"SELECT {', '.join(self.columns) or '*'} FROM {self.table}"


def parse(sql: str) -> Copy | None:
    """The COPY … TO STDOUT / FROM STDIN statement `sql` is, or None if it is not one."""
    match = _STATEMENT.match(sql)
    if match is None:
        return None
    columns = tuple(c.strip() for c in (match["columns"] or "").split(",") if c.strip())
    options = _options(match["options"])
    fmt = options.pop("format", "text").lower()
    if fmt not in ("text", "csv", "binary"):
        raise QueryError(f'COPY format "{fmt}" not recognized', sqlstate="22023")
    csv_format = fmt == "csv"
    quote = options.pop("quote", '"')
    copy = Copy(
        out=match["way"].upper().startswith("TO"),
        query=match["query"],
        table=match["table"],
        columns=columns,
        format=fmt,
        delimiter=options.pop("delimiter", "," if csv_format else "\t"),
        null=options.pop("null", "" if csv_format else "\\N"),
        header=options.pop("header", "false").lower() in ("true", "on", "1", ""),
        quote=quote,
        escape=options.pop("escape", quote),
    )
    options.pop("encoding", None)
    if options:
        raise FeatureNotSupported(f"COPY option {', '.join(options)} is not supported")
    if len(copy.delimiter) != 1:
        raise QueryError("COPY delimiter must be a single one-byte character", sqlstate="22023")
    return copy


def _options(text: str) -> dict[str, str]:
    """WITH (FORMAT csv, HEADER) and the old spellings (WITH CSV HEADER, DELIMITER AS ',')."""
    words = [w for w in _OPTION.findall(text) if w not in ("(", ")", ",")]
    if words and words[0].upper() == "WITH":
        words = words[1:]
    found: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i].lower()
        i += 1
        if word in ("binary", "csv", "text"):
            found["format"] = word
            continue
        if word == "force":
            raise FeatureNotSupported("COPY FORCE options are not supported")
        if i < len(words) and words[i].upper() == "AS":
            i += 1
        takes = word != "header" or (i < len(words) and words[i].lower() in _BOOLEANS)
        if takes and i < len(words):
            found[word] = _unquote(words[i])
            i += 1
        else:
            found[word] = ""
    return found


_BOOLEANS = {"true", "false", "on", "off", "1", "0"}


def _unquote(word: str) -> str:
    if word[:2] in ("E'", "e'"):
        return word[2:-1].encode().decode("unicode_escape").replace("''", "'")
    if word.startswith("'"):
        return word[1:-1].replace("''", "'")
    return word


# out -------------------------------------------------------------------------------------------


def rows(copy: Copy, columns: Sequence[Sequence[bytes | None]], count: int) -> Iterator[bytes]:
    """Each row's CopyData payload; `columns` hold each column's encoded fields (text or binary
    encodings, as the format needs), None for NULL."""
    if copy.binary:
        width = struct.pack(">h", len(columns))
        for values in zip(*columns, strict=True):
            yield width + b"".join(
                b"\xff\xff\xff\xff" if v is None else struct.pack(">i", len(v)) + v for v in values
            )
        return
    null = copy.null.encode()
    field = _csv_field(copy) if copy.format == "csv" else _text_field(copy)
    delimiter = copy.delimiter.encode()
    for values in zip(*columns, strict=True) if columns else ([()] * count):
        yield delimiter.join(null if v is None else field(v) for v in values) + b"\n"


def header(copy: Copy, names: Sequence[str]) -> bytes | None:
    """The header line of a CSV COPY with HEADER; None otherwise."""
    if copy.format != "csv" or not copy.header:
        return None
    field = _csv_field(copy)
    return copy.delimiter.encode().join(field(n.encode()) for n in names) + b"\n"


def _text_field(copy: Copy) -> Callable[[bytes], bytes]:
    delimiter = copy.delimiter.encode()

    def escape(value: bytes) -> bytes:
        value = value.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
        value = value.replace(b"\t", b"\\t")
        return value.replace(delimiter, b"\\" + delimiter) if delimiter != b"\t" else value

    return escape


def _csv_field(copy: Copy) -> Callable[[bytes], bytes]:
    quote, escape, delimiter = copy.quote.encode(), copy.escape.encode(), copy.delimiter.encode()
    null = copy.null.encode()

    def field(value: bytes) -> bytes:
        special = (delimiter, quote, b"\n", b"\r")
        if value == null or any(s in value for s in special) or value[:1].isspace():
            return quote + value.replace(quote, escape + quote) + quote
        return value

    return field


# in --------------------------------------------------------------------------------------------


def decode(copy: Copy, data: bytes, oids: Sequence[int]) -> list[list[object]]:
    """The rows of COPY … FROM STDIN data: strings (text, CSV; None for NULL) or, for binary,
    values decoded by the columns' OIDs."""
    if copy.binary:
        return _decode_binary(data, oids)
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise QueryError(f"COPY data is not UTF-8: {exc}", sqlstate="22021") from None
    found = _decode_csv(copy, text) if copy.format == "csv" else _decode_text(copy, text)
    for number, row in enumerate(found, 1):
        if len(row) != len(oids):
            raise QueryError(
                f"COPY row {number} has {len(row)} fields, the table {len(oids)}",
                sqlstate="22P04",
            )
    return found


def _decode_text(copy: Copy, text: str) -> list[list[object]]:
    found: list[list[object]] = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if line == "\\." or not line:
            continue
        fields = _split(line, copy.delimiter)
        found.append([None if f == copy.null else _unescape(f) for f in fields])
    return found


def _split(line: str, delimiter: str) -> list[str]:
    """Fields of a text-format line: a delimiter after a backslash is part of the field."""
    if "\\" not in line:
        return line.split(delimiter)
    fields, current, i = [], [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            current.append(line[i : i + 2])
            i += 2
            continue
        if line[i] == delimiter:
            fields.append("".join(current))
            current = []
        else:
            current.append(line[i])
        i += 1
    fields.append("".join(current))
    return fields


_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unescape(field: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if code[0] in "01234567":
            return chr(int(code, 8))
        if code[0] == "x":
            return chr(int(code[1:], 16))
        return code

    return re.sub(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", one, field)


def _decode_csv(copy: Copy, text: str) -> list[list[object]]:
    reader = csv.reader(
        io.StringIO(text),
        delimiter=copy.delimiter,
        quotechar=copy.quote,
        doublequote=copy.escape == copy.quote,
        escapechar=None if copy.escape == copy.quote else copy.escape,
    )
    found: list[list[object]] = []
    for number, row in enumerate(reader):
        if (number == 0 and copy.header) or row == ["\\."]:
            continue
        found.append([None if f == copy.null else f for f in row])
    return found


def _decode_binary(data: bytes, oids: Sequence[int]) -> list[list[object]]:
    if not data.startswith(BINARY_SIGNATURE):
        raise QueryError("COPY file signature not recognized", sqlstate="22P04")
    offset = len(BINARY_SIGNATURE) + 4
    (extension,) = struct.unpack_from(">i", data, offset)
    offset += 4 + extension
    found: list[list[object]] = []
    try:
        while True:
            (count,) = struct.unpack_from(">h", data, offset)
            offset += 2
            if count == -1:
                return found
            if count != len(oids):
                raise QueryError(
                    f"COPY row has {count} fields, the table {len(oids)}", sqlstate="22P04"
                )
            row: list[object] = []
            for oid in oids:
                (size,) = struct.unpack_from(">i", data, offset)
                offset += 4
                if size < 0:
                    row.append(None)
                    continue
                row.append(pgtypes.decode_binary(data[offset : offset + size], oid))
                offset += size
            found.append(row)
    except struct.error:
        raise QueryError("COPY binary data ended early", sqlstate="22P04") from None
