"""compare: is every line's destination what its source is? (the seed's compare.sh)

Per (line, target): HEAD both sides through the sync planner (the source HEAD once per source
tag, a new destination repository learnt once), with the same fixed pool of workers as sync.

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
from dataclasses import field
from typing import Any

import anyio

from ..errors import MirrorError, NotFound
from ..events import EventSink
from ..events.sync import CompareDone, CompareLine, ComparePlan
from ..failure import describe
from ..referrers import ReferrerMirror
from ..registry.client import RegistryClient
from ..registry.media import INDEX_TYPES
from ..value import frozen
from .planner import Action, Plan, Planner
from .results import SyncOptions, WorkItem

__all__ = ["Comparison", "PlatformState", "State", "compare", "render_text"]

MATCHED, NOT_MATCHED, MISSING, ERROR = "MATCHED", "NOT MATCHED", "MISSING", "ERROR"
FOUND, NOT_FOUND = "FOUND", "NOT FOUND"
State = str


@frozen
class PlatformState:
    platform: str
    digest: str
    status: str  # FOUND / NOT FOUND

    def as_json(self) -> dict[str, str]:
        return {"platform": self.platform, "digest": self.digest, "status": self.status}


@frozen
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
    target: str = ""
    referrers_missing: tuple[str, ...] = ()  # --referrers: referrers of the image the destination lacks
    internal: bool = False  # the comparison failed through a bug (exit 3)
    traceback: str = field(default="", repr=False, compare=False)  # of an internal error, shown with -v

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "destination": self.destination, "tag": self.tag, "line": self.line,
            "status": self.status, "source_digest": self.source_digest,
            "destination_digest": self.destination_digest,
            "platforms": [p.as_json() for p in self.platforms], "reason": self.reason, "target": self.target,
            "referrers_missing": list(self.referrers_missing),
        }  # fmt: skip


class _Comparer:
    """The planner's HEADs plus, for a NOT MATCHED line, the per-platform detail."""

    def __init__(self, client: RegistryClient, referrers: ReferrerMirror | None = None) -> None:
        self.client = client
        self.referrers = referrers
        self.planner = Planner(client, SyncOptions())

    async def compare(self, work: WorkItem) -> Comparison:
        source_ref = work.line.source_image
        dest_ref = work.destination

        def result(status: State, **details: Any) -> Comparison:
            return Comparison(source_ref.name, dest_ref.name, dest_ref.tag or "", work.line.lineno, status,
                              target=work.label, **details)

        try:
            plan = await self.planner.plan(work)
        except NotFound:
            return result(ERROR, reason=f"source image {source_ref} not found")
        except MirrorError as exc:
            return result(ERROR, reason=str(exc))
        assert plan.source_digest is not None and plan.source_media_type is not None
        if plan.destination_digest is None:
            return result(MISSING, source_digest=plan.source_digest)
        if plan.action is Action.SKIP:
            if self.referrers is not None and self.referrers.wants(dest_ref):
                try:
                    missing = await self.referrers.missing_for_line(source_ref, dest_ref, plan.destination_digest,
                                                                    media_type=plan.destination_media_type)
                except MirrorError as exc:
                    return result(ERROR, source_digest=plan.source_digest, reason=f"referrers: {exc}")
                if missing:
                    return result(NOT_MATCHED, source_digest=plan.source_digest,
                                  destination_digest=plan.destination_digest,
                                  reason=f"{len(missing)} referrer(s) missing at the destination",
                                  referrers_missing=tuple(missing))
            return result(MATCHED, source_digest=plan.source_digest, destination_digest=plan.destination_digest)
        platforms: tuple[PlatformState, ...] = ()
        reason = ""
        try:
            platforms = await self._platforms(plan)
        except MirrorError as exc:
            reason = f"cannot compare platforms: {exc}"
        return result(NOT_MATCHED, source_digest=plan.source_digest, destination_digest=plan.destination_digest,
                      platforms=platforms, reason=reason)

    async def _platforms(self, plan: Plan) -> tuple[PlatformState, ...]:
        """Per source platform: is its manifest at the destination (in its index, or as its image)?"""
        source_type, source_digest = plan.source_media_type, plan.source_digest or ""
        dest_is_index = plan.destination_media_type in INDEX_TYPES
        if source_type not in INDEX_TYPES and not dest_is_index:
            return ()
        have = {plan.destination_digest}
        if dest_is_index:
            have |= {child.digest for child in (await self.client.get_manifest(plan.destination)).children()}
        if source_type not in INDEX_TYPES:
            return (PlatformState("image", source_digest, FOUND if source_digest in have else NOT_FOUND),)
        index = await self.planner.source_manifest(plan.source, source_digest)
        return tuple(
            PlatformState(str(child.platform) if child.platform else "unknown", child.digest,
                          FOUND if child.digest in have else NOT_FOUND)
            for child in index.children()
        )


#: Lines compared at the same time; the per-host limiters decide the real pace (as sync).
COMPARE_WORKERS = 64


async def compare(work: Sequence[WorkItem], client: RegistryClient, sink: EventSink, *,
                  clock: Any = time.monotonic, deadline: float | None = None,
                  referrers: ReferrerMirror | None = None) -> list[Comparison]:
    """Compare every item; results in list order. Lines not done by ``deadline``
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
                          item.line.lineno, ERROR, reason=failure.reason, target=item.label,
                          internal=failure.internal, traceback=failure.traceback)

    def record(item: WorkItem, result: Comparison) -> None:
        done.add(id(item))
        results.append(result)
        sink.emit(CompareLine(result.source, result.destination, result.tag, result.status,
                              result.destination_digest, result.reason, result.target))

    pending = iter(work)

    async def worker() -> None:
        # The iterator is shared: each item is taken once (next() runs between awaits).
        for item in pending:
            try:
                result = await comparer.compare(item)
            except Exception as exc:  # one line never stops the others; a bug is an internal error (exit 3)
                result = failed(item, exc)
            record(item, result)

    with anyio.move_on_after(None if deadline is None else max(0.0, deadline - clock())):
        async with anyio.create_task_group() as group:
            for _ in range(min(len(work), COMPARE_WORKERS)):
                group.start_soon(worker)
    for item in work:
        if id(item) not in done:
            record(item, failed(item, MirrorError("run timeout")))
    results.sort(key=lambda r: (r.line, r.target, r.destination, r.tag))
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
        if r.status == MATCHED or (r.status == NOT_MATCHED and r.referrers_missing):
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
