"""``--log-format plain``: one readable line per result, for logs that people read.

``<event> <subject> <counts> <detail>``: the subject is the entry or ``destination:tag``,
the detail the error or reason; a run with several targets adds ``target=<label>`` before
the counts. Start and plan events are left out. Every value comes from
outside somewhere (a tag, an entry name, a server's error body), so the line is escaped as
a whole: a control sequence in it is shown as ``\\x1b``, never sent to the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from ..events import DiscoverEntryDone, DiscoverEntryFailed, DiscoverEntryStart, Event, Item, PullQuotaWait
from ..events.sync import CompareLine, SyncCopyStart, SyncPlan
from ..text import escape

__all__ = ["Plain"]

_COUNTS = ("seen", "found", "new", "copied", "skipped", "failed", "elapsed")


@dataclass
class Plain:
    stream: IO[str]
    several: bool = False  # the run has several targets: each result names its own

    def emit(self, event: Event, /) -> None:
        line = render(event, several=self.several)
        if line is not None:
            self.stream.write(escape(line) + "\n")
            self.stream.flush()


def render(event: Event, *, several: bool = False) -> str | None:
    """The plain line of ``event``, unescaped; None for events that are not results."""
    target = ""
    match event:
        case DiscoverEntryStart() | SyncCopyStart() | SyncPlan():
            return None
        case PullQuotaWait(host=host, remaining=remaining, limit=limit, window=window, seconds=seconds):
            left = f"{remaining}" + (f" of {limit}" if limit is not None else "")
            per = f" in {window} s" if window is not None else ""
            return f"{event.name} {host} remaining={left}{per} waiting {seconds:g} s before reading it again"
        case DiscoverEntryDone(entry=entry) | DiscoverEntryFailed(entry=entry):
            subject = entry
        case CompareLine(destination=destination, tag=tag, target=target):
            subject = f"{destination}:{tag}"
        case _:
            item = getattr(event, "item", None)
            subject = str(item) if isinstance(item, Item) else str(getattr(event, "destination", "") or "")
            target = item.target if isinstance(item, Item) else ""
    fields = event.fields()
    counts = " ".join(f"{key}={fields[key]}" for key in _COUNTS if key in fields)
    detail = str(fields.get("error") or fields.get("reason") or "")
    where = f"target={target}" if several and target else ""
    return " ".join(part for part in (event.name, subject, where, counts, detail) if part)
