"""The GitHub step summary: when ``GITHUB_STEP_SUMMARY`` is set, Markdown appended at the end.

Markdown is a second terminal: a tag or an error body could close a table, inject a link or
an image, or hide text. Every outside string goes into a code span (fenced with one backtick
more than its longest run of backticks), with controls escaped by :func:`mirror.text.escape`
and ``|`` escaped so it cannot end the table cell (GFM honours ``\\|`` inside code spans).

A sync or compare with several targets gets a table of results per target, and each failed
item names its target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..events import DiscoverDone, DiscoverEntryDone, DiscoverEntryFailed, Event
from ..events.sync import CompareDone, SyncCopyFailed, SyncDone, SyncReferrers
from ..tally import SYNC_RESULTS, Tally
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
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # (item, target, state, detail)
    totals: dict[str, object] = field(default_factory=dict)
    command: str = ""
    targets: Mapping[str, int] = field(default_factory=dict)  # the run's lines per target label, if any
    tally: Tally = field(init=False)

    def __post_init__(self) -> None:
        self.tally = Tally(planned=self.targets)

    def emit(self, event: Event, /) -> None:
        self.tally.see(event)
        match event:
            case DiscoverEntryDone(entry=entry, new=new):
                self.rows.append((entry, "", "done", f"{new} new"))
            case DiscoverEntryFailed(entry=entry, error=error):
                self.rows.append((entry, "", "failed", error))
            case SyncCopyFailed(item=item, reason=reason):
                self.rows.append((str(item), item.target, "failed", reason))
            case SyncReferrers(item=item, failed=failed):
                self.rows.extend((str(item), item.target, "referrer failed", reason) for reason in failed)
            case DiscoverDone() | SyncDone() | CompareDone():
                self.totals = event.fields()
                self.command = event.name.split(".")[0]

    def text(self) -> str:
        lines = [f"## image-mirror {self.command}", ""]
        if self.totals:
            lines.append(", ".join(f"**{key}**: {value}" for key, value in self.totals.items()))
            lines.append("")
        several = self.tally.several
        if several:
            results = self.tally.results(() if self.command == "compare" else SYNC_RESULTS)
            lines += ["| target | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
            for target in self.tally.targets:
                counts = " | ".join(str(self.tally.count(target, result)) for result in results)
                lines.append(f"| {code(target)} | {counts} |")
            lines.append("")
        if self.rows:
            lines += ["| item | target | state | detail |", "|---|---|---|---|"] if several else \
                ["| item | state | detail |", "|---|---|---|"]
            for item, target, state, detail in self.rows:
                where = f" {code(target)} |" if several else ""
                lines.append(f"| {code(item)} |{where} {state} | {code(detail[:_DETAIL_LIMIT])} |")
            lines.append("")
        return "\n".join(lines) + "\n"

    def write(self) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(self.text())
