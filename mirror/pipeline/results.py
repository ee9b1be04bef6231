"""What a sync run works on and how each line ends: values shared by the planner, the
scheduler, ``compare`` and the commands (the report file is :meth:`LineResult.as_json`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from ..imageslist import Line
from ..ref import ImageRef
from ..value import frozen
from .platforms import PlatformSpec

__all__ = ["DEFAULT_JOBS", "LineResult", "Outcome", "SyncOptions", "SyncReport", "WorkItem"]


class Outcome(StrEnum):
    COPIED = "copied"
    SKIPPED = "skipped"
    FAILED = "failed"
    PLANNED = "planned"  # --dry-run: would be copied


@frozen
class WorkItem:
    """A valid list line and one of its destinations (``image:tag``, overrides applied).

    ``target`` names the destination set member in results, events and metrics: the
    ``--target`` as given, a config.yaml repository's ``BaseUrl``, else the destination's
    registry. ``winner``: a later line writes the same destination tag (decided on the whole
    list, before sharding), so this one is skipped.
    """

    line: Line
    destination: ImageRef
    target: str = ""
    winner: Line | None = None

    @property
    def label(self) -> str:
        return self.target or self.destination.host


#: ``sync --jobs``: sources copied at the same time (each to all its destinations). Chosen by
#: measurement (bench/RESULTS.md, Rancher-2026-shaped sync): on 5,985 lines at 20 ms a request,
#: cold, 4 took 250 s, 8 219 s, 16 191 s, 32 194 s; past 16 the per-host request slots are the limit.
DEFAULT_JOBS = 16


@frozen
class SyncOptions:
    jobs: int = DEFAULT_JOBS
    missing: bool = False
    dry_run: bool = False
    platforms: tuple[PlatformSpec, ...] = ()
    arch_tags: bool = False
    deadline: float | None = None  # ``--timeout``: a ``clock()`` value; lines not done by then fail


@frozen
class LineResult:
    """How one line ended. ``digest`` is the destination's top digest afterwards."""

    source: str
    destination: str
    tag: str
    line: int
    outcome: Outcome
    reason: str = ""
    target: str = ""
    source_digest: str | None = None
    destination_digest: str | None = None
    digest: str | None = None
    bytes_sent: int = 0
    elapsed: float = 0.0
    arch_tags: tuple[str, ...] = ()
    referrers_copied: int = 0  # --referrers: signatures, attestations, SBOMs copied with the image
    referrers_present: int = 0
    referrers_failed: tuple[str, ...] = ()  # each "referrer: reason"; the line still counts as copied
    referrers_skipped: tuple[str, ...] = ()
    internal: bool = False  # failed through a bug, not the network or the input (exit 3)
    traceback: str = field(default="", repr=False, compare=False)  # of an internal error, shown with -v

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["traceback"]
        data["outcome"] = str(self.outcome)
        data["arch_tags"] = list(self.arch_tags)
        data["referrers_failed"] = list(self.referrers_failed)
        data["referrers_skipped"] = list(self.referrers_skipped)
        data["elapsed"] = round(self.elapsed, 3)
        return data


@dataclass
class SyncReport:
    results: list[LineResult] = field(default_factory=list)
    elapsed: float = 0.0

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failed(self) -> list[LineResult]:
        return [r for r in self.results if r.outcome == Outcome.FAILED]

    @property
    def referrers_failed(self) -> list[LineResult]:
        """Lines whose image is there but some of whose referrers could not be copied (exit 1)."""
        return [r for r in self.results if r.referrers_failed]

    @property
    def internal(self) -> list[LineResult]:
        """Lines that failed through a bug (exit 3), with their tracebacks."""
        return [r for r in self.results if r.internal]

    @property
    def bytes_sent(self) -> int:
        return sum(r.bytes_sent for r in self.results)

    def totals(self) -> dict[str, int | float]:
        return {
            "lines": len(self.results),
            "copied": self.count(Outcome.COPIED),
            "skipped": self.count(Outcome.SKIPPED),
            "failed": self.count(Outcome.FAILED),
            "planned": self.count(Outcome.PLANNED),
            "bytes": self.bytes_sent,
            "elapsed": round(self.elapsed, 3),
        }
