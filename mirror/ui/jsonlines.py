"""The one JSON-lines writer: ``{"ts", "event", …fields}`` per line, for events and messages.

The README's event table is the contract, held byte for byte by ``tests/cli/golden``: engine
events are written compactly; the command's own messages (``status``, ``error``, ``debug``)
keep the ``", "`` / ``": "`` spacing they have always had, because workflows grep them.
``json.dumps`` escapes every control character (and, with ``ensure_ascii``, U+2028 and the
bidi controls), so outside text needs nothing more here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO

from ..events import Debug, Error, Event, Status

__all__ = ["JsonLines", "record"]

_MESSAGES = (Status, Error, Debug)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(event: Event) -> str:
    """The JSON line of ``event`` (without the newline)."""
    data = {"ts": _now(), "event": event.name, **event.fields()}
    if isinstance(event, _MESSAGES):
        return json.dumps(data)
    return json.dumps(data, default=str, separators=(",", ":"))


@dataclass
class JsonLines:
    stream: IO[str]

    def emit(self, event: Event, /) -> None:
        self.stream.write(record(event) + "\n")
        self.stream.flush()
