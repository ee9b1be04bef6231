"""The GitHub step summary: when ``GITHUB_STEP_SUMMARY`` is set, Markdown appended at the end.

Markdown is a second terminal: a tag or an error body could close a table, inject a link or
an image, or hide text. Every outside string goes into a code span (fenced with one backtick
more than its longest run of backticks), with controls escaped by :func:`mirror.text.escape`
and ``|`` escaped so it cannot end the table cell (GFM honours ``\\|`` inside code spans).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..events import (CompareDone, DiscoverDone, DiscoverEntryDone, DiscoverEntryFailed, Event, SyncCopyFailed,
                      SyncDone, SyncReferrers)
from ..text import escape

__all__ = ["StepSummary", "code"]

_DETAIL_LIMIT = 300
_BACKTICKS = re.compile("`+")


def code(text: str) -> str:
    """``text`` as a Markdown code span that is safe in a table cell."""
    text = escape(text).replace("|", "\\|")
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@dataclass
class StepSummary:
    """Collects results and appends a Markdown summary to ``path``."""

    path: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    totals: dict[str, object] = field(default_factory=dict)
    command: str = ""

    def emit(self, event: Event, /) -> None:
        match event:
            case DiscoverEntryDone(entry=entry, new=new):
                self.rows.append((entry, "done", f"{new} new"))
            case DiscoverEntryFailed(entry=entry, error=error):
                self.rows.append((entry, "failed", error))
            case SyncCopyFailed(item=item, reason=reason):
                self.rows.append((str(item), "failed", reason))
            case SyncReferrers(item=item, failed=failed):
                self.rows.extend((str(item), "referrer failed", reason) for reason in failed)
            case DiscoverDone() | SyncDone() | CompareDone():
                self.totals = event.fields()
                self.command = event.name.split(".")[0]

    def text(self) -> str:
        lines = [f"## image-mirror {self.command}", ""]
        if self.totals:
            lines.append(", ".join(f"**{key}**: {value}" for key, value in self.totals.items()))
            lines.append("")
        if self.rows:
            lines += ["| item | state | detail |", "|---|---|---|"]
            for item, state, detail in self.rows:
                lines.append(f"| {code(item)} | {state} | {code(detail[:_DETAIL_LIMIT])} |")
            lines.append("")
        return "\n".join(lines) + "\n"

    def write(self) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(self.text())
