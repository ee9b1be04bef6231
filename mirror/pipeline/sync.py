"""sync: plan every line, then copy what differs with a bounded pool of workers.

Shape of a run (a fixed pool of tasks, one source at a time each):

1. **Group** — the lines are grouped by source reference (``image:tag``): every destination
   of one source -- several ``--target``s, a config.yaml's repositories, or lines that share
   a source -- is one unit of work, so the source is read once for all of them.
2. **Plan** — without a copy slot, under the registry client's per-host limits: per
   destination a frozen :class:`~.planner.Plan` (HEAD the source once, HEAD the destination,
   compare digests: regsync's rule, only a difference costs a copy slot).
3. **Copy** — inside ``CapacityLimiter(jobs)``: the copier gets the source and every
   destination that needs it; then (with ``--arch-tags``) the per-architecture tags.
4. Every (line, destination) ends in a :class:`LineResult` -- copied, skipped, failed (with
   the reason) or planned (``--dry-run``). A failure is caught per destination and never
   cancels the others. Lines that write the same destination tag are run once: the last one
   (as the seed's loop did), the others are skipped with a reason (and a ``sync.conflict``
   event when their sources differ).

Events (``sync.plan``, ``sync.plan.item``, ``sync.skip``, ``sync.copy.start``,
``sync.copy.done``, ``sync.copy.failed``, ``sync.done``) carry JSON-safe, secret-free fields;
the UI renders them.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Sequence
from typing import Any

import anyio

from ..copy import Copier, CopyResult, Destination, SourceImage
from ..errors import AuthError, MirrorError
from ..events import EventSink, Item
from ..events.sync import (SyncConflict, SyncCopyDone, SyncCopyFailed, SyncCopyStart, SyncDone, SyncPlan,
                           SyncPlanItem, SyncReferrers, SyncSkip)
from ..failure import describe
from ..flight import settle
from ..ref import ImageRef
from ..referrers import ReferrerMirror
from ..registry.client import RegistryClient
from .archtags import missing_arch_tags, put_arch_tags
from .planner import Action, Plan, Planner, shared_manifest
from .results import LineResult, Outcome, SyncOptions, SyncReport, WorkItem
from .selection import superseded

__all__ = ["LineResult", "Outcome", "SyncOptions", "SyncReport", "WorkItem", "group_by_source", "sync"]


def _item(work: WorkItem) -> Item:
    return Item(work.line.source.name, work.destination.name, work.destination.tag, work.line.lineno, work.label)


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
        self.finished: set[int] = set()  # id() of every WorkItem with a result
        # Out-of-process copiers (skopeo, oras) cannot share what they are uploading, so two
        # of them in one destination repository would both send the shared blobs: one at a time
        # per repository (the native copier de-duplicates blobs itself and needs no lock).
        self._repository_locks: dict[str, anyio.Lock] | None = None if copier.name == "native" else {}

    def _result(self, work: WorkItem, plan: Plan | None, outcome: Outcome, started: float,
                **extra: Any) -> LineResult:
        line = work.line
        result = LineResult(
            source=line.source.name, destination=work.destination.name, tag=work.destination.tag or "",
            line=line.lineno, outcome=outcome, reason=extra.pop("reason", plan.reason if plan else ""),
            target=work.label, source_digest=plan.source_digest if plan else None,
            destination_digest=plan.destination_digest if plan else None, elapsed=self.clock() - started,
            **extra,
        )  # fmt: skip
        self.results.append(result)
        self.finished.add(id(work))
        return result

    async def source(self, group: Sequence[WorkItem]) -> None:
        """Every destination of one source: plan each, settle the skips, copy the rest together."""
        started = self.clock()
        plans: list[Plan] = []
        for work, planned in zip(group, await self.planner.plan_all(group)):
            if isinstance(planned, Exception):  # this destination only; a bug is an internal error (exit 3)
                self._failed(work, None, started, planned, stage="plan")
            else:
                plans.append(planned)
        copies = [plan for plan in plans if plan.action is Action.COPY]
        skips = [plan for plan in plans if plan.action is Action.SKIP]
        if self.options.dry_run:  # nothing is written, so nothing is added to a skip either
            for plan in copies:
                self.sink.emit(SyncPlanItem(_item(plan.work), "copy", plan.reason, plan.source_digest))
                self._result(plan.work, plan, Outcome.PLANNED, started)
            for plan in skips:
                self._skip(plan.work, plan, started)
            return
        # A skip with nothing to add (no arch tags, no referrers: every line of a plain warm run)
        # is settled at once, not in a task of its own.
        adds = self.referrers is not None or self.options.arch_tags
        if not adds:
            for plan in skips:
                self._skip(plan.work, plan, started)
            if not copies:
                return
        async with anyio.create_task_group() as group_tasks:
            for plan in skips if adds else []:
                group_tasks.start_soon(self._up_to_date, plan, started)
            if not copies:
                return
            if self._repository_locks is None:
                async with self.workers:
                    await self._copy(copies, started)
            else:
                for plan in copies:
                    group_tasks.start_soon(self._copy_alone, plan, started)

    async def _up_to_date(self, plan: Plan, started: float) -> None:
        written: list[str] = []
        try:
            if self.options.arch_tags:
                if await missing_arch_tags(self.planner, self.client, plan):
                    present = await self.planner.destination_tags(plan.destination)
                    written = await put_arch_tags(self.client, plan.destination, present)
                    plan = plan.but(plan.action, f"{plan.reason}; arch tags added")
            referred = await self._referrers(plan, plan.destination_digest)
        except Exception as exc:  # one line never stops the others; a bug is an internal error (exit 3)
            self._failed(plan.work, plan, started, exc, stage="plan")
            return
        self._skip(plan.work, plan, started, tuple(written), referred)

    async def _copy_alone(self, plan: Plan, started: float) -> None:
        """skopeo and oras pull outside the transport: the source host's pull floor is checked
        here, first (a wait holds neither the repository lock nor a copy slot). The repository
        lock is taken before the copy slot, so waiting for it holds no slot."""
        assert self._repository_locks is not None
        try:
            async with (self.client.pulling(plan.source),
                        self._repository_locks.setdefault(plan.destination.name, anyio.Lock()), self.workers):
                await self._copy([plan], started)
        except MirrorError as exc:  # _copy reports its own failures: this is the pull quota
            self._failed(plan.work, plan, started, exc, stage="copy")

    def superseded(self, work: WorkItem, winner: WorkItem) -> None:
        """A line whose destination tag a later line also writes: skipped, the later one runs."""
        if work.line.source_image == winner.line.source_image:
            reason = f"duplicate of line {winner.line.lineno}"
        else:
            reason = (f"superseded by line {winner.line.lineno}, which writes the same destination tag "
                      f"from {winner.line.source.name} (the last line wins)")
            self.sink.emit(SyncConflict(_item(work), winner.line.lineno, winner.line.source.name))
        self._skip(work, Plan(work, Action.SKIP, reason), self.clock())

    def timed_out(self, work: WorkItem) -> None:
        """A line the run's ``--timeout`` ended before it was done."""
        self._failed(work, None, self.clock(), MirrorError("run timeout"), stage="timeout")

    def _skip(self, work: WorkItem, plan: Plan, started: float, written: tuple[str, ...] = (),
              referred: dict[str, Any] | None = None) -> None:
        if self.options.dry_run:
            self.sink.emit(SyncPlanItem(_item(work), "skip", plan.reason, plan.source_digest))
        result = self._result(work, plan, Outcome.SKIPPED, started, digest=plan.destination_digest,
                              arch_tags=written, **(referred or {}))
        self.sink.emit(SyncSkip(_item(work), result.digest, result.reason, round(result.elapsed, 3)))

    def _failed(self, work: WorkItem, plan: Plan | None, started: float, exc: BaseException, *, stage: str) -> None:
        failure = describe(exc)
        reason = failure.reason
        if isinstance(exc, AuthError):
            reason += " (check the credentials in your docker config.json for this registry)"
        result = self._result(work, plan, Outcome.FAILED, started, reason=reason, internal=failure.internal,
                              traceback=failure.traceback)
        self.sink.emit(SyncCopyFailed(_item(work), reason, stage, round(result.elapsed, 3)))

    async def _copy(self, plans: Sequence[Plan], started: float) -> None:
        """One copier call for every destination of the source; each ends on its own."""
        for plan in plans:
            self.sink.emit(SyncCopyStart(_item(plan.work), plan.reason, plan.source_digest, self.copier.name))
        copy_started = self.clock()
        first = plans[0]
        source = SourceImage(first.source, first.source_digest, first.source_media_type)
        destinations = [Destination(plan.destination, plan.new_repository) for plan in plans]
        try:
            copied = await self.copier.copy(source, destinations, shared_manifest(plans))
        except Exception as exc:  # every destination of the call failed; a bug is an internal error (exit 3)
            copied = [CopyResult.failed(exc) for _ in plans]
        done = [(plan, result) for plan, result in zip(plans, copied) if result.error is None]
        for plan, result in zip(plans, copied):
            if result.error is not None:
                self._failed(plan.work, plan, started, result.error, stage="copy")
        after = await settle([functools.partial(self._after_copy, plan, result.digest) for plan, result in done])
        for (plan, result), extra in zip(done, after):
            if isinstance(extra, Exception):
                self._failed(plan.work, plan, started, extra, stage="copy")
                continue
            written, referred = extra
            self._result(plan.work, plan, Outcome.COPIED, started, digest=result.digest, bytes_sent=result.bytes_sent,
                         arch_tags=tuple(written), **referred)
            self.sink.emit(SyncCopyDone(
                _item(plan.work), result.digest, result.bytes_sent, round(self.clock() - copy_started, 3),
                result.blobs_sent, result.blobs_mounted, result.blobs_present, tuple(written),
            ))  # fmt: skip


    async def _after_copy(self, plan: Plan, digest: str | None) -> tuple[list[str], dict[str, Any]]:
        """A copied destination's arch tags (``--arch-tags``), then its referrers (``--referrers``)."""
        written = await put_arch_tags(self.client, plan.destination) if self.options.arch_tags else []
        return written, await self._referrers(plan, digest)

    async def _referrers(self, plan: Plan, digest: str | None) -> dict[str, Any]:
        """``--referrers``: what is attached to the line's digests, once its image is there."""
        if self.referrers is None or self.options.dry_run or not self.referrers.wants(plan.destination):
            return {}
        found = await self.referrers.for_line(plan.source, plan.destination, source_digest=plan.source_digest,
                                              digest=digest, media_type=plan.source_media_type, manifest=plan.manifest)
        self.sink.emit(SyncReferrers(_item(plan.work), len(found.copied), len(found.present), found.failed,
                                     found.skipped))
        return {"referrers_copied": len(found.copied), "referrers_present": len(found.present),
                "referrers_failed": found.failed, "referrers_skipped": found.skipped}


def group_by_source(work: Sequence[WorkItem]) -> list[list[WorkItem]]:
    """The items grouped by source reference, in the order each source first appears."""
    groups: dict[str, list[WorkItem]] = {}
    for item in work:
        groups.setdefault(str(item.line.source_image), []).append(item)
    return list(groups.values())


#: Sources planned (and copied) at the same time; the per-host limiters decide the real pace.
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
    """Plan and copy every item; return one result per item, in list order. ``referrers``
    copies what is attached to each line's image after it (``--referrers``)."""
    run = _Run(client, copier, options, sink, clock, referrers)
    started = clock()
    sink.emit(SyncPlan(len(work), options.jobs, copier.name, options.dry_run, options.missing,
                       tuple(str(p) for p in options.platforms), options.arch_tags))
    decided = [item for item in work if item.winner is None]
    winners = superseded([(item.line.source_image, item.destination) for item in decided])
    for index, winner_index in winners.items():
        run.superseded(decided[index], decided[winner_index])
    for item in work:
        if item.winner is not None:  # settled on the whole list, before sharding
            run.superseded(item, WorkItem(item.winner, item.destination, item.target))
    todo = [item for index, item in enumerate(decided) if index not in winners]
    groups = group_by_source(todo)
    pending = iter(groups)

    async def worker() -> None:
        # The iterator is shared: each group is taken once (next() runs between awaits).
        for group in pending:
            await run.source(group)

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
            # A fixed pool rather than a task per line: memory stays flat for long lists, and
            # PLAN_WORKERS sources in flight are enough to keep every host's limit busy.
            for _ in range(min(len(groups), max(PLAN_WORKERS, 4 * options.jobs))):
                group.start_soon(worker)
    if scope.cancelled_caught:
        for item in todo:
            if id(item) not in run.finished:
                run.timed_out(item)
    report = SyncReport(sorted(run.results, key=lambda r: (r.line, r.target, r.destination, r.tag)),
                        clock() - started)
    sink.emit(SyncDone(len(report.results), report.count(Outcome.COPIED), report.count(Outcome.SKIPPED),
                       report.count(Outcome.FAILED), report.count(Outcome.PLANNED), report.bytes_sent,
                       round(report.elapsed, 3)))
    return report
