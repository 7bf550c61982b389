"""The terminal the shell writes to, and the settings its meta-commands change."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import TextIO


@dataclass
class Settings:
    """What the meta-commands change."""

    format: str = "table"
    timing: bool = True
    types: bool = False
    expanded: str = "off"  # off, on, auto (when the table is wider than the screen)
    max_rows: int = 40  # rows a table shows on the screen (head and tail); 0 for all
    output: TextIO | None = None  # \o FILE: results go there instead of the screen
    null: str = "NULL"  # \pset null: how NULL is shown
    pager: bool = False  # \pset pager: results taller than the screen go through $PAGER


class Screen:
    """The terminal: results, errors and a one-line live status, never interleaved."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self.lock = threading.RLock()
        self.color = out.isatty() and not os.environ.get("NO_COLOR")
        self._status = False

    def write(self, text: str, *, to: TextIO | None = None) -> None:
        with self.lock:
            self.clear_status()
            (to or self.out).write(text)
            (to or self.out).flush()

    def error(self, text: str) -> None:
        with self.lock:
            self.clear_status()
            self.out.flush()
            self.err.write(self.red(text) + "\n")
            self.err.flush()

    def status(self, text: str) -> None:
        with self.lock:
            self.out.write("\r" + text[: self.width] + "\x1b[K")
            self.out.flush()
            self._status = True

    def clear_status(self) -> None:
        with self.lock:
            if self._status:
                self.out.write("\r\x1b[K")
                self.out.flush()
                self._status = False

    def red(self, text: str) -> str:
        return f"\x1b[31m{text}\x1b[0m" if self.color else text

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.color else text

    @property
    def width(self) -> int:
        """Columns to fill: one less than the screen, so a full line does not wrap."""
        return shutil.get_terminal_size().columns - 1

    @property
    def height(self) -> int:
        return shutil.get_terminal_size().lines

    def page(self, text: str) -> None:
        """Show `text` through $PAGER (less -SR by default), as psql does for long results."""
        command = shlex.split(os.environ.get("PAGER") or "less -SR")
        with self.lock:
            self.clear_status()
            try:
                subprocess.run(command, input=text, text=True, check=False)
            except OSError:
                self.write(text)
