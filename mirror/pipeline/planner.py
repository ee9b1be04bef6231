"""The sync planner: for one (line, destination) pair, HEAD the source (once per source tag
for the whole run) and the destination, and return a frozen :class:`Plan` -- copy or skip --
before any copy slot is taken.

A plan is per destination so a line with several targets gets one plan each; the scheduler
(:mod:`.sync`) plans every destination of one source together (:meth:`Planner.plan_all`: the
source HEAD and the destinations' HEADs at once, one task per destination) and hands the copier
every destination that needs a copy at once.
A destination repository that does not exist yet is learnt once per repository, so the
checks sure to answer 404 are skipped (:attr:`Plan.new_repository`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Protocol, TypeVar

import anyio

from ..errors import MirrorError, NotFound
from ..flight import SingleFlight, settle
from ..ref import ImageRef
from ..registry.media import INDEX_TYPES, Descriptor, Manifest
from ..value import frozen
from .platforms import filter_index
from .results import SyncOptions, WorkItem

T = TypeVar("T")

__all__ = ["Action", "ManifestReader", "Plan", "Planner"]


class Action(StrEnum):
    COPY = "copy"
    SKIP = "skip"


class ManifestReader(Protocol):
    """What planning reads: the registry client, or a test's small fake."""

    async def head_manifest(self, ref: ImageRef) -> Descriptor: ...

    async def get_manifest(self, ref: ImageRef) -> Manifest: ...

    async def list_tags(self, ref: ImageRef) -> list[str]: ...


@frozen
class Plan:
    """What to do for one (line, destination) pair, and what was learnt deciding it.

    ``manifest`` is what the destination's tag must end up as, byte for byte, when the plan
    already read it (``--platforms`` filters the index); ``None`` means "the source's top
    manifest, as served". ``new_repository``: the destination repository did not exist at
    plan time, so whatever this run has not put there is sure to be absent.
    """

    work: WorkItem
    action: Action
    reason: str
    source_digest: str | None = None
    source_media_type: str | None = None
    destination_digest: str | None = None
    manifest: Manifest | None = None
    new_repository: bool = False
    destination_media_type: str | None = None

    @property
    def source(self) -> ImageRef:
        return self.work.line.source_image

    @property
    def destination(self) -> ImageRef:
        return self.work.destination

    def but(self, action: Action, reason: str) -> Plan:
        return replace(self, action=action, reason=reason)


async def _missing_ok(call: Awaitable[T]) -> T | None:
    """``None`` for a 404: a missing destination is a plan decision, not an error."""
    try:
        return await call
    except NotFound:
        return None


def _by_digest(source: Descriptor, dest: Descriptor | None) -> tuple[Action, str]:
    if dest is None:
        return Action.COPY, "missing at the destination"
    if dest.digest == source.digest:
        return Action.SKIP, "up to date"
    return Action.COPY, f"digest differs (destination has {dest.digest})"


#: A destination's HEAD as planning sees it: the tag (``None``: missing) and whether its
#: repository is new; or the error that HEAD ended in.
_DestinationHead = tuple[Descriptor | None, bool] | Exception


class Planner:
    """The I/O half of planning, with the run's shared lookups (single flight)."""

    def __init__(self, reader: ManifestReader, options: SyncOptions) -> None:
        self.reader = reader
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
            return await self._source_heads.run(str(ref), lambda: self.reader.head_manifest(ref))
        except NotFound:
            raise NotFound(f"source image {ref} not found (check the tag exists upstream)", status=404) from None

    async def source_manifest(self, ref: ImageRef, digest: str) -> Manifest:
        return await self._source_reads.run(digest, lambda: self.reader.get_manifest(ref.bare().with_digest(digest)))

    async def _tag_list(self, ref: ImageRef) -> frozenset[str] | None:
        async def fetch() -> frozenset[str] | None:
            try:
                return frozenset(await self.reader.list_tags(ref.bare()))
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
            head = await _missing_ok(self.reader.head_manifest(ref))
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
        return await _missing_ok(self.reader.head_manifest(ref)), False

    async def plan(self, work: WorkItem) -> Plan:
        (planned,) = await self.plan_all([work])
        if isinstance(planned, Exception):
            raise planned
        return planned

    async def plan_all(self, works: Sequence[WorkItem]) -> list[Plan | Exception]:
        """The plan of each destination of one source (``works`` share their source image), or
        the error that destination's planning ended in; one destination's failure is its own.

        The source HEAD (once for the run, whoever asks) and every destination's HEAD go out
        together: one task per destination, the source's in the caller's task. This is the
        path of every line of a warm run, so it spawns no more than that. A failed source
        fails every destination, and their HEADs still waiting are cancelled (no use now).
        """
        if self.options.missing:
            return await settle([functools.partial(self._plan_missing, work) for work in works])
        source, heads = await self._heads(works[0].line.source_image, [work.destination for work in works])
        if isinstance(source, Exception):
            return [source for _ in works]
        out: list[Plan | Exception] = []
        filtered: list[tuple[int, Plan, Descriptor | None]] = []
        for work, head in zip(works, heads):
            if isinstance(head, Exception):
                out.append(head)
                continue
            dest, new = head
            action, reason = _by_digest(source, dest)
            plan = Plan(work, action, reason, source.digest, source.media_type, dest.digest if dest else None,
                        new_repository=new, destination_media_type=dest.media_type if dest else None)
            if self.options.platforms and source.media_type in INDEX_TYPES:
                filtered.append((len(out), plan, dest))
            out.append(plan)
        if filtered:
            calls = [functools.partial(self._filter, plan, source, dest) for _, plan, dest in filtered]
            for (index, _, _), decided in zip(filtered, await settle(calls)):
                out[index] = decided
        return out

    async def _heads(self, source_ref: ImageRef,
                     destinations: Sequence[ImageRef]) -> tuple[Descriptor | Exception, list[_DestinationHead]]:
        """The source HEAD and each destination's, concurrently; each its value or its error."""
        heads: list[_DestinationHead] = [MirrorError("not planned")] * len(destinations)

        async def head(index: int, ref: ImageRef) -> None:
            try:
                heads[index] = await self.destination_head(ref)
            except Exception as exc:  # this destination's own failure
                heads[index] = exc

        source: Descriptor | Exception
        async with anyio.create_task_group() as group:
            for index, ref in enumerate(destinations):
                group.start_soon(head, index, ref)
            try:
                source = await self.source_head(source_ref)
            except Exception as exc:  # every destination's failure: their HEADs are no use now
                source = exc
                group.cancel_scope.cancel()
        return source, heads

    async def _plan_missing(self, work: WorkItem) -> Plan:
        """``--missing`` judges by tag presence: one tag list per repository, no HEAD per line."""
        present = await self.destination_tags(work.destination)
        if work.destination.tag in present:
            return Plan(work, Action.SKIP, "present at the destination (--missing)")
        plan = Plan(work, Action.COPY, "missing at the destination",
                    new_repository=await self._tag_list(work.destination) is None)
        if not self.options.platforms:
            return plan
        source = await self.source_head(work.line.source_image)
        plan = replace(plan, source_digest=source.digest, source_media_type=source.media_type)
        if source.media_type in INDEX_TYPES:
            return await self._filter(plan, source, None)
        return plan

    async def _filter(self, plan: Plan, source: Descriptor, dest: Descriptor | None) -> Plan:
        """``--platforms``: the filtered index becomes what the destination must hold."""
        manifest = await self.source_manifest(plan.source, source.digest)
        filtered = filter_index(manifest, self.options.platforms)
        plan = replace(plan, manifest=Manifest(filtered.data, filtered.media_type, filtered.digest))
        if dest is None:
            return plan.but(Action.COPY, "missing at the destination")
        if dest.digest == filtered.digest:
            return plan.but(Action.SKIP, "up to date (filtered index)")
        wanted = {child.digest for child in filtered.children}
        if dest.media_type in INDEX_TYPES:
            current = await self.reader.get_manifest(plan.destination)
            if {child.digest for child in current.children()} == wanted:
                return plan.but(Action.SKIP, "up to date (same platforms)")
        return plan.but(Action.COPY, "platforms differ at the destination")


def shared_manifest(plans: Sequence[Plan]) -> Manifest | None:
    """The one manifest every destination of a source gets (the filtered index, or ``None``:
    the source's own). Plans of one source reference share it: the filter is the run's."""
    return next((plan.manifest for plan in plans if plan.manifest is not None), None)
