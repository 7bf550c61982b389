"""The `byom-sql` command: a thin adapter over the library.

    byom-sql [--database PATH] [-c SQL]... [-f FILE] [--format F]   one-shot (or SQL on stdin)
    byom-sql [--database PATH]                                      interactive shell
    byom-sql --connect postgresql://host:port/ [-c SQL]…           the same, on a remote server
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
from byom_sql.cli.backends import Backend, Outcome, open_backend
from byom_sql.dialect import decode
from byom_sql.errors import Error

Run = Callable[[argparse.Namespace], int]
AddArguments = Callable[[argparse.ArgumentParser], None]

# name → (help, add its arguments, run it); filled by the modules in SUBCOMMAND_MODULES
SUBCOMMANDS: dict[str, tuple[str, AddArguments, Run]] = {}
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "byom_sql.cli.serve",
    "byom_sql.cli.serve_model",
    "byom_sql.cli.demo",
)


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
        "--connect",
        metavar="URL",
        help="run against a remote `byom-sql serve` (any Postgres server), e.g. "
        "postgresql://host:5432/ ; --database is then ignored",
    )
    parser.add_argument(
        "-c",
        "--command",
        action="append",
        dest="scripts",
        default=[],
        type=lambda sql: ("-c", sql),
        metavar="SQL",
        help="run SQL and exit (repeatable; -c and -f run in the order given)",
    )
    parser.add_argument(
        "-f",
        "--file",
        action="append",
        dest="scripts",
        type=lambda path: ("-f", path),
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
        scripts = _scripts(args.scripts)
        if not scripts and not sys.stdin.isatty():
            scripts = [("stdin", _read("-"))]
        if not scripts:
            return _shell(args)
        backend = open_backend(args.database, args.connect)
        try:
            return run_scripts(backend, scripts, args.format, sys.stdout, sys.stderr)
        finally:
            backend.close()
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
    backend: Backend, scripts: list[tuple[str, str]], fmt: str, out: TextIO, err: TextIO
) -> int:
    for source, sql in scripts:
        if not run_script(backend, source, sql, fmt, out, err):
            return 1
    return 0


def run_script(backend: Backend, source: str, sql: str, fmt: str, out: TextIO, err: TextIO) -> bool:
    """Run each statement, printing its result; stop at the first error (reported)."""
    try:
        for outcome in backend.execute(sql):
            print_result(outcome, fmt, out)
            for warning in outcome.warnings:
                print(f"WARNING:  {warning}", file=err)
    except Error as error:
        print(render.error(error, sql, source if source != "-c #1" else ""), file=err)
        return False
    return True


def print_result(outcome: Outcome, fmt: str, out: TextIO) -> None:
    if outcome.rows is None:
        if fmt in ("table", "markdown"):
            out.write(outcome.status + "\n")
        return
    for chunk in render.formatted(outcome.columns, outcome.rows, fmt, types=outcome.types):
        out.write(chunk)
    if fmt in ("table", "markdown"):
        out.write("\n")


def _scripts(given: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(source, text) of each -c and -f, in the order given (as psql runs them)."""
    scripts, commands = [], 0
    for option, value in given:
        if option == "-c":
            commands += 1
            scripts.append((f"-c #{commands}", value))
        else:
            scripts.append((value, _read(value)))
    return scripts


def _shell(args: argparse.Namespace) -> int:
    from byom_sql.cli import shell

    return shell.run(args)


def _read(path: str) -> str:
    """A script's text; bytes that are not UTF-8 are an error saying where, not a traceback."""
    if path == "-":
        return decode(sys.stdin.buffer.read())
    try:
        with open(path, "rb") as handle:
            return decode(handle.read())
    except OSError as error:
        raise Error(f"cannot read {path}: {error.strerror or error}") from None


def _load_subcommands() -> None:
    """Import the modules that register subcommands."""
    import importlib

    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module)


if __name__ == "__main__":
    sys.exit(main())
