"""Results per target, counted from events: one rule for every surface that shows destinations.

A sync or compare run with several targets ends each (line, target) once: ``sync.copy.done``
(copied), ``sync.skip`` (skipped), ``sync.copy.failed`` (failed), ``sync.plan.item`` with
action ``copy`` (planned, ``--dry-run``), or ``compare.line`` (its status). The dashboard, the
plain lines, the step summary and the metrics all count those per target; :func:`outcome` is
the one place that says which event ends what, so the surfaces cannot disagree.

Pure, no I/O; not thread-safe by itself (the dashboard counts under its own lock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .events import Event
from .events.sync import CompareLine, SyncCopyDone, SyncCopyFailed, SyncPlanItem, SyncSkip

__all__ = ["SYNC_RESULTS", "Tally", "outcome"]

#: The results every sync target shows, even at zero (``planned`` only in a dry run).
SYNC_RESULTS = ("copied", "skipped", "failed")


def outcome(event: Event) -> tuple[str, str] | None:
    """``(target, result)`` of an event that ends one (line, target), else None. A compare
    result is its status in lower case (``matched``, ``not matched``, ``missing``, ``error``)."""
    match event:
        case SyncCopyDone(item=item):
            return item.target, "copied"
        case SyncSkip(item=item):
            return item.target, "skipped"
        case SyncCopyFailed(item=item):
            return item.target, "failed"
        case SyncPlanItem(item=item, action="copy"):
            return item.target, "planned"
        case CompareLine(target=target, status=status):
            return target, status.lower()
    return None


@dataclass
class Tally:
    """Counts per target and result, and bytes sent per target.

    ``planned`` is what the command selected per target (``Selection.lines_per_target``):
    it fixes the targets' order and their totals before any event; a target that only
    appears in events is added after them.
    """

    planned: Mapping[str, int] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    bytes_sent: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for target in self.planned:
            self.counts.setdefault(target, {})

    def see(self, event: Event) -> tuple[str, str] | None:
        """Count ``event`` if it ends a (line, target); return what it ended."""
        ended = outcome(event)
        if ended is not None:
            target, result = ended
            results = self.counts.setdefault(target, {})
            results[result] = results.get(result, 0) + 1
            if isinstance(event, SyncCopyDone):
                self.bytes_sent[target] = self.bytes_sent.get(target, 0) + event.bytes
        return ended

    @property
    def targets(self) -> list[str]:
        return list(self.counts)

    @property
    def several(self) -> bool:
        """More than one target: only then do the surfaces name them."""
        return len(self.counts) > 1

    def count(self, target: str, result: str) -> int:
        return self.counts.get(target, {}).get(result, 0)

    def done(self, target: str) -> int:
        return sum(self.counts.get(target, {}).values())

    def results(self, defaults: Iterable[str] = SYNC_RESULTS) -> list[str]:
        """``defaults`` first, then every other result some target has, in first-seen order."""
        found = dict.fromkeys(defaults)
        for results in self.counts.values():
            found.update(dict.fromkeys(results))
        return list(found)
