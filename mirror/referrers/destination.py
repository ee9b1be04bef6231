"""Putting referrers at a destination, byte for byte, and keeping its referrers tags right.

Order, per referrer: its blobs (present, mounted from the source repository on the same
registry, or copied), for an index its child manifests by digest, then the manifest itself
**by digest** (so its ``subject`` and digest are unchanged), and for a cosign tag the tag
after it. A registry that indexed the referrer answers the PUT with ``OCI-Subject``; one
without the referrers API does not, and then the subject's referrers tag (``sha256-<hex>``) is
updated by us: read, merged (every entry of other tools kept as it is), written back -- one
update at a time per (repository, subject), so two lines cannot drop each other's entries.

Checks before work: one HEAD per referrer (by digest; a cosign tag by tag, compared with the
source's digest); a cosign tag absent from the destination's tag list needs no HEAD.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

import anyio

from ..errors import NotFound, ProtocolError
from ..flight import SingleFlight, gather
from ..ref import ImageRef
from ..registry.client import RegistryClient
from ..registry.media import OCI_INDEX, Descriptor, Manifest
from .model import Referrer, merge_index, referrers_tag
from .source import SourceReader

__all__ = ["DestinationWriter"]

#: Indexes inside a referrer that is an index (nested deeper than this is refused as a loop).
_NESTING = 4


class DestinationWriter:
    """The destination side of a run; one per run, shared by every line."""

    def __init__(self, client: RegistryClient, source: SourceReader) -> None:
        self.client = client
        self.source = source
        self.tags = source.tags  # keyed by the full name: one list per repository, whichever side
        self._pushes: SingleFlight[bool] = SingleFlight(retry_errors=True)
        self._blobs: SingleFlight[None] = SingleFlight(retry_errors=True)
        self._index_locks: dict[tuple[str, str], anyio.Lock] = {}
        self._written_tags: set[tuple[str, str]] = set()

    async def present(self, repo: ImageRef, referrer: Referrer) -> bool:
        """Whether the destination has ``referrer`` (a cosign tag: pointing at the same digest)."""
        if referrer.tag is not None:
            if referrer.tag not in await self.tags(repo) and (repo.name, referrer.tag) not in self._written_tags:
                return False
            ref = repo.with_tag(referrer.tag)
        else:
            ref = repo.with_digest(referrer.digest)
        try:
            return (await self.client.head_manifest(ref)).digest == referrer.digest
        except NotFound:
            return False

    async def push(self, source: ImageRef, repo: ImageRef, referrer: Referrer) -> bool:
        """Copy ``referrer`` from ``source``; True when the subject's referrers tag must now list
        it (the registry did not answer ``OCI-Subject``). Once per (repository, referrer)."""
        key = (repo.name, referrer.digest, referrer.tag)
        return await self._pushes.run(key, lambda: self._push(source, repo, referrer))

    async def _push(self, source: ImageRef, repo: ImageRef, referrer: Referrer) -> bool:
        manifest = await self.source.manifest(source, referrer.digest)
        await self._contents(source, repo, manifest, 0)
        by_digest = repo.with_digest(referrer.digest)
        if referrer.tag is not None:
            # cosign's manifests have no subject: by digest, then the tag that finds them.
            await self.client.put_manifest(by_digest, manifest.data, manifest.media_type)
            await self.client.put_manifest(repo.with_tag(referrer.tag), manifest.data, manifest.media_type)
            self._written_tags.add((repo.name, referrer.tag))
            return False
        indexed = await self.client.put_manifest_subject(by_digest, manifest.data, manifest.media_type)
        return indexed is None

    async def _contents(self, source: ImageRef, repo: ImageRef, manifest: Manifest, nesting: int) -> None:
        """Blobs (or, for an index, child manifests) before the manifest that lists them."""
        if manifest.is_index:
            if nesting >= _NESTING:
                raise ProtocolError(f"referrer {manifest.digest}: indexes nested more than {_NESTING} deep")
            for child in manifest.children():
                await self._child(source, repo, child, nesting + 1)
            return
        blobs: list[Descriptor] = [blob for blob in (manifest.config(), *manifest.layers()) if blob is not None]
        unique = list({blob.digest: blob for blob in blobs}.values())
        if unique:
            await gather([functools.partial(self._blob, source, repo, blob) for blob in unique])

    async def _child(self, source: ImageRef, repo: ImageRef, child: Descriptor, nesting: int) -> None:
        ref = repo.with_digest(child.digest)
        try:
            await self.client.head_manifest(ref)
            return
        except NotFound:
            pass
        manifest = await self.source.manifest(source, child.digest)
        await self._contents(source, repo, manifest, nesting)
        await self.client.put_manifest(ref, manifest.data, manifest.media_type)

    async def _blob(self, source: ImageRef, repo: ImageRef, blob: Descriptor) -> None:
        async def place() -> None:
            if await self.client.blob_exists(repo, blob.digest):
                return
            if await self.client.mount_blob(repo, blob.digest, source):
                return
            await self.client.copy_blob(source, repo, blob)

        await self._blobs.run((repo.name, blob.digest), place)

    async def list_in_tag(self, repo: ImageRef, subject: str, entries: Sequence[Referrer],
                          source_index: bytes | None) -> None:
        """Add ``entries`` to ``subject``'s referrers tag at the destination, under its lock.

        A destination without the tag gets the source's own index bytes when they list
        exactly these referrers (the same digest on both sides), else a new index.
        """
        tag = referrers_tag(subject)
        lock = self._index_locks.setdefault((repo.name, subject), anyio.Lock())
        async with lock:
            existing: Manifest | None = None
            if tag in await self.tags(repo) or (repo.name, tag) in self._written_tags:
                try:
                    existing = await self.client.get_manifest(repo.with_tag(tag))
                except NotFound:
                    existing = None
            if existing is None and source_index is not None and _lists_exactly(source_index, entries):
                data = source_index
            else:
                merged = merge_index(existing.data if existing else None, [e.descriptor for e in entries],
                                     f"referrers tag {repo.name}:{tag}")
                if merged is None:
                    return
                data = merged
            await self.client.put_manifest(repo.with_tag(tag), data, OCI_INDEX)
            self._written_tags.add((repo.name, tag))


def _lists_exactly(index: bytes, entries: Sequence[Referrer]) -> bool:
    try:
        listed = [m.get("digest") for m in json.loads(index).get("manifests", [])]
    except (ValueError, AttributeError):
        return False
    return listed == [e.digest for e in entries]
