"""The `byom-sql` command: a thin adapter over the library.

    byom-sql [--database PATH] [-c SQL]... [-f FILE] [--format F]   one-shot (or SQL on stdin)
    byom-sql [--database PATH]                                      interactive shell
    byom-sql <subcommand> …                                         serve, demo, …

Domain errors become `ERROR: …` on stderr and exit status 1; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from byom_sql import __version__
from byom_sql.cli import render
from byom_sql.engine import Connection, Engine, EngineConfig
from byom_sql.errors import Error, SqlSyntaxError, caret, line_and_column
from byom_sql.result import Result

Run = Callable[[argparse.Namespace], int]
AddArguments = Callable[[argparse.ArgumentParser], None]

# name → (help, add its arguments, run it); filled by the modules in SUBCOMMAND_MODULES
SUBCOMMANDS: dict[str, tuple[str, AddArguments, Run]] = {}
SUBCOMMAND_MODULES: tuple[str, ...] = ("byom_sql.demo.command",)


def subcommand(name: str, help_text: str, arguments: AddArguments) -> Callable[[Run], Run]:
    """Register `byom-sql <name>`: `arguments` adds its options, the function runs it."""

    def register(run: Run) -> Run:
        SUBCOMMANDS[name] = (help_text, arguments, run)
        return run

    return register


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byom-sql",
        description="A prediction server with its own SQL dialect. Without -c/-f and on a "
        "terminal, opens the interactive shell; with SQL on stdin, runs it.",
    )
    parser.add_argument("--version", action="version", version=f"byom-sql {__version__}")
    add_database_option(parser)
    parser.add_argument(
        "-c",
        "--command",
        action="append",
        default=[],
        metavar="SQL",
        help="run SQL and exit (repeatable)",
    )
    parser.add_argument(
        "-f",
        "--file",
        action="append",
        default=[],
        metavar="FILE",
        help="run a SQL script and exit (repeatable; - for stdin)",
    )
    parser.add_argument(
        "--format",
        choices=render.FORMATS,
        default="table",
        help="output format for results (default: table)",
    )
    parser.add_argument("--debug", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="subcommand", metavar="<subcommand>")
    for name, (help_text, add_arguments, _) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        add_arguments(sub)
    return parser


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        "-d",
        default=":memory:",
        metavar="PATH",
        help="DuckDB database file holding data and predictors (default: memory)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    _load_subcommands()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.subcommand:
            return SUBCOMMANDS[args.subcommand][2](args)
        scripts = [(f"-c #{i + 1}", sql) for i, sql in enumerate(args.command)]
        scripts += [(path, _read(path)) for path in args.file]
        if not scripts and not sys.stdin.isatty():
            scripts = [("stdin", sys.stdin.read())]
        if not scripts:
            return _shell(args)
        return run_scripts(args.database, scripts, args.format, sys.stdout, sys.stderr)
    except Error as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1


def run_scripts(
    database: str, scripts: list[tuple[str, str]], fmt: str, out: TextIO, err: TextIO
) -> int:
    with Engine(database, EngineConfig()) as engine, engine.connect() as conn:
        for source, sql in scripts:
            if not run_script(conn, source, sql, fmt, out, err):
                return 1
    return 0


def run_script(conn: Connection, source: str, sql: str, fmt: str, out: TextIO, err: TextIO) -> bool:
    """Run each statement, printing its result; stop at the first error (reported)."""
    try:
        for result in conn.stream(sql):
            print_result(result, fmt, out)
    except Error as error:
        print(format_error(error, sql, source), file=err)
        return False
    return True


def print_result(result: Result, fmt: str, out: TextIO) -> None:
    if not result.has_rows:
        if fmt in ("table", "markdown"):
            out.write(result.status + "\n")
        return
    if fmt in ("table", "markdown"):
        table = result.arrow()
        rows = list(render.rows_of(table.to_batches()))
        text = (
            render.table(table.column_names, rows)
            if fmt == "table"
            else render.markdown(table.column_names, rows)
        )
        out.write(text + "\n\n")
        return
    for chunk in render.stream(result.columns, result.batches(), fmt):
        out.write(chunk)


def format_error(error: Error, sql: str, source: str = "") -> str:
    """`ERROR: message`, and for a position in the text, where it is with a caret."""
    where = f" ({source})" if source and source != "-c #1" else ""
    if isinstance(error, SqlSyntaxError):
        return f"ERROR{where}: {error}"
    text = f"ERROR{where}: {error}"
    if error.position is not None and 0 <= error.position <= len(sql):
        line, column = line_and_column(sql, error.position)
        text += f"\nLINE {line}, column {column}:\n{caret(sql, error.position)}"
    return text


def _shell(args: argparse.Namespace) -> int:
    from byom_sql.cli import shell

    return shell.run(args)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _load_subcommands() -> None:
    """Import the modules that register subcommands."""
    import importlib

    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module)


if __name__ == "__main__":
    sys.exit(main())
