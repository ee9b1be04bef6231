"""compare: is every line's destination what its source is? (the seed's compare.sh)

Per line: HEAD both sides (the source HEAD once per source tag).

* ``MISSING`` — the destination tag does not exist;
* ``MATCHED`` — same top digest;
* ``NOT MATCHED`` — different digests. Then the source index (and the
  destination) are read to show, per source platform, whether that platform
  manifest is ``FOUND`` or ``NOT FOUND`` at the destination — what tells a
  partial mirror (``--platforms``) from a stale one;
* ``ERROR`` — the source could not be read (missing tag, auth, network).

With ``--referrers`` a line whose digests match is NOT MATCHED while a referrer of its image
(a signature, attestation, SBOM; :mod:`mirror.referrers`) is missing at the destination.

Only NOT MATCHED lines cost GETs; a fully mirrored list costs two HEADs a line.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..flight import SingleFlight, gather
from ..errors import MirrorError, NotFound
from ..events import CompareDone, CompareLine, ComparePlan, EventSink
from ..failure import describe
from ..ref import ImageRef
from ..referrers import ReferrerMirror
from ..registry.client import RegistryClient
from ..registry.media import INDEX_TYPES, Descriptor, Manifest
from .sync import WorkItem

__all__ = ["Comparison", "PlatformState", "State", "compare", "render_text"]

MATCHED, NOT_MATCHED, MISSING, ERROR = "MATCHED", "NOT MATCHED", "MISSING", "ERROR"
FOUND, NOT_FOUND = "FOUND", "NOT FOUND"
State = str


@dataclass(frozen=True)
class PlatformState:
    platform: str
    digest: str
    status: str  # FOUND / NOT FOUND

    def as_json(self) -> dict[str, str]:
        return {"platform": self.platform, "digest": self.digest, "status": self.status}


@dataclass(frozen=True)
class Comparison:
    source: str
    destination: str
    tag: str
    line: int
    status: State
    source_digest: str | None = None
    destination_digest: str | None = None
    platforms: tuple[PlatformState, ...] = ()
    reason: str = ""
    referrers_missing: tuple[str, ...] = ()  # --referrers: referrers of the image the destination lacks
    internal: bool = False  # the comparison failed through a bug (exit 3)
    traceback: str = field(default="", repr=False, compare=False)  # of an internal error, shown with -v

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "destination": self.destination, "tag": self.tag, "line": self.line,
            "status": self.status, "source_digest": self.source_digest,
            "destination_digest": self.destination_digest,
            "platforms": [p.as_json() for p in self.platforms], "reason": self.reason,
            "referrers_missing": list(self.referrers_missing),
        }  # fmt: skip


@dataclass
class _Comparer:
    client: RegistryClient
    referrers: ReferrerMirror | None = None
    heads: SingleFlight[Descriptor] = field(default_factory=SingleFlight)
    reads: SingleFlight[Manifest] = field(default_factory=SingleFlight)

    async def head_source(self, ref: ImageRef) -> Descriptor:
        return await self.heads.run(str(ref), lambda: self.client.head_manifest(ref))

    async def read(self, ref: ImageRef) -> Manifest:
        return await self.reads.run(str(ref), lambda: self.client.get_manifest(ref))

    async def compare(self, work: WorkItem) -> Comparison:
        source_ref = work.line.source_image
        dest_ref = work.destination

        def result(status: State, **details: Any) -> Comparison:
            return Comparison(source_ref.name, dest_ref.name, dest_ref.tag or "", work.line.lineno, status, **details)

        found: dict[str, Descriptor | None] = {}

        async def head_source() -> None:
            found["source"] = await self.head_source(source_ref)

        async def head_dest() -> None:
            try:
                found["dest"] = await self.client.head_manifest(dest_ref)
            except NotFound:
                found["dest"] = None

        try:
            await gather([head_source, head_dest])
        except NotFound:
            return result(ERROR, reason=f"source image {source_ref} not found")
        except MirrorError as exc:
            return result(ERROR, reason=str(exc))
        source, dest = found["source"], found["dest"]
        assert source is not None
        if dest is None:
            return result(MISSING, source_digest=source.digest)
        if dest.digest == source.digest:
            if self.referrers is not None and self.referrers.wants(dest_ref):
                try:
                    missing = await self.referrers.missing_for_line(source_ref, dest_ref, dest.digest,
                                                                    media_type=dest.media_type)
                except MirrorError as exc:
                    return result(ERROR, source_digest=source.digest, reason=f"referrers: {exc}")
                if missing:
                    return result(NOT_MATCHED, source_digest=source.digest, destination_digest=dest.digest,
                                  reason=f"{len(missing)} referrer(s) missing at the destination",
                                  referrers_missing=tuple(missing))
            return result(MATCHED, source_digest=source.digest, destination_digest=dest.digest)
        platforms: tuple[PlatformState, ...] = ()
        reason = ""
        try:
            platforms = await self._platforms(source_ref, source, dest_ref, dest)
        except MirrorError as exc:
            reason = f"cannot compare platforms: {exc}"
        return result(NOT_MATCHED, source_digest=source.digest, destination_digest=dest.digest,
                      platforms=platforms, reason=reason)

    async def _platforms(self, source_ref: ImageRef, source: Descriptor, dest_ref: ImageRef,
                         dest: Descriptor) -> tuple[PlatformState, ...]:
        """Per source platform: is its manifest at the destination (in its index, or as its image)?"""
        if source.media_type not in INDEX_TYPES and dest.media_type not in INDEX_TYPES:
            return ()
        have = {dest.digest}
        if dest.media_type in INDEX_TYPES:
            have |= {child.digest for child in (await self.client.get_manifest(dest_ref)).children()}
        if source.media_type not in INDEX_TYPES:
            return (PlatformState("image", source.digest, FOUND if source.digest in have else NOT_FOUND),)
        index = await self.read(source_ref.bare().with_digest(source.digest))
        return tuple(
            PlatformState(str(child.platform) if child.platform else "unknown", child.digest,
                          FOUND if child.digest in have else NOT_FOUND)
            for child in index.children()
        )


async def compare(work: Sequence[WorkItem], client: RegistryClient, sink: EventSink, *,
                  clock: Any = time.monotonic, deadline: float | None = None,
                  referrers: ReferrerMirror | None = None) -> list[Comparison]:
    """Compare every item; results in images-list order. Lines not done by ``deadline``
    (``--timeout``, a ``clock()`` value) are errors with the reason ``run timeout``.
    ``referrers``: also check what is attached to each matching image (``--referrers``)."""
    comparer = _Comparer(client, referrers)
    results: list[Comparison] = []
    started = clock()
    sink.emit(ComparePlan(len(work)))

    done: set[int] = set()

    def failed(item: WorkItem, exc: BaseException) -> Comparison:
        failure = describe(exc)
        return Comparison(str(item.line.source), item.destination.name, item.destination.tag or "",
                          item.line.lineno, ERROR, reason=failure.reason, internal=failure.internal,
                          traceback=failure.traceback)

    def record(item: WorkItem, result: Comparison) -> None:
        done.add(id(item))
        results.append(result)
        sink.emit(CompareLine(result.source, result.destination, result.tag, result.status,
                              result.destination_digest, result.reason))

    async def one(item: WorkItem) -> None:
        try:
            result = await comparer.compare(item)
        except Exception as exc:  # one line never stops the others; a bug is an internal error (describe, exit 3)
            result = failed(item, exc)
        record(item, result)

    with anyio.move_on_after(None if deadline is None else max(0.0, deadline - clock())):
        async with anyio.create_task_group() as group:
            for item in work:
                group.start_soon(one, item)
    for item in work:
        if id(item) not in done:
            record(item, failed(item, MirrorError("run timeout")))
    results.sort(key=lambda r: (r.line, r.destination, r.tag))
    totals: dict[str, int] = {}
    for r in results:
        totals[r.status] = totals.get(r.status, 0) + 1
    sink.emit(CompareDone(len(results), totals.get(MATCHED, 0), totals.get(NOT_MATCHED, 0),
                          totals.get(MISSING, 0), totals.get(ERROR, 0), round(clock() - started, 3)))
    return results


def render_text(results: Sequence[Comparison]) -> str:
    """The human listing: one line per image, indented lines per platform."""
    out: list[str] = []
    for r in results:
        head = f"{r.status:<12} {r.source}:{r.tag} => {r.destination}:{r.tag}"
        if r.status == MATCHED:
            head += f"  {r.source_digest}"
        elif r.status == NOT_MATCHED and r.referrers_missing:
            head += f"  {r.source_digest}"
        elif r.status == NOT_MATCHED:
            head += f"  {r.source_digest} != {r.destination_digest}"
        elif r.reason:
            head += f"  ({r.reason})"
        out.append(head)
        for p in r.platforms:
            out.append(f"    {p.platform:<24} {p.digest}  {p.status}")
        for referrer in r.referrers_missing:
            out.append(f"    referrer {referrer}  {NOT_FOUND}")
        if r.status == NOT_MATCHED and r.reason:
            out.append(f"    {r.reason}")
    return "\n".join(out)
