"""All terminal output of a command goes through one :class:`Output` object.

Data goes to stdout, status and errors to stderr. Rich consoles are created
with ``markup=False`` and ``highlight=False`` so an image tag like
``[v1]`` is printed as written and never interpreted.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO

from rich.console import Console

__all__ = ["Output"]


@dataclass
class Output:
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    verbose: int = 0
    json_lines: bool = False  # stderr carries JSON lines: status becomes events too
    err_console: Console = field(init=False)

    def __post_init__(self) -> None:
        self.err_console = Console(file=self.stderr, markup=False, highlight=False, soft_wrap=True)

    @property
    def is_terminal(self) -> bool:
        return self.stderr.isatty()

    def data(self, text: str) -> None:
        """Machine-readable result: stdout, nothing else on it."""
        self.stdout.write(text if text.endswith("\n") else text + "\n")
        self.stdout.flush()

    def _event(self, event: str, message: str) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.stderr.write(json.dumps({"ts": now, "event": event, "message": message}) + "\n")
        self.stderr.flush()

    def status(self, message: str) -> None:
        if self.json_lines:
            return self._event("status", message)
        self.err_console.print(message)

    def debug(self, message: str) -> None:
        if not self.verbose:
            return
        if self.json_lines:
            return self._event("debug", message)
        self.err_console.print(message, style="dim")

    def error(self, message: str) -> None:
        if self.json_lines:
            return self._event("error", message)
        self.err_console.print(f"error: {message}", style="red" if self.is_terminal else None)
