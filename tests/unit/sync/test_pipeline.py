"""The sync pipeline against an in-memory registry and a scripted copier.

What is checked here is scheduling, not HTTP: skipped lines never wait for a copy
slot, at most ``jobs`` copies run at once, one failure never stops the others, and
shared source tags are looked up once. (The wire-level behaviour is in
tests/integration/sync.)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from mirror import imageslist
from mirror.copy.base import CopyResult, Destination, SourceImage, each_destination
from mirror.errors import CopyError, NotFound
from mirror.events import Event, ListSink
from mirror.pipeline.selection import Overrides
from mirror.pipeline.sync import Outcome, SyncOptions, WorkItem, sync
from mirror.ref import ImageRef
from mirror.registry.media import OCI_MANIFEST, Descriptor, Manifest, sha256_digest

pytestmark = pytest.mark.anyio


def _manifest(seed: str) -> Manifest:
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(seed.encode()), "size": 1},
        "layers": []}).encode()
    return Manifest(data, OCI_MANIFEST, sha256_digest(data))


class FakeRegistry:
    """Just enough of RegistryClient for planning: manifests by ``host/repo:tag``."""

    def __init__(self) -> None:
        self.store: dict[str, Manifest] = {}
        self.heads: Counter[str] = Counter()

    def put(self, ref: str, manifest: Manifest) -> None:
        self.store[ref] = manifest

    async def head_manifest(self, ref: ImageRef) -> Descriptor:
        self.heads[str(ref)] += 1
        await anyio.sleep(0)
        found = self.store.get(str(ref))
        if found is None:
            raise NotFound(f"manifest {ref}: not found", status=404)
        return Descriptor(found.digest, found.media_type, len(found.data))

    async def list_tags(self, ref: ImageRef) -> list[str]:
        prefix = f"{ref.name}:"
        tags = [key.removeprefix(prefix) for key in self.store if key.startswith(prefix)]
        if not tags:  # as docker-registry: NAME_UNKNOWN for a repository without tags
            raise NotFound(f"tags of {ref.name}: not found", status=404)
        return tags

    async def get_manifest(self, ref: ImageRef) -> Manifest:
        found = self.store.get(str(ref))
        if found is None:
            raise NotFound(f"manifest {ref}: not found", status=404)
        return found

    @asynccontextmanager
    async def pulling(self, ref: ImageRef) -> AsyncIterator[None]:
        yield  # no pull quota here


class ScriptedCopier:
    name = "scripted"

    def __init__(self, registry: FakeRegistry) -> None:
        self.registry = registry
        self.in_flight = 0
        self.peak = 0
        self.calls: list[str] = []
        self.fail: dict[str, Exception] = {}
        self.hold: anyio.Event | None = None

    async def copy(self, image: SourceImage, destinations: Sequence[Destination],
                   manifest: Manifest | None) -> list[CopyResult]:
        return await each_destination(self._copy_one, image, destinations, manifest)

    async def _copy_one(self, image: SourceImage, target: Destination, manifest: Manifest | None) -> CopyResult:
        source, destination = image.ref, target.ref
        self.calls.append(str(destination))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.hold is not None:
                await self.hold.wait()
            await anyio.wait_all_tasks_blocked()
            if str(destination) in self.fail:
                raise self.fail[str(destination)]
            manifest = self.registry.store[str(source)]
            self.registry.put(str(destination), manifest)
            return CopyResult(digest=manifest.digest, bytes_sent=10)
        finally:
            self.in_flight -= 1


def _work(*lines: str) -> list[WorkItem]:
    parsed = imageslist.parse("".join(f"{line}\n" for line in lines))
    return [WorkItem(line, Overrides().destination(line)) for line in parsed]


def _registry_with_sources(*refs: str) -> FakeRegistry:
    registry = FakeRegistry()
    for ref in refs:
        registry.put(ref, _manifest(ref))
    return registry


async def test_skipped_lines_never_wait_for_a_copy_slot() -> None:
    registry = _registry_with_sources(*(f"src.io/app/n{i}:1" for i in range(4)))
    for i in range(1, 4):  # three destinations already up to date
        registry.put(f"dst.io/app/n{i}:1", registry.store[f"src.io/app/n{i}:1"])
    copier = ScriptedCopier(registry)
    copier.hold = anyio.Event()

    class ReleaseAfterSkips(ListSink):
        def emit(self, event: Event, /) -> None:
            super().emit(event)
            if len(self.named("sync.skip")) == 3:
                assert copier.hold is not None
                copier.hold.set()  # the only worker is busy until every skip is reported

    work = _work(*(f"src.io/app/n{i} dst.io/app/n{i} 1" for i in range(4)))
    with anyio.fail_after(5):
        report = await sync(work, registry, copier, SyncOptions(jobs=1), ReleaseAfterSkips())  # type: ignore[arg-type]
    assert [r.outcome for r in report.results] == [Outcome.COPIED] + [Outcome.SKIPPED] * 3


async def test_at_most_jobs_copies_at_once() -> None:
    registry = _registry_with_sources(*(f"src.io/app/n{i}:1" for i in range(7)))
    copier = ScriptedCopier(registry)
    work = _work(*(f"src.io/app/n{i} dst.io/app/n{i} 1" for i in range(7)))
    report = await sync(work, registry, copier, SyncOptions(jobs=3), ListSink())  # type: ignore[arg-type]
    assert report.count(Outcome.COPIED) == 7
    assert copier.peak == 3


async def test_one_failure_never_stops_the_others() -> None:
    registry = _registry_with_sources(*(f"src.io/app/n{i}:1" for i in range(4)))
    copier = ScriptedCopier(registry)
    copier.fail["dst.io/app/n1:1"] = CopyError("blob sha256:x from src.io/app/n1: content has digest sha256:y")
    copier.fail["dst.io/app/n2:1"] = RuntimeError("unexpected")
    sink = ListSink()
    work = _work(*(f"src.io/app/n{i} dst.io/app/n{i} 1" for i in range(4)), "src.io/app/gone dst.io/app/gone 1")
    report = await sync(work, registry, copier, SyncOptions(jobs=2), sink)  # type: ignore[arg-type]
    assert [(r.destination, r.outcome) for r in report.results] == [
        ("dst.io/app/n0", Outcome.COPIED), ("dst.io/app/n1", Outcome.FAILED), ("dst.io/app/n2", Outcome.FAILED),
        ("dst.io/app/n3", Outcome.COPIED), ("dst.io/app/gone", Outcome.FAILED),
    ]
    reasons = {f["destination"]: f["reason"] for f in sink.named("sync.copy.failed")}
    assert "content has digest" in reasons["dst.io/app/n1"]
    assert reasons["dst.io/app/n2"] == "internal error: RuntimeError: unexpected"
    assert [r.destination for r in report.internal] == ["dst.io/app/n2"]  # a bug, not a failed copy: exit 3
    assert "RuntimeError: unexpected" in report.internal[0].traceback
    assert "source image src.io/app/gone:1 not found" in reasons["dst.io/app/gone"]
    assert sink.named("sync.done") == [{**report.totals()}]
    json.dumps([event.fields() for event in sink.events])  # every field is JSON-serialisable


async def test_a_source_tag_shared_by_lines_is_looked_up_once() -> None:
    registry = _registry_with_sources("src.io/app/one:1")
    copier = ScriptedCopier(registry)
    work = _work("src.io/app/one dst.io/a/one 1", "src.io/app/one dst.io/b/one 1", "src.io/app/one dst.io/c/one 1")
    report = await sync(work, registry, copier, SyncOptions(), ListSink())  # type: ignore[arg-type]
    assert report.count(Outcome.COPIED) == 3
    assert registry.heads["src.io/app/one:1"] == 1


async def test_dry_run_plans_and_copies_nothing() -> None:
    registry = _registry_with_sources("src.io/app/one:1", "src.io/app/two:1")
    registry.put("dst.io/app/two:1", registry.store["src.io/app/two:1"])
    copier = ScriptedCopier(registry)
    sink = ListSink()
    work = _work("src.io/app/one dst.io/app/one 1", "src.io/app/two dst.io/app/two 1")
    report = await sync(work, registry, copier, SyncOptions(dry_run=True), sink)  # type: ignore[arg-type]
    assert [r.outcome for r in report.results] == [Outcome.PLANNED, Outcome.SKIPPED]
    assert copier.calls == []
    assert {f["destination"]: f["action"] for f in sink.named("sync.plan.item")} == {
        "dst.io/app/one": "copy", "dst.io/app/two": "skip"}


async def test_lines_writing_the_same_destination_tag_run_once_last_wins() -> None:
    registry = _registry_with_sources("src.io/app/old:1", "src.io/app/new:1", "src.io/app/x:1")
    copier = ScriptedCopier(registry)
    sink = ListSink()
    work = _work("src.io/app/old dst.io/app/one 1", "src.io/app/x dst.io/app/x 1",
                 "src.io/app/new dst.io/app/one 1", "src.io/app/x dst.io/app/x 1")
    report = await sync(work, registry, copier, SyncOptions(), sink)  # type: ignore[arg-type]
    assert sorted(copier.calls) == ["dst.io/app/one:1", "dst.io/app/x:1"]
    assert registry.store["dst.io/app/one:1"] == registry.store["src.io/app/new:1"]
    by_line = {r.line: r for r in report.results}
    assert by_line[1].outcome == Outcome.SKIPPED and by_line[1].reason.startswith("superseded by line 3")
    assert by_line[2].outcome == Outcome.SKIPPED and by_line[2].reason == "duplicate of line 4"
    assert [f["winner"] for f in sink.named("sync.conflict")] == [3]
