"""The ``native`` copier: the distribution API through our own registry client.

Why it is the default: one keep-alive session and one set of per-host limits
for the whole run, blobs de-duplicated and mounted across every line
(:class:`~.blobs.BlobPlacer`), and no process per line. Digests are preserved
because manifests are copied as bytes, never re-serialised (unless the plan
handed over a filtered index on purpose).

Several destinations of one source are copied together: each manifest and blob is checked
at every destination first, then read from the source once for all that lack it (a source
blob is fetched once per run whatever the number of targets). A destination that fails is
left out of the later steps; the others go on.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import CopyError, NotFound
from ..ref import ImageRef
from ..registry.client import RegistryClient
from ..registry.media import Descriptor, Manifest
from ..flight import SingleFlight, gather, settle
from .base import CopyResult, Destination, SourceImage, is_schema1
from .blobs import BlobPlacer, Placed

__all__ = ["NativeCopier", "schema1_error"]

T = TypeVar("T")

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
    """Counts for one destination; the copier returns them in :class:`CopyResult`."""

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


@dataclass(eq=False)
class _Target:
    """One destination of a copy: where it stands. A failed one is left out of later steps."""

    ref: ImageRef  # with tag
    new: bool
    tally: _Tally = field(default_factory=_Tally)
    error: Exception | None = None

    def fail(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc

    def result(self, digest: str) -> CopyResult:
        if self.error is not None:
            return CopyResult.failed(self.error)
        tally = self.tally
        return CopyResult(
            digest=digest, bytes_sent=tally.bytes_sent, blobs_sent=tally.sent, blobs_mounted=tally.mounted,
            blobs_present=tally.present, manifests_put=tally.manifests,
        )  # fmt: skip


def _live(targets: Sequence[_Target]) -> list[_Target]:
    return [t for t in targets if t.error is None]


def _record(targets: Sequence[_Target], outcomes: Sequence[T | Exception]) -> list[tuple[_Target, T]]:
    """Fail each target whose outcome is an error; the others with their values."""
    kept: list[tuple[_Target, T]] = []
    for target, outcome in zip(targets, outcomes):
        if isinstance(outcome, Exception):
            target.fail(outcome)
        else:
            kept.append((target, outcome))
    return kept


class NativeCopier:
    """Copies images with :class:`RegistryClient`; share one instance across the run."""

    name = "native"

    def __init__(self, client: RegistryClient, *, blobs: BlobPlacer | None = None) -> None:
        self.client = client
        self.blobs = blobs or BlobPlacer(client)
        # (destination repository, digest) -> put: a platform manifest shared by two tags, or by
        # two lines, is pushed once.
        self._puts: SingleFlight[str] = SingleFlight(retry_errors=True)
        # Only concurrent asks share a HEAD: a later one looks at _puts first.
        self._heads: SingleFlight[bool] = SingleFlight(keep_results=False)
        # Source reads shared by lines: the real list maps one source tag to two
        # destinations 130 times, and every manifest GET counts as a pull on Docker Hub.
        self._reads: SingleFlight[Manifest] = SingleFlight(retry_errors=True)

    async def _read(self, ref: ImageRef) -> Manifest:
        return await self._reads.run(str(ref), lambda: self.client.get_manifest(ref))

    async def copy(self, source: SourceImage, destinations: Sequence[Destination],
                   manifest: Manifest | None) -> list[CopyResult]:
        """Read the source once for every destination; each destination ends on its own."""
        targets = [_Target(d.ref, d.new_repository) for d in destinations]
        top = manifest or await self._read(source.ref)
        if is_schema1(top.media_type, top.data):
            raise schema1_error(source.ref)
        await self._contents(source.ref, targets, top)
        live = _live(targets)
        puts = await settle([functools.partial(self.client.put_manifest, t.ref, top.data, top.media_type)
                             for t in live])
        for target, _ in _record(live, puts):
            target.tally.manifests += 1
        return [target.result(top.digest) for target in targets]

    async def _contents(self, source: ImageRef, targets: Sequence[_Target], manifest: Manifest) -> None:
        """Everything ``manifest`` refers to, present at every target (a failure is the target's).

        A target whose repository did not exist at plan time needs no HEAD: what this run put
        there is remembered (the single flights keep their results), so whatever reaches a
        check is sure to be absent.
        """
        targets = _live(targets)
        if not targets:
            return
        if manifest.is_index:
            children = manifest.children()
            if children:
                await gather([functools.partial(self._child, source, targets, child) for child in children])
            return
        blobs: list[Descriptor] = []
        config = manifest.config()
        if config is not None:
            blobs.append(config)
        blobs.extend(layer for layer in manifest.layers() if not _is_foreign(layer))
        unique = list({blob.digest: blob for blob in blobs}.values())
        if unique:
            await gather([functools.partial(self._blob, source, targets, blob) for blob in unique])

    async def _blob(self, source: ImageRef, targets: Sequence[_Target], blob: Descriptor) -> None:
        placed = await self.blobs.place(source, [(t.ref, t.new) for t in targets], blob)
        for target, outcome in _record(targets, placed):
            target.tally.add(outcome)

    async def _has(self, target: _Target, digest: str) -> bool:
        key = (target.ref.name, digest)
        if self._puts.known(key):
            return True
        if target.new:
            return False

        async def head() -> bool:
            try:
                await self.client.head_manifest(target.ref.bare().with_digest(digest))
                return True  # already there: its blobs are too (registries check on manifest PUT)
            except NotFound:
                return False

        return await self._heads.run(key, head)

    async def _child(self, source: ImageRef, targets: Sequence[_Target], child: Descriptor) -> None:
        """A platform manifest: checked at every target, read once, its contents and itself
        pushed (by digest) where it is missing."""
        checks = await settle([functools.partial(self._has, t, child.digest) for t in targets])
        need = [target for target, present in _record(targets, checks) if not present]
        if not need:
            return
        src_ref = source.bare().with_digest(child.digest)
        try:
            manifest = await self._read(src_ref)
            if is_schema1(manifest.media_type, manifest.data):
                raise schema1_error(src_ref)
        except Exception as exc:  # fails every target that needed it; a bug: describe() -> exit 3
            for target in need:
                target.fail(exc)
            return
        await self._contents(source, need, manifest)
        live = _live(need)
        puts = await settle([functools.partial(self._put, t, manifest) for t in live])
        _record(live, puts)

    async def _put(self, target: _Target, manifest: Manifest) -> None:
        ran: list[bool] = []

        async def put() -> str:
            ran.append(True)
            return await self.client.put_manifest(target.ref.bare().with_digest(manifest.digest), manifest.data,
                                                  manifest.media_type)

        await self._puts.run((target.ref.name, manifest.digest), put)
        if ran:
            target.tally.manifests += 1
