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

import json
import time
from collections.abc import Awaitable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import anyio

from ..copy import Copier, CopyResult, PlanItem
from ..flight import SingleFlight, gather
from ..errors import AuthError, MirrorError, NotFound
from ..failure import describe
from ..events import (EventSink, Item, SyncConflict, SyncCopyDone, SyncCopyFailed, SyncCopyStart, SyncDone,
                      SyncPlan, SyncPlanItem, SyncSkip)
from ..imageslist import Line
from ..ref import ImageRef
from ..registry.client import RegistryClient
from ..registry.media import INDEX_TYPES, Descriptor, Manifest
from .plan import ARCH_TAG_ARCHES, PlatformSpec, arch_tag_for_image, arch_tags, filter_index, superseded

__all__ = ["LineResult", "Outcome", "SyncOptions", "SyncReport", "WorkItem", "put_arch_tags", "sync"]

T = TypeVar("T")


class Outcome(StrEnum):
    COPIED = "copied"
    SKIPPED = "skipped"
    FAILED = "failed"
    PLANNED = "planned"  # --dry-run: would be copied


@dataclass(frozen=True)
class WorkItem:
    """A valid images-list line and its destination after overrides (``image:tag``)."""

    line: Line
    destination: ImageRef


@dataclass(frozen=True)
class SyncOptions:
    jobs: int = 4
    missing: bool = False
    dry_run: bool = False
    platforms: tuple[PlatformSpec, ...] = ()
    arch_tags: bool = False
    deadline: float | None = None  # ``--timeout``: a ``clock()`` value; lines not done by then fail


@dataclass(frozen=True)
class LineResult:
    """How one line ended. ``digest`` is the destination's top digest afterwards."""

    source: str
    destination: str
    tag: str
    line: int
    outcome: Outcome
    reason: str = ""
    source_digest: str | None = None
    destination_digest: str | None = None
    digest: str | None = None
    bytes_sent: int = 0
    elapsed: float = 0.0
    arch_tags: tuple[str, ...] = ()
    internal: bool = False  # failed through a bug, not the network or the input (exit 3)
    traceback: str = field(default="", repr=False, compare=False)  # of an internal error, shown with -v

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["traceback"]
        data["outcome"] = str(self.outcome)
        data["arch_tags"] = list(self.arch_tags)
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


async def _missing_ok(call: Awaitable[T]) -> T | None:
    """``None`` for a 404: a missing destination is a plan decision, not an error."""
    try:
        return await call
    except NotFound:
        return None


class _Planner:
    """The I/O half of planning, with the run's shared lookups (single flight)."""

    def __init__(self, client: RegistryClient, options: SyncOptions) -> None:
        self.client = client
        self.options = options
        self._source_heads: SingleFlight[Descriptor] = SingleFlight()
        self._source_reads: SingleFlight[Manifest] = SingleFlight()
        # None: the repository answered NAME_UNKNOWN (it does not exist yet).
        self._tag_lists: SingleFlight[frozenset[str] | None] = SingleFlight()
        # Per destination repository, single flight: the first line's tag HEAD, and when it
        # is a 404, the tag list -- does the repository exist at all?
        self._probes: SingleFlight[bool] = SingleFlight(retry_errors=True)

    async def source_head(self, ref: ImageRef) -> Descriptor:
        try:
            return await self._source_heads.run(str(ref), lambda: self.client.head_manifest(ref))
        except NotFound:
            raise NotFound(f"source image {ref} not found (check the tag exists upstream)", status=404) from None

    async def source_manifest(self, ref: ImageRef, digest: str) -> Manifest:
        return await self._source_reads.run(digest, lambda: self.client.get_manifest(ref.bare().with_digest(digest)))

    async def _tag_list(self, ref: ImageRef) -> frozenset[str] | None:
        async def fetch() -> frozenset[str] | None:
            try:
                return frozenset(await self.client.list_tags(ref.bare()))
            except NotFound:
                return None

        return await self._tag_lists.run(ref.name, fetch)

    async def destination_tags(self, ref: ImageRef) -> frozenset[str]:
        return await self._tag_list(ref) or frozenset()

    async def destination_head(self, ref: ImageRef) -> tuple[Descriptor | None, bool]:
        """The destination tag (``None``: missing) and whether its repository is new.

        A repository that did not exist at plan time holds only what this run puts
        there, so its lines need no tag HEAD and the copier no existence checks. The
        first line of a repository HEADs its tag; only a 404 costs the tag list (a warm
        run sends no more than before). The other lines of the repository wait for that
        answer and send their HEAD only when the repository exists.
        """
        mine: list[Descriptor | None] = []

        async def probe() -> bool:
            head = await _missing_ok(self.client.head_manifest(ref))
            mine.append(head)
            if head is not None:
                return False
            try:
                return await self._tag_list(ref) is None
            except MirrorError:  # a registry that refuses to list: assume nothing
                return False

        new = await self._probes.run(ref.name, probe)
        if mine:
            return mine[0], new
        if new:
            return None, True
        return await _missing_ok(self.client.head_manifest(ref)), False

    async def plan(self, work: WorkItem) -> PlanItem:
        line = work.line
        item = PlanItem(source=line.source_image, destination=work.destination, line=line,
                        arch_tags=self.options.arch_tags)
        if self.options.missing:
            present = await self.destination_tags(work.destination)
            if work.destination.tag in present:
                item.action, item.reason = "skip", "present at the destination (--missing)"
                return item
            item.action, item.reason = "copy", "missing at the destination"
            item.new_repository = await self._tag_list(work.destination) is None
            if self.options.platforms:
                source_head = await self.source_head(item.source)
                item.source_digest = source_head.digest
                if source_head.media_type in INDEX_TYPES:
                    await self._filter(item, source_head, None)
            return item
        source: Descriptor | None = None
        dest: Descriptor | None = None

        async def head_source() -> None:
            nonlocal source
            source = await self.source_head(item.source)

        async def head_dest() -> None:
            nonlocal dest
            dest, item.new_repository = await self.destination_head(work.destination)

        await gather([head_source, head_dest])
        assert source is not None
        item.source_digest = source.digest
        item.source_media_type = source.media_type
        item.destination_digest = dest.digest if dest else None
        if self.options.platforms and source.media_type in INDEX_TYPES:
            await self._filter(item, source, dest)
            return item
        if dest is None:
            item.action, item.reason = "copy", "missing at the destination"
        elif dest.digest == source.digest:
            item.action, item.reason = "skip", "up to date"
        else:
            item.action, item.reason = "copy", f"digest differs (destination has {dest.digest})"
        return item

    async def _filter(self, item: PlanItem, source: Descriptor, dest: Descriptor | None) -> None:
        """``--platforms``: the filtered index becomes what the destination must hold."""
        manifest = await self.source_manifest(item.source, source.digest)
        filtered = filter_index(manifest, self.options.platforms)
        item.manifest = Manifest(filtered.data, filtered.media_type, filtered.digest)
        if dest is None:
            item.action, item.reason = "copy", "missing at the destination"
            return
        if dest.digest == filtered.digest:
            item.action, item.reason = "skip", "up to date (filtered index)"
            return
        wanted = {child.digest for child in filtered.children}
        if dest.media_type in INDEX_TYPES:
            current = await self.client.get_manifest(item.destination)
            have = {child.digest for child in current.children()}
            if have == wanted:
                item.action, item.reason = "skip", "up to date (same platforms)"
                return
        item.action, item.reason = "copy", "platforms differ at the destination"

    async def missing_arch_tags(self, item: PlanItem) -> bool:
        """For a skipped line with ``--arch-tags``: are any of its arch tags absent?"""
        present = await self.destination_tags(item.destination)
        tag = item.destination.tag or ""
        if self.options.missing:
            # --missing judges by tag presence only: no request per present tag.
            return not any(f"{tag}-{arch}" in present for arch in ARCH_TAG_ARCHES)
        if item.manifest is not None:
            doc = item.manifest.json()
        else:
            top = await self.client.get_manifest(item.destination)
            if not top.is_index:
                return not any(f"{tag}-{arch}" in present for arch in ARCH_TAG_ARCHES)
            doc = top.json()
        return any(t.tag not in present for t in arch_tags(tag, doc))


async def put_arch_tags(client: RegistryClient, destination: ImageRef, present: frozenset[str] = frozenset()) -> list[str]:
    """The seed's ``TAG-<arch><variant>`` tags, from what the destination now holds.

    Reads only the destination (our registry, no pull counted upstream) and
    re-puts platform manifests under extra tags: no blob moves.
    """
    tag = destination.tag or ""
    top = await client.get_manifest(destination)
    written: list[str] = []
    if top.is_index:
        for arch_tag in arch_tags(tag, top.json()):
            if arch_tag.tag in present:
                continue
            child = await client.get_manifest(destination.bare().with_digest(arch_tag.digest))
            await client.put_manifest(destination.with_tag(arch_tag.tag), child.data, child.media_type)
            written.append(arch_tag.tag)
        return written
    config = top.config()
    if config is None:
        return written
    raw = json.loads(await client.read_blob(destination.bare(), config.digest))
    architecture = raw.get("architecture") if isinstance(raw, dict) else None
    if not isinstance(architecture, str):
        return written
    single = arch_tag_for_image(tag, architecture, top.digest, str(raw.get("os") or "linux"))
    if single is not None and single.tag not in present:
        await client.put_manifest(destination.with_tag(single.tag), top.data, top.media_type)
        written.append(single.tag)
    return written


class _Run:
    def __init__(self, client: RegistryClient, copier: Copier, options: SyncOptions, sink: EventSink,
                 clock: Any) -> None:
        self.client = client
        self.copier = copier
        self.options = options
        self.sink = sink
        self.clock = clock
        self.planner = _Planner(client, options)
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
        try:
            item = await self.planner.plan(work)
            if item.action == "skip" and self.options.arch_tags and not self.options.dry_run:
                if await self.planner.missing_arch_tags(item):
                    present = await self.planner.destination_tags(item.destination)
                    written = await put_arch_tags(self.client, item.destination, present)
                    item.reason = f"{item.reason}; arch tags added"
                    self._skip(item, started, tuple(written))
                    return
        except Exception as exc:  # one line never stops the others; a bug is an internal error (describe, exit 3)
            self._failed(item, started, exc, stage="plan")
            return
        if item.action == "skip":
            self._skip(item, started)
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

    def _skip(self, item: PlanItem, started: float, written: tuple[str, ...] = ()) -> None:
        if self.options.dry_run:
            self.sink.emit(SyncPlanItem(_item(item), "skip", item.reason, item.source_digest))
        result = self._result(item, Outcome.SKIPPED, started, digest=item.destination_digest, arch_tags=written)
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
        except Exception as exc:  # one line never stops the others; a bug is an internal error (describe, exit 3)
            self._failed(item, started, exc, stage="copy")
            return
        result = self._result(item, Outcome.COPIED, started, digest=copied.digest, bytes_sent=copied.bytes_sent,
                              arch_tags=tuple(written))
        self.sink.emit(SyncCopyDone(
            _item(item), copied.digest, copied.bytes_sent, round(self.clock() - copy_started, 3),
            copied.blobs_sent, copied.blobs_mounted, copied.blobs_present, tuple(written),
        ))  # fmt: skip


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
) -> SyncReport:
    """Plan and copy every item; return one result per item, in images-list order."""
    run = _Run(client, copier, options, sink, clock)
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

