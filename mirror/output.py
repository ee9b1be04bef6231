"""All terminal output of a command goes through one :class:`Output` object.

Data goes to stdout, status and errors to stderr. In JSON mode status and errors are JSON
lines written by :class:`mirror.ui.JsonLines`, the one JSON writer. Otherwise messages, which
carry outside text (a server's error body, an exception), are escaped with
:func:`mirror.text.escape` (newlines kept) and written as they are; only on a terminal, for the
colours, is a rich console made (``markup=False, emoji=False, highlight=False``), so
``--version``, ``sort`` and ``validate`` in a pipe never import rich.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, TYPE_CHECKING

from .text import escape

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Output"]


@dataclass
class Output:
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    verbose: int = 0
    json_lines: bool = False  # stderr carries JSON lines: status becomes events too

    @property
    def is_terminal(self) -> bool:
        return self.stderr.isatty()

    @cached_property
    def err_console(self) -> Console:
        from .ui.console import make_console

        return make_console(self.stderr, soft_wrap=True)

    def data(self, text: str) -> None:
        """Machine-readable result: stdout, nothing else on it."""
        self.stdout.write(text if text.endswith("\n") else text + "\n")
        self.stdout.flush()

    def _message(self, kind: str, message: str, text: str, style: str) -> None:
        if self.json_lines:
            # Imported here: the event classes cost ~15 ms to build, and --version, sort and
            # validate on a terminal never need them.
            from . import events
            from .ui.jsonlines import JsonLines

            event = {"status": events.Status, "debug": events.Debug, "error": events.Error}[kind](message)
            JsonLines(self.stderr).emit(event)
        elif self.is_terminal:
            self.err_console.print(escape(text, multiline=True), style=style)
        else:
            self.stderr.write(escape(text, multiline=True) + "\n")
            self.stderr.flush()

    def status(self, message: str) -> None:
        self._message("status", message, message, "")

    def debug(self, message: str) -> None:
        if self.verbose:
            self._message("debug", message, message, "dim")

    def error(self, message: str) -> None:
        self._message("error", message, f"error: {message}", "red")
