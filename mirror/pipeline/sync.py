"""sync: plan every line, then copy what differs with a bounded pool of workers.

Shape of a run (one anyio task group, one task per line):

1. **Plan** — without a copy slot, under the registry client's per-host
   limits: HEAD the source and the destination concurrently and compare
   digests (regsync's rule: only a difference costs a copy slot). The source
   HEAD of lines that share a source tag is made once. With ``--missing`` the
   destination repository's tag list is read once and a present tag costs no
   request at all. With ``--platforms`` the source index is read and filtered
   and the destination's children are compared with the kept ones.
2. **Copy** — inside ``CapacityLimiter(jobs)``: the copier, then (with
   ``--arch-tags``) the per-architecture tags.
3. Every line ends in a :class:`LineResult` — copied, skipped, failed (with
   the reason) or planned (``--dry-run``). A failure is caught per line and
   never cancels the others. Lines that write the same destination tag are
   run once: the last one (as the seed's loop did), the others are skipped
   with a reason (and a ``sync.conflict`` event when their sources differ).

Events (``sync.plan``, ``sync.plan.item``, ``sync.skip``, ``sync.copy.start``,
``sync.copy.done``, ``sync.copy.failed``, ``sync.done``) carry JSON-safe,
secret-free fields; the UI renders them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

import anyio

from ..copy import Copier, CopyResult, PlanItem
from ..errors import AuthError, MirrorError
from ..failure import describe
from ..events import (EventSink, Item, SyncConflict, SyncCopyDone, SyncCopyFailed, SyncCopyStart, SyncDone,
                      SyncPlan, SyncPlanItem, SyncReferrers, SyncSkip)
from ..ref import ImageRef
from ..referrers import ReferrerMirror
from ..registry.client import RegistryClient
from .plan import superseded
from .planner import Planner, put_arch_tags
from .results import LineResult, Outcome, SyncOptions, SyncReport, WorkItem

__all__ = ["LineResult", "Outcome", "SyncOptions", "SyncReport", "WorkItem", "put_arch_tags", "sync"]


class _Run:
    def __init__(self, client: RegistryClient, copier: Copier, options: SyncOptions, sink: EventSink,
                 clock: Any, referrers: ReferrerMirror | None = None) -> None:
        self.client = client
        self.referrers = referrers
        self.copier = copier
        self.options = options
        self.sink = sink
        self.clock = clock
        self.planner = Planner(client, options)
        self.workers = anyio.CapacityLimiter(max(1, options.jobs))
        self.results: list[LineResult] = []
        # Out-of-process copiers (skopeo, oras) cannot share what they are uploading, so two
        # of them in one destination repository would both send the shared blobs: one at a time
        # per repository (the native copier de-duplicates blobs itself and needs no lock).
        self._repository_locks: dict[str, anyio.Lock] | None = None if copier.name == "native" else {}

    def _result(self, item: PlanItem, outcome: Outcome, started: float, **extra: Any) -> LineResult:
        fields = item.fields()
        result = LineResult(
            source=str(fields["source"]), destination=str(fields["destination"]), tag=str(fields["tag"]),
            line=item.lineno, outcome=outcome, reason=extra.pop("reason", item.reason),
            source_digest=item.source_digest, destination_digest=item.destination_digest,
            elapsed=self.clock() - started, **extra,
        )  # fmt: skip
        self.results.append(result)
        return result

    async def line(self, work: WorkItem) -> None:
        started = self.clock()
        item = PlanItem(source=work.line.source_image, destination=work.destination, line=work.line)
        written: list[str] = []
        try:
            item = await self.planner.plan(work)
            if item.action == "skip" and self.options.arch_tags and not self.options.dry_run:
                if await self.planner.missing_arch_tags(item):
                    present = await self.planner.destination_tags(item.destination)
                    written = await put_arch_tags(self.client, item.destination, present)
                    item.reason = f"{item.reason}; arch tags added"
            referred = await self._referrers(item, item.destination_digest) if item.action == "skip" else {}
        except Exception as exc:  # one line never stops the others; a bug is an internal error (describe, exit 3)
            self._failed(item, started, exc, stage="plan")
            return
        if item.action == "skip":
            self._skip(item, started, tuple(written), referred)
            return
        if self.options.dry_run:
            self.sink.emit(SyncPlanItem(_item(item), "copy", item.reason, item.source_digest))
            self._result(item, Outcome.PLANNED, started)
            return
        if self._repository_locks is None:
            async with self.workers:
                await self._copy(item, started)
            return
        # skopeo and oras pull outside the transport: the source host's pull floor is checked
        # here, first (a wait holds neither the repository lock nor a copy slot). The repository
        # lock is taken before the copy slot, so waiting for it holds no slot.
        try:
            async with (self.client.pulling(item.source),
                        self._repository_locks.setdefault(item.destination.name, anyio.Lock()), self.workers):
                await self._copy(item, started)
        except MirrorError as exc:  # _copy reports its own failures: this is the pull quota
            self._failed(item, started, exc, stage="copy")

    def superseded(self, work: WorkItem, winner: WorkItem) -> None:
        """A line whose destination tag a later line also writes: skipped, the later one runs."""
        item = PlanItem(source=work.line.source_image, destination=work.destination, line=work.line)
        if work.line.source_image == winner.line.source_image:
            item.reason = f"duplicate of line {winner.line.lineno}"
        else:
            item.reason = (f"superseded by line {winner.line.lineno}, which writes the same destination tag "
                           f"from {winner.line.source.name} (the last line wins)")
            self.sink.emit(SyncConflict(_item(item), winner.line.lineno, winner.line.source.name))
        self._skip(item, self.clock())

    def timed_out(self, work: WorkItem) -> None:
        """A line the run's ``--timeout`` ended before it was done."""
        item = PlanItem(source=work.line.source_image, destination=work.destination, line=work.line)
        self._failed(item, self.clock(), MirrorError("run timeout"), stage="timeout")

    def _skip(self, item: PlanItem, started: float, written: tuple[str, ...] = (),
              referred: dict[str, Any] | None = None) -> None:
        if self.options.dry_run:
            self.sink.emit(SyncPlanItem(_item(item), "skip", item.reason, item.source_digest))
        result = self._result(item, Outcome.SKIPPED, started, digest=item.destination_digest, arch_tags=written,
                              **(referred or {}))
        self.sink.emit(SyncSkip(_item(item), result.digest, result.reason, round(result.elapsed, 3)))

    def _failed(self, item: PlanItem, started: float, exc: BaseException, *, stage: str) -> None:
        failure = describe(exc)
        reason = failure.reason
        if isinstance(exc, AuthError):
            reason += " (check the credentials in your docker config.json for this registry)"
        result = self._result(item, Outcome.FAILED, started, reason=reason, internal=failure.internal,
                              traceback=failure.traceback)
        self.sink.emit(SyncCopyFailed(_item(item), reason, stage, round(result.elapsed, 3)))

    async def _copy(self, item: PlanItem, started: float) -> None:
        self.sink.emit(SyncCopyStart(_item(item), item.reason, item.source_digest, self.copier.name))
        copy_started = self.clock()
        try:
            copied: CopyResult = await self.copier.copy(item.source, item.destination, item)
            written: list[str] = []
            if item.arch_tags:
                written = await put_arch_tags(self.client, item.destination)
            referred = await self._referrers(item, copied.digest)
        except Exception as exc:  # one line never stops the others; a bug is an internal error (describe, exit 3)
            self._failed(item, started, exc, stage="copy")
            return
        self._result(item, Outcome.COPIED, started, digest=copied.digest, bytes_sent=copied.bytes_sent,
                     arch_tags=tuple(written), **referred)
        self.sink.emit(SyncCopyDone(
            _item(item), copied.digest, copied.bytes_sent, round(self.clock() - copy_started, 3),
            copied.blobs_sent, copied.blobs_mounted, copied.blobs_present, tuple(written),
        ))  # fmt: skip


    async def _referrers(self, item: PlanItem, digest: str | None) -> dict[str, Any]:
        """``--referrers`` (issue 22): what is attached to the line's digests, after its image is there."""
        if self.referrers is None or self.options.dry_run or not self.referrers.wants(item.destination):
            return {}
        found = await self.referrers.for_line(item.source, item.destination, source_digest=item.source_digest,
                                              digest=digest, media_type=item.source_media_type, manifest=item.manifest)
        self.sink.emit(SyncReferrers(_item(item), len(found.copied), len(found.present), found.failed, found.skipped))
        return {"referrers_copied": len(found.copied), "referrers_present": len(found.present),
                "referrers_failed": found.failed, "referrers_skipped": found.skipped}


def _item(item: PlanItem) -> Item:
    return Item(item.source.name, item.destination.name, item.destination.tag, item.lineno)


#: Lines planned (and copied) at the same time; the per-host limiters decide the real pace.
PLAN_WORKERS = 64


async def sync(
    work: Sequence[WorkItem],
    client: RegistryClient,
    copier: Copier,
    options: SyncOptions,
    sink: EventSink,
    *,
    clock: Any = time.monotonic,
    referrers: ReferrerMirror | None = None,
) -> SyncReport:
    """Plan and copy every item; return one result per item, in images-list order. ``referrers``
    copies what is attached to each line's image after it (``--referrers``)."""
    run = _Run(client, copier, options, sink, clock, referrers)
    started = clock()
    sink.emit(SyncPlan(len(work), options.jobs, copier.name, options.dry_run, options.missing,
                       tuple(str(p) for p in options.platforms), options.arch_tags))
    winners = superseded([(item.line.source_image, item.destination) for item in work])
    for index, winner_index in winners.items():
        run.superseded(work[index], work[winner_index])
    todo = [item for index, item in enumerate(work) if index not in winners]
    pending = iter(todo)
    done: set[int] = set()

    async def worker() -> None:
        # The iterator is shared: each item is taken once (next() runs between awaits).
        for item in pending:
            await run.line(item)
            done.add(id(item))

    # A fixed pool rather than a task per line: memory stays flat for long lists, and
    # PLAN_WORKERS lines in flight are enough to keep every host's limit busy.
    async def prefetch(ref: ImageRef) -> None:
        with contextlib.suppress(Exception):  # a failure resurfaces, per line, when the line asks
            await run.planner.destination_tags(ref)

    remaining = None if options.deadline is None else max(0.0, options.deadline - clock())
    with anyio.move_on_after(remaining) as scope:  # --timeout: what is not done by then fails
        async with anyio.create_task_group() as group:
            if options.missing:
                # Every repository's tag list up front: the list is sorted by destination, so the
                # workers alone would keep only a few repositories' requests in flight.
                for ref in {item.destination.name: item.destination for item in todo}.values():
                    group.start_soon(prefetch, ref)
            for _ in range(min(len(todo), max(PLAN_WORKERS, 4 * options.jobs))):
                group.start_soon(worker)
    if scope.cancelled_caught:
        for item in todo:
            if id(item) not in done:
                run.timed_out(item)
    report = SyncReport(sorted(run.results, key=lambda r: (r.line, r.destination, r.tag)), clock() - started)
    sink.emit(SyncDone(len(report.results), report.count(Outcome.COPIED), report.count(Outcome.SKIPPED),
                       report.count(Outcome.FAILED), report.count(Outcome.PLANNED), report.bytes_sent,
                       round(report.elapsed, 3)))
    return report

