"""The events of ``sync`` and ``compare``: the plan, each line's outcome, the run's totals.

Apart from :mod:`mirror.events` (the base, the command's messages, discover's and the live
counters) so that commands which never copy do not create these classes at start-up.
"""

from __future__ import annotations

from dataclasses import field
from typing import ClassVar

from . import SPREAD, Event, Item
from ..value import frozen

__all__ = [
    "CompareDone",
    "CompareLine",
    "ComparePlan",
    "SyncConflict",
    "SyncCopyDone",
    "SyncCopyFailed",
    "SyncCopyStart",
    "SyncDone",
    "SyncInvalid",
    "SyncPlan",
    "SyncPlanItem",
    "SyncReferrers",
    "SyncSkip",
]


# ---- sync -----------------------------------------------------------------------------------


@frozen
class SyncPlan(Event):
    name: ClassVar[str] = "sync.plan"
    lines: int
    jobs: int
    copier: str
    dry_run: bool
    missing: bool
    platforms: tuple[str, ...]
    arch_tags: bool


@frozen
class SyncInvalid(Event):
    name: ClassVar[str] = "sync.invalid"
    reason: str


@frozen
class SyncPlanItem(Event):
    name: ClassVar[str] = "sync.plan.item"
    item: Item = field(metadata=SPREAD)
    action: str
    reason: str
    digest: str | None


@frozen
class SyncConflict(Event):
    """``item`` loses to line ``winner``, which writes the same destination tag from ``winner_source``."""

    name: ClassVar[str] = "sync.conflict"
    item: Item = field(metadata=SPREAD)
    winner: int
    winner_source: str


@frozen
class SyncSkip(Event):
    name: ClassVar[str] = "sync.skip"
    item: Item = field(metadata=SPREAD)
    digest: str | None
    reason: str
    elapsed: float


@frozen
class SyncCopyStart(Event):
    name: ClassVar[str] = "sync.copy.start"
    item: Item = field(metadata=SPREAD)
    reason: str
    digest: str | None
    copier: str


@frozen
class SyncCopyDone(Event):
    name: ClassVar[str] = "sync.copy.done"
    item: Item = field(metadata=SPREAD)
    digest: str | None
    bytes: int
    elapsed: float
    blobs_sent: int
    blobs_mounted: int
    blobs_present: int
    arch_tags: tuple[str, ...]


@frozen
class SyncCopyFailed(Event):
    name: ClassVar[str] = "sync.copy.failed"
    item: Item = field(metadata=SPREAD)
    reason: str
    stage: str
    elapsed: float


@frozen
class SyncReferrers(Event):
    """What is attached to a line's image (``--referrers``), after its copy or skip: counts of
    referrers copied and already present; those that failed (each with its reason) and those
    not copied (with why: a subject ``--platforms`` rewrote, too deep)."""

    name: ClassVar[str] = "sync.referrers"
    item: Item = field(metadata=SPREAD)
    copied: int
    present: int
    failed: tuple[str, ...]
    skipped: tuple[str, ...]


@frozen
class SyncDone(Event):
    name: ClassVar[str] = "sync.done"
    lines: int
    copied: int
    skipped: int
    failed: int
    planned: int
    bytes: int
    elapsed: float


# ---- compare --------------------------------------------------------------------------------


@frozen
class ComparePlan(Event):
    name: ClassVar[str] = "compare.plan"
    lines: int


@frozen
class CompareLine(Event):
    name: ClassVar[str] = "compare.line"
    source: str
    destination: str
    tag: str
    status: str
    digest: str | None
    reason: str
    target: str = ""


@frozen
class CompareDone(Event):
    name: ClassVar[str] = "compare.done"
    lines: int
    matched: int
    not_matched: int
    missing: int
    errors: int
    elapsed: float
