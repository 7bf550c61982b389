"""The interactive shell: `byom-sql [--database PATH | --connect URL]` on a terminal.

Input is read with prompt_toolkit (multi-line until `;`, history, Ctrl-R, highlighting,
completion). Each input runs in a worker thread so that the main thread stays free to draw the
progress line and to turn Ctrl-C into Backend.interrupt(); results and errors are written by
the worker through `Screen`, which never lets them mix with the progress line.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from prompt_toolkit import PromptSession, search
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.filters import Condition, completion_is_selected, is_searching
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.lexers import PygmentsLexer
from sqlglot.errors import TokenError

from byom_sql import __version__
from byom_sql.cli import meta, render
from byom_sql.cli.backends import Backend, Outcome, Row, open_backend
from byom_sql.cli.completion import ShellCompleter
from byom_sql.cli.introspect import Names, load_names
from byom_sql.cli.lexer import ByomLexer
from byom_sql.cli.screen import Screen, Settings
from byom_sql.dialect import DIALECT
from byom_sql.errors import Error, QueryCanceled
from byom_sql.result import Progress

log = logging.getLogger(__name__)

PROGRESS_AFTER = 1.0  # seconds a statement runs before the progress line appears
# statements after which the names offered by completion may have changed
CHANGES_NAMES = ("CREATE", "DROP", "ALTER", "ATTACH", "DETACH", "RETRAIN", "USE", "IMPORT")


def run(args: argparse.Namespace) -> int:
    backend = open_backend(args.database, args.connect)
    try:
        return Shell(backend, fmt=args.format).loop()
    finally:
        backend.close()


@dataclass
class Activity:
    """What the worker is doing, for the progress line."""

    running_since: float | None = None
    progress: Progress | None = None
    canceling: bool = False


class Shell:
    def __init__(self, backend: Backend, fmt: str = "table") -> None:
        self.backend = backend
        self.screen = Screen(sys.stdout, sys.stderr)
        self.settings = Settings(format=fmt, pager=bool(os.environ.get("PAGER")))
        self.last_sql = ""  # what \e edits and \watch repeats
        self.names = Names()
        self.activity = Activity()
        self._canceled = threading.Event()
        self.session: PromptSession[str] = PromptSession(
            history=open_history(),
            lexer=PygmentsLexer(ByomLexer),
            completer=ShellCompleter(lambda: self.names, meta.ARGUMENTS),
            complete_while_typing=True,
            auto_suggest=AutoSuggestFromHistory(),
            multiline=Condition(lambda: not is_complete(self.session.default_buffer.text)),
            prompt_continuation=lambda width, *_: "-> ".rjust(width),
            key_bindings=_key_bindings(),
            enable_open_in_editor=True,
            search_ignore_case=True,
        )

    def loop(self) -> int:
        self.screen.write(
            f"byom-sql {__version__} · {self.backend.label}\n"
            "Statements end with ;  \\? for help, \\q or Ctrl-D to quit.\n"
        )
        self.refresh_names()
        self.run_rc_file()
        while True:
            try:
                text = self.session.prompt(f"{self.backend.prompt}> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            try:
                if not self.handle(text):
                    break
            except KeyboardInterrupt:  # between statements: nothing to cancel
                continue
        meta.close_output(self)
        return 0

    def handle(self, text: str) -> bool:
        """Run one input (SQL or a meta-command); False to quit."""
        stripped = text.strip()
        if not stripped:
            return True
        if stripped.startswith(("\\", ".")):
            return meta.run(self, stripped)
        self.last_sql = text
        self.run_sql(text)
        return True

    def run_rc_file(self) -> None:
        """~/.byomsqlrc (or $BYOMSQLRC): meta-commands and SQL run at start, as psql's psqlrc."""
        path = Path(os.environ.get("BYOMSQLRC") or Path.home() / ".byomsqlrc")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as error:
            self.screen.error(f"ERROR: cannot read {path}: {error}")
            return
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("--"):
                self.handle(line)

    def reopen(self, target: str) -> None:
        """\\c: another database file, or a server URL; the current one stays on failure."""
        url = target if target.startswith(("postgres://", "postgresql://")) else None
        backend = open_backend(target if url is None else ":memory:", url)
        self.backend.close()
        self.backend = backend
        self.refresh_names()

    def refresh_names(self) -> None:
        """Reload what completion offers; in the worker, so Ctrl-C stops a slow catalog."""
        found: list[Names] = []
        try:
            self._in_worker(lambda: found.append(load_names(self.backend)))
        except Error as error:
            log.debug("names not refreshed: %s", error)
        self.names = found[0] if found else self.names

    # running statements ----------------------------------------------------------------------

    def run_sql(self, text: str, source: str = "") -> bool:
        """Run every statement of `text`, showing each result; stop at the first error (shown).
        True if all ran."""
        changed: list[bool] = []
        try:
            self._in_worker(lambda: self._execute(text, changed))
            ok = True
        except Error as error:
            self.screen.error(render.error(error, text, source))
            ok = False
        finally:
            if changed:
                self.refresh_names()
        return ok

    def _execute(self, text: str, changed: list[bool]) -> None:
        statements = iter(self.backend.execute(text))
        while True:
            self._started()
            started = time.monotonic()
            outcome = next(statements, None)
            if outcome is None:
                break
            self._stopped()
            self.show(outcome, started)
            for warning in outcome.warnings:
                self.screen.write(f"WARNING:  {warning}\n", to=self.screen.err)
            if outcome.status.startswith(CHANGES_NAMES):
                changed.append(True)

    def _in_worker(self, job: Callable[[], None]) -> None:
        """Run `job` in a thread; meanwhile draw the progress line and turn Ctrl-C into an
        interrupt of the backend. Re-raises what the job raised, as a byom_sql Error."""
        done = threading.Event()
        failure: list[BaseException] = []

        def work() -> None:
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - handed over to the main thread
                failure.append(exc)
            finally:
                done.set()

        self._canceled.clear()
        self.activity = Activity()
        self.backend.watch(self._on_progress)
        thread = threading.Thread(target=work, name="byom-sql statement", daemon=True)
        thread.start()
        cancel = False
        while not done.is_set():
            try:
                if cancel:
                    cancel = False
                    self.activity.canceling = True
                    self._canceled.set()
                    self.backend.interrupt()
                done.wait(0.1)
                self._draw_progress()
            except KeyboardInterrupt:
                cancel = True
        thread.join()
        self.backend.watch(None)
        self.screen.clear_status()
        if failure:
            raise self._as_error(failure[0])

    def _as_error(self, exc: BaseException) -> Error:
        if isinstance(exc, Error):
            return exc
        if self._canceled.is_set():  # e.g. a stream cut short by the interrupt
            return QueryCanceled("canceling statement due to user request")
        log.debug("unexpected error", exc_info=exc)
        return Error(
            f"internal error: {type(exc).__name__}: {exc}",
            hint="run byom-sql with --debug for details, and please report it",
        )

    def _on_progress(self, progress: Progress) -> None:
        self.activity.progress = progress

    def _started(self) -> None:
        with self.screen.lock:
            self.activity.running_since = time.monotonic()
            self.activity.progress = None

    def _stopped(self) -> None:
        with self.screen.lock:
            self.activity.running_since = None
            self.screen.clear_status()

    def _draw_progress(self) -> None:
        with self.screen.lock:
            since = self.activity.running_since
            if since is not None and time.monotonic() - since >= PROGRESS_AFTER:
                self.screen.status(progress_line(self.activity, time.monotonic() - since))

    def _rows(self, rows: Iterable[Row]) -> Iterator[Row]:
        """Rows until Ctrl-C (rendering a long result can be canceled too)."""
        for row in rows:
            if self._canceled.is_set():
                raise QueryCanceled("canceling statement due to user request")
            yield row

    # showing results -------------------------------------------------------------------------

    def show(self, outcome: Outcome, started: float) -> None:
        """A statement's result: on the screen fitted to it (the first and last rows of a long
        result), to the \\o file in full; then the row count and the time taken."""
        if outcome.rows is None:
            self._footer(outcome.status, started)
            return
        rows = render.Counted(self._rows(outcome.rows))
        fmt, target = self.settings.format, self.settings.output
        if fmt == "table" and target is None and self.settings.pager:
            text = self._on_screen(outcome, sample(rows, 0)) + "\n"
            if text.count("\n") + 2 > self.screen.height:
                self.screen.page(text + render.count_rows(rows.count) + "\n")
            else:
                self.screen.write(text)
        elif fmt == "table" and target is None:
            shown = sample(rows, self.settings.max_rows)
            self.screen.write(self._on_screen(outcome, shown) + "\n")
            if rows.count > self.settings.max_rows > 0:
                self._footer(f"({rows.count} rows, {self.settings.max_rows} shown)", started)
                return
        else:
            types = self._types(outcome)
            null = self.settings.null
            for chunk in render.formatted(
                outcome.columns, rows, fmt, types=types, null_text=null, footer=False
            ):
                self.screen.write(chunk, to=target)
        self._footer(render.count_rows(rows.count), started)

    def _on_screen(self, outcome: Outcome, shown: list[Row | render.Omitted]) -> str:
        """A table narrowed to the screen, or one record per row block (\\x), also when the
        table would not fit and \\x is auto."""
        names, types, mode = outcome.columns, self._types(outcome), self.settings.expanded
        width, null, text = self.screen.width, self.screen.dim, self.settings.null
        if mode == "auto":
            natural = render.table(names, shown, types=types, null_text=text, footer=False)
            mode = "on" if max(map(len, natural.splitlines())) > width else "off"
        if mode == "on":
            return render.expanded(names, shown, width=width, null=null, null_text=text)
        right = render.numeric(outcome.types)
        return render.table(
            names,
            shown,
            types=types,
            right=right,
            width=width,
            null=null,
            null_text=text,
            footer=False,
        )

    def _types(self, outcome: Outcome) -> list[str] | None:
        return outcome.types if self.settings.types else None

    def _footer(self, text: str, started: float) -> None:
        if self.settings.timing:
            text += f"  {elapsed(time.monotonic() - started)}"
        self.screen.write(self.screen.dim(text) + "\n")


def sample(rows: Iterable[Row], limit: int) -> list[Row | render.Omitted]:
    """The first and last rows of a result, `limit` in all (0: every row), an Omitted standing
    for the rest; memory stays bounded by `limit`."""
    head: list[Row] = []
    tail: deque[Row] = deque(maxlen=max(limit - limit // 2, 1))
    total = 0
    for row in rows:
        total += 1
        if not limit or len(head) < limit:
            head.append(row)
        else:
            tail.append(row)
    if not limit or total <= limit:
        return list(head)
    last = (head + list(tail))[-(limit - limit // 2) :]
    return [*head[: limit // 2], render.Omitted(total - limit), *last]


def progress_line(activity: Activity, seconds: float) -> str:
    spinner = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[int(seconds * 10) % 10]
    if activity.canceling:
        return f"{spinner} canceling… {elapsed(seconds)}"
    p = activity.progress
    if p is None:
        return f"{spinner} running… {elapsed(seconds)} · Ctrl-C cancels"
    share = f" ({100 * p.rows_done // p.rows_total}%)" if p.rows_total else ""
    return (
        f"{spinner} scoring {p.predictor}: {p.rows_done:,}/{p.rows_total:,} rows{share}"
        f" · {p.in_flight} in flight · {p.rows_per_second:,.0f} rows/s"
        f" · {elapsed(seconds)} · Ctrl-C cancels"
    )


def elapsed(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.1f} s"


def is_complete(text: str) -> bool:
    """Enter runs the input when it ends with `;` outside strings and comments, or is a
    meta-command; otherwise it starts a new line."""
    stripped = text.strip()
    if not stripped or stripped.startswith(("\\", ".")):
        return True
    try:
        tokens = DIALECT.tokenize(text)
    except TokenError:
        return False
    return bool(tokens) and tokens[-1].text == ";"


def history_path() -> Path:
    """$XDG_DATA_HOME/byom-sql/history (~/.local/share/byom-sql/history by default)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "byom-sql" / "history"


def open_history() -> History:
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError as error:
        log.warning("history is not kept: %s", error)
        return InMemoryHistory()
    return FileHistory(str(path))


def _key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter", filter=completion_is_selected)
    def _(event: KeyPressEvent) -> None:
        """Enter on a completion in the menu takes it, rather than running the input."""
        event.current_buffer.complete_state = None

    @bindings.add("enter", filter=is_searching)
    def _(event: KeyPressEvent) -> None:
        """Enter on a Ctrl-R search result runs it (as in bash), once it is complete."""
        search.accept_search()
        buffer = event.app.current_buffer
        if is_complete(buffer.text):
            buffer.validate_and_handle()

    return bindings
