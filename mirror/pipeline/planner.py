"""The sync planner: for one line, HEAD the source (once per source tag) and the destination,
and decide copy or skip before any copy slot is taken; also the per-architecture tags.

The scheduler (:mod:`.sync`) calls :meth:`Planner.plan` per line; a destination repository that
does not exist yet is learnt once per repository, so the checks sure to answer 404 are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import TypeVar


from ..copy import PlanItem
from ..flight import SingleFlight, gather
from ..errors import MirrorError, NotFound
from ..ref import ImageRef
from ..registry.client import RegistryClient
from ..registry.media import INDEX_TYPES, Descriptor, Manifest
from .results import SyncOptions, WorkItem
from .plan import ARCH_TAG_ARCHES, arch_tag_for_image, arch_tags, filter_index

T = TypeVar("T")

__all__ = ["Planner", "put_arch_tags"]


async def _missing_ok(call: Awaitable[T]) -> T | None:
    """``None`` for a 404: a missing destination is a plan decision, not an error."""
    try:
        return await call
    except NotFound:
        return None


class Planner:
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
