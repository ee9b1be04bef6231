"""What the metrics need, kept from the run's events, and put with the host counters into a registry."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

from ..events import DiscoverDone, DiscoverEntryDone, DiscoverEntryFailed, Event, Stats
from ..events.sync import CompareDone, SyncCopyDone, SyncCopyFailed, SyncDone, SyncPlan, SyncReferrers
from ..tally import SYNC_RESULTS, Tally
from ..value import frozen
from . import families
from .families import Samples

__all__ = ["MetricsCollector"]


@dataclass
class _Entry:
    seen: int | None = None
    found: int | None = None
    new: int | None = None
    failed: bool = False
    elapsed: float | None = None


@dataclass
class MetricsCollector:
    """An EventSink that remembers what the metrics need; :meth:`registry` holds them.

    ``command`` labels the run-level metrics (``discover``, ``sync``, ...); when not given it
    is taken from the first event's prefix. ``targets``: the (line, target) pairs the sync
    command selected per target label (``Selection.lines_per_target``), which the per-line
    families carry as their ``target`` label: every target gets its series, zeros included,
    so ``sum by (target)`` sees the same set in every shard. ``clock`` (wall time, for the
    last-success timestamp) and ``monotonic`` (for the duration) are injectable for tests.
    """

    command: str | None = None
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    started: float = field(default=-1.0)
    targets: Mapping[str, int] = field(default_factory=dict)
    entries: dict[str, _Entry] = field(default_factory=dict)
    planned_lines: int | None = None
    dry_run: bool = False
    tally: Tally = field(init=False)
    blobs: dict[tuple[str, str], int] = field(default_factory=dict)  # (target, sent/mounted/present) -> blobs
    referrers: dict[tuple[str, str], int] = field(default_factory=dict)  # (target, result), once a line reported any
    done: dict[str, dict[str, object]] = field(default_factory=dict)
    failures: int = 0

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.monotonic()
        self.tally = Tally(planned=self.targets)

    # ---- EventSink ----------------------------------------------------------------------
    def emit(self, event: Event, /) -> None:
        if self.command is None:
            prefix = event.name.split(".", 1)[0]
            if "." in event.name and prefix in ("discover", "sync", "compare"):
                self.command = prefix
        match event:
            case DiscoverEntryDone(entry=key, seen=seen, found=found, new=new, elapsed=elapsed):
                entry = self.entries.setdefault(key, _Entry())
                entry.seen, entry.found, entry.new, entry.failed, entry.elapsed = seen, found, new, False, elapsed
            case DiscoverEntryFailed(entry=key, elapsed=elapsed):
                entry = self.entries.setdefault(key, _Entry())
                entry.failed, entry.elapsed = True, elapsed
                self.failures += 1
            case SyncPlan(lines=lines, dry_run=dry_run):
                self.planned_lines, self.dry_run = lines, dry_run
            case SyncCopyDone(item=item):
                for kind, count in (("sent", event.blobs_sent), ("mounted", event.blobs_mounted),
                                    ("present", event.blobs_present)):
                    self.blobs[item.target, kind] = self.blobs.get((item.target, kind), 0) + count
            case SyncReferrers(item=item):
                for kind, count in (("copied", event.copied), ("present", event.present),
                                    ("failed", len(event.failed)), ("skipped", len(event.skipped))):
                    self.referrers[item.target, kind] = self.referrers.get((item.target, kind), 0) + count
            case SyncCopyFailed():
                self.failures += 1
            case DiscoverDone() | SyncDone() | CompareDone():
                self.done[event.name.split(".", 1)[0]] = event.fields()
        if event.name.startswith("sync."):  # compare's lines are not sync lines
            self.tally.see(event)

    # ---- outcome --------------------------------------------------------------------------
    def succeeded(self) -> bool:
        """The run finished (a ``*.done`` event came) and nothing failed."""
        if not self.done or self.failures:
            return False
        for fields in self.done.values():
            if (_int_or_none(fields.get("failed")) or 0) > 0:
                return False
        return True

    # ---- rendering ------------------------------------------------------------------------
    def registry(
        self,
        stats: Stats | None = None,
        *,
        succeeded: bool | None = None,
        last_success: float | None = None,
    ) -> CollectorRegistry:
        """This run's metrics in a private ``prometheus_client`` registry: only the families of
        :mod:`.families` (the default registry's process and Python families are not in it).

        ``succeeded``: the run's verdict (the CLI passes ``exit_code == 0``); default
        :meth:`succeeded`. ``last_success``: the previous success timestamp to carry over
        when this run failed (ignored when it succeeded: then it is *now*). The values are
        taken now; a later event does not change what the registry holds.
        """
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Snapshot(self._samples(stats, succeeded, last_success)))
        return registry

    def render(
        self,
        stats: Stats | None = None,
        *,
        succeeded: bool | None = None,
        last_success: float | None = None,
    ) -> str:
        """The text exposition of :meth:`registry` (what the textfile and the push carry)."""
        text: str = generate_latest(self.registry(stats, succeeded=succeeded, last_success=last_success)).decode()
        return text

    def _samples(self, stats: Stats | None, succeeded: bool | None, last_success: float | None) -> Samples:
        ok = self.succeeded() if succeeded is None else succeeded
        command = self.command or "unknown"
        out = Samples()
        for key, entry in self.entries.items():
            out.add(families.DISCOVER_ENTRY_FAILED, 1 if entry.failed else 0, key)
            if entry.elapsed is not None:
                out.add(families.DISCOVER_ENTRY_DURATION, entry.elapsed, key)
            if entry.failed:
                continue  # a failed entry has no tag counts: "0 new" would be a lie
            for family, value in ((families.DISCOVER_TAGS_SEEN, entry.seen), (families.DISCOVER_TAGS_FOUND, entry.found),
                                  (families.DISCOVER_TAGS_NEW, entry.new)):
                if value is not None:
                    out.add(family, value, key)

        if self.tally.counts or self.planned_lines is not None or "sync" in self.done:
            self._sync_samples(out)

        if stats is not None:
            out.add_hosts(stats.hosts.values())

        out.add(families.RUN_DURATION, round(max(0.0, self.monotonic() - self.started), 3), command)
        out.add(families.RUN_SUCCESS, 1 if ok else 0, command)
        stamp = round(self.clock(), 3) if ok else last_success
        if stamp is not None:
            out.add(families.LAST_SUCCESS, stamp, command)
        return out

    def _sync_samples(self, out: Samples) -> None:
        """The per-line families, a series per target (``""`` when no target is known)."""
        tally = self.tally
        targets = tally.targets or [""]
        results: tuple[str, ...] = SYNC_RESULTS
        if self.dry_run or any(tally.count(target, "planned") for target in targets):
            results += ("planned",)  # --dry-run: the lines that would be copied
        for target in targets:
            for result in results:
                out.add(families.SYNC_LINES, tally.count(target, result), result, target)
            out.add(families.SYNC_BYTES_SENT, tally.bytes_sent.get(target, 0), target)
        if self.targets:
            for target, lines in self.targets.items():
                out.add(families.SYNC_LINES_PLANNED, lines, target)
        elif self.planned_lines is not None:  # no split given: the run's one target, if it had one
            out.add(families.SYNC_LINES_PLANNED, self.planned_lines, targets[0] if len(targets) == 1 else "")
        if any(self.blobs.values()):
            for target in targets:
                for kind in ("sent", "mounted", "present"):
                    out.add(families.SYNC_BLOBS, self.blobs.get((target, kind), 0), kind, target)
        for (target, kind), count in sorted(self.referrers.items()):
            out.add(families.SYNC_REFERRERS, count, kind, target)


@frozen
class _Snapshot:
    """A ``prometheus_client`` collector holding one run's samples, taken when it was made."""

    samples: Samples

    def collect(self) -> Iterator[Metric]:
        return iter(list(self.samples.families()))


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)
