"""The shell's meta-commands, in psql's backslash spelling and the DuckDB CLI's dot spelling.
Listing and describing run SQL through the backend, so they work in process and remotely."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from byom_sql.cli import copy, render
from byom_sql.cli.backends import Backend
from byom_sql.cli.completion import MetaArguments
from byom_sql.cli.introspect import DATABASES, tables_query
from byom_sql.cli.screen import Screen, Settings
from byom_sql.errors import Error


class Shell(Protocol):
    """What meta-commands use of the shell."""

    screen: Screen
    settings: Settings
    backend: Backend
    last_sql: str

    def run_sql(self, text: str, source: str = "") -> bool: ...

    def reopen(self, target: str) -> None: ...


ON_OFF = MetaArguments("setting", ("on", "off"))


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]
    usage: str  # the argument, as help shows it
    help: str
    run: Callable[[Shell, str], bool | None]  # False: quit the shell
    argument: MetaArguments = MetaArguments("none")


def run(shell: Shell, line: str) -> bool:
    """Run a meta-command line; False when it asks to quit."""
    name, _, argument = line.partition(" ")
    name, argument = name.rstrip(";"), argument.strip().rstrip(";").strip()
    command = BY_NAME.get(name)
    if command is None:
        shell.screen.error(f"ERROR: unknown command {name}\nHINT: \\? lists the commands")
        return True
    return command.run(shell, argument) is not False


def _help(shell: Shell, _: str) -> None:
    lines = ["Meta-commands (no ; needed):"]
    for command in COMMANDS:
        spellings = "  ".join(f"{n} {command.usage}".rstrip() for n in command.names)
        lines.append(f"  {spellings:<40} {command.help}")
    lines += [
        "",
        "Statements end with ;  Enter on an unfinished statement starts a new line,",
        "Esc Enter runs it anyway. Tab completes, Ctrl-R searches the history,",
        "Ctrl-C cancels a running statement (model calls included), Ctrl-D quits.",
    ]
    shell.screen.write("\n".join(lines) + "\n")


def _quit(shell: Shell, _: str) -> bool:
    return False


def _tables(shell: Shell, pattern: str) -> None:
    shell.run_sql(tables_query(pattern or None))


def _describe(shell: Shell, name: str) -> None:
    shell.run_sql(f"DESCRIBE {name}" if name else tables_query(None))


def _format(shell: Shell, fmt: str) -> None:
    if fmt and fmt not in render.FORMATS:
        shell.screen.error(f"ERROR: unknown format {fmt!r}; formats: {', '.join(render.FORMATS)}")
        return
    shell.settings.format = fmt or shell.settings.format
    shell.screen.write(f"Output format is {shell.settings.format}.\n")


def _toggle(setting: str, label: str) -> Callable[[Shell, str], None]:
    def toggle(shell: Shell, value: str) -> None:
        if value not in ("", "on", "off"):
            shell.screen.error(f"ERROR: expected on or off, not {value!r}")
            return
        now = not getattr(shell.settings, setting) if not value else value == "on"
        setattr(shell.settings, setting, now)
        shell.screen.write(f"{label} {'on' if now else 'off'}.\n")

    return toggle


def _expanded(shell: Shell, value: str) -> None:
    if value not in ("", "on", "off", "auto"):
        shell.screen.error(f"ERROR: expected on, off or auto, not {value!r}")
        return
    current = shell.settings.expanded
    shell.settings.expanded = value or ("off" if current != "off" else "on")
    shell.screen.write(f"Expanded display is {shell.settings.expanded}.\n")


def _max_rows(shell: Shell, value: str) -> None:
    if value:
        if not value.isdigit():
            shell.screen.error(f"ERROR: expected a number of rows (0 for all), not {value!r}")
            return
        shell.settings.max_rows = int(value)
    shown = shell.settings.max_rows or "all"
    shell.screen.write(f"Tables on the screen show {shown} rows.\n")


def _include(shell: Shell, path: str) -> None:
    if not path:
        shell.screen.error("ERROR: \\i needs a file name")
        return
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        shell.screen.error(f"ERROR: cannot read {path}: {error}")
        return
    shell.run_sql(text, source=path)


def _output(shell: Shell, path: str) -> None:
    close_output(shell)
    if not path:
        shell.screen.write("Results go to the screen.\n")
        return
    try:
        shell.settings.output = Path(path).expanduser().open("w", encoding="utf-8")
    except OSError as error:
        shell.screen.error(f"ERROR: cannot write {path}: {error}")
        return
    shell.screen.write(f"Results go to {path}.\n")


def close_output(shell: Shell) -> None:
    if shell.settings.output is not None:
        shell.settings.output.close()
        shell.settings.output = None


def _pset(shell: Shell, argument: str) -> None:
    name, _, value = argument.partition(" ")
    value = value.strip().strip("'")
    if name == "null":
        shell.settings.null = value
        shell.screen.write(f'Null display is "{value}".\n')
    elif name == "pager":
        if value not in ("", "on", "off"):
            shell.screen.error(f"ERROR: expected on or off, not {value!r}")
            return
        shell.settings.pager = not shell.settings.pager if not value else value == "on"
        shell.screen.write(f"Pager usage is {'on' if shell.settings.pager else 'off'}.\n")
    elif name == "format":
        _format(shell, value)
    else:
        shell.screen.error("ERROR: \\pset takes null, pager or format")


def _watch(shell: Shell, argument: str) -> None:
    """Run the last query every N seconds (default 2) until Ctrl-C, as psql's \\watch."""
    try:
        seconds = float(argument or 2)
    except ValueError:
        shell.screen.error(f"ERROR: expected a number of seconds, not {argument!r}")
        return
    if not shell.last_sql:
        shell.screen.error("ERROR: \\watch needs a query to repeat: run one first")
        return
    try:
        while shell.run_sql(shell.last_sql):
            shell.screen.write(shell.screen.dim(f"{time.strftime('%c')} (every {seconds:g}s)\n"))
            time.sleep(seconds)
    except KeyboardInterrupt:
        pass


def _edit(shell: Shell, path: str) -> None:
    """Edit the last query (or FILE) in $EDITOR, then run what was saved."""
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    with tempfile.TemporaryDirectory() as directory:
        target = Path(path).expanduser() if path else Path(directory) / "query.sql"
        if not path:
            target.write_text(shell.last_sql, encoding="utf-8")
        try:
            subprocess.run([*editor, str(target)], check=True)
            text = target.read_text(encoding="utf-8")
        except (OSError, subprocess.CalledProcessError, UnicodeDecodeError) as error:
            shell.screen.error(f"ERROR: the editor failed: {error}")
            return
    if text.strip():
        shell.screen.write(text.rstrip() + "\n")
        shell.last_sql = text
        shell.run_sql(text)


def _connect(shell: Shell, target: str) -> None:
    if not target:
        shell.screen.write(f"Connected to {shell.backend.label}.\n")
        return
    try:
        shell.reopen(target)
    except Error as error:
        shell.screen.error(f"ERROR: {error}\nStill connected to {shell.backend.label}.")
        return
    shell.screen.write(f"Connected to {shell.backend.label}.\n")


def _copy(shell: Shell, argument: str) -> None:
    """Client-side COPY, as psql's \\copy: the file is on this machine, not the server's."""
    try:
        copied = copy.run(shell.backend, argument)
    except Error as error:
        shell.screen.error(f"ERROR: {error}")
        return
    shell.screen.write(f"COPY {copied}\n")


PATH = MetaArguments("path")
RELATION = MetaArguments("relation")
COMMANDS = [
    Command(("\\?", "\\h", ".help"), "", "show this help", _help),
    Command(("\\q", "\\quit", ".quit", ".exit"), "", "quit (also Ctrl-D)", _quit),
    Command(
        ("\\dt", ".tables"), "[PATTERN]", "list tables and views (* matches any text)", _tables
    ),
    Command(
        ("\\dp", ".predictors"), "", "list predictors", lambda s, _: s.run_sql("SHOW PREDICTORS")
    ),
    Command(
        ("\\l", ".databases"),
        "",
        "list databases and their schemas",
        lambda s, _: s.run_sql(DATABASES),
    ),
    Command(
        ("\\d", ".describe"), "[NAME]", "describe a table, view or predictor", _describe, RELATION
    ),
    Command(
        ("\\format", ".mode"),
        "[FORMAT]",
        "output format: " + ", ".join(render.FORMATS),
        _format,
        MetaArguments("format", render.FORMATS),
    ),
    Command(
        ("\\timing", ".timer"),
        "[on|off]",
        "show the time each statement took",
        _toggle("timing", "Timing is"),
        ON_OFF,
    ),
    Command(
        ("\\types", ".types"),
        "[on|off]",
        "show column types under the names",
        _toggle("types", "Column types are"),
        ON_OFF,
    ),
    Command(
        ("\\x", ".expanded"),
        "[on|off|auto]",
        "one record per row block (auto: when a table is too wide)",
        _expanded,
        MetaArguments("setting", ("on", "off", "auto")),
    ),
    Command(
        ("\\maxrows", ".maxrows"), "[N]", "rows a table shows on the screen (0: all)", _max_rows
    ),
    Command(("\\i", ".read"), "FILE", "run the statements in FILE", _include, PATH),
    Command(
        ("\\o", ".output"), "[FILE]", "send results to FILE (none: to the screen)", _output, PATH
    ),
    Command(
        ("\\pset",),
        "null TEXT|pager [on|off]|format F",
        "how NULL is shown; page long results through $PAGER; the output format",
        _pset,
        MetaArguments("setting", ("null", "pager", "format")),
    ),
    Command(
        ("\\watch",), "[SECONDS]", "run the last query again every SECONDS (Ctrl-C stops)", _watch
    ),
    Command(
        ("\\e", ".edit"),
        "[FILE]",
        "edit the last query (or FILE) in $EDITOR, then run it",
        _edit,
        PATH,
    ),
    Command(
        ("\\c", "\\connect", ".open"),
        "FILE|URL",
        "switch to another database file, or a server (postgresql://…)",
        _connect,
        PATH,
    ),
    Command(
        ("\\copy",),
        "(QUERY)|TABLE TO|FROM FILE [csv|json|jsonl]",
        "copy between a local file and a query or table",
        _copy,
        PATH,
    ),
]
BY_NAME = {name: command for command in COMMANDS for name in command.names}
ARGUMENTS = {name: command.argument for name, command in BY_NAME.items()}
