"""The ``native`` copier: the distribution API through our own registry client.

Why it is the default: one keep-alive session and one set of per-host limits
for the whole run, blobs de-duplicated and mounted across every line
(:class:`~.blobs.BlobPlacer`), and no process per line. Digests are preserved
because manifests are copied as bytes, never re-serialised (unless the plan
handed over a filtered index on purpose).

Order matters for registries that validate references: blobs before the
manifest that lists them, platform manifests (by digest) before the index,
the tag last — so a tag never points at something incomplete.

Docker schema 1 manifests are refused with a hint: they are signed for their
repository name, so a byte copy is rejected or breaks, and converting them
changes the digest. ``skopeo`` converts them; we say so instead of silently
falling back.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from ..errors import CopyError, NotFound
from ..ref import ImageRef
from ..registry.client import RegistryClient
from ..registry.media import Descriptor, Manifest
from ..flight import SingleFlight, gather
from .base import CopyResult, PlanItem, is_schema1
from .blobs import BlobPlacer, Placed

__all__ = ["NativeCopier", "schema1_error"]

#: Layers that registries are not expected to hold (Windows base layers with ``urls``).
_FOREIGN_MARKERS = ("foreign", "nondistributable")


def schema1_error(ref: ImageRef) -> CopyError:
    return CopyError(
        f"{ref} is a Docker schema 1 manifest, which the native copier cannot copy without changing "
        "it; mirror this line with --copier skopeo (it converts schema 1 to schema 2)"
    )


def _is_foreign(blob: Descriptor) -> bool:
    return any(marker in blob.media_type for marker in _FOREIGN_MARKERS)


class _Tally:
    """Counts for one line; the copier returns them in :class:`CopyResult`."""

    def __init__(self) -> None:
        self.bytes_sent = 0
        self.sent = 0
        self.mounted = 0
        self.present = 0
        self.manifests = 0

    def add(self, placed: Placed) -> None:
        self.bytes_sent += placed.bytes_sent
        if placed.outcome == "sent":
            self.sent += 1
        elif placed.outcome == "mounted":
            self.mounted += 1
        else:
            self.present += 1


class NativeCopier:
    """Copies images with :class:`RegistryClient`; share one instance across the run."""

    name = "native"

    def __init__(self, client: RegistryClient, *, blobs: BlobPlacer | None = None) -> None:
        self.client = client
        self.blobs = blobs or BlobPlacer(client)
        # (destination repository, digest) -> done: a platform manifest shared by two
        # tags, or by two lines, is checked and pushed once.
        self._manifests: SingleFlight[None] = SingleFlight(retry_errors=True)
        # Source reads shared by lines: the real list maps one source tag to two
        # destinations 130 times, and every manifest GET counts as a pull on Docker Hub.
        self._reads: SingleFlight[Manifest] = SingleFlight(retry_errors=True)

    async def _read(self, ref: ImageRef) -> Manifest:
        return await self._reads.run(str(ref), lambda: self.client.get_manifest(ref))

    async def copy(self, source: ImageRef, destination: ImageRef, item: PlanItem) -> CopyResult:
        tally = _Tally()
        top = item.manifest or await self._read(source)
        if is_schema1(top.media_type, top.data):
            raise schema1_error(source)
        await self._contents(source, destination, top, tally, item.new_repository)
        digest = await self.client.put_manifest(destination, top.data, top.media_type)
        tally.manifests += 1
        return CopyResult(
            digest=digest, bytes_sent=tally.bytes_sent, blobs_sent=tally.sent,
            blobs_mounted=tally.mounted, blobs_present=tally.present, manifests_put=tally.manifests,
        )  # fmt: skip

    async def _contents(self, source: ImageRef, destination: ImageRef, manifest: Manifest, tally: _Tally,
                        new: bool) -> None:
        """Everything ``manifest`` refers to, present at the destination.

        ``new``: the repository did not exist at plan time. What this run put there is
        remembered (the single flights keep their results), so whatever reaches a check
        is sure to be absent: no HEAD is sent for it.
        """
        if manifest.is_index:
            children = manifest.children()
            calls: list[Callable[[], Awaitable[None]]] = [
                functools.partial(self._child, source, destination, child, tally, new) for child in children
            ]
            if calls:
                await gather(calls)
            return
        blobs: list[Descriptor] = []
        config = manifest.config()
        if config is not None:
            blobs.append(config)
        blobs.extend(layer for layer in manifest.layers() if not _is_foreign(layer))
        unique = list({blob.digest: blob for blob in blobs}.values())
        if unique:
            placed = await gather([functools.partial(self.blobs.place, source, destination, blob, absent=new)
                                   for blob in unique])
            for outcome in placed:
                tally.add(outcome)

    async def _child(self, source: ImageRef, destination: ImageRef, child: Descriptor, tally: _Tally,
                     new: bool) -> None:
        key = (destination.name, child.digest)
        await self._manifests.run(key, lambda: self._copy_child(source, destination, child, tally, new))

    async def _copy_child(self, source: ImageRef, destination: ImageRef, child: Descriptor, tally: _Tally,
                          new: bool) -> None:
        dest_ref = destination.bare().with_digest(child.digest)
        if not new:
            try:
                await self.client.head_manifest(dest_ref)
                return  # already there: its blobs are too (registries check on manifest PUT)
            except NotFound:
                pass
        src_ref = source.bare().with_digest(child.digest)
        manifest = await self._read(src_ref)
        if is_schema1(manifest.media_type, manifest.data):
            raise schema1_error(src_ref)
        await self._contents(source, destination, manifest, tally, new)
        await self.client.put_manifest(dest_ref, manifest.data, manifest.media_type)
        tally.manifests += 1
