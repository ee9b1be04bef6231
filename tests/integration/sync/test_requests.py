"""What sync sends on the wire, counted at a proxy in front of each real registry.

* a warm run makes at most two requests per line (HEADs only, the source HEAD
  once per source tag) and no manifest GET;
* ``--missing`` reads each destination repository's tag list once and sends
  nothing per present tag;
* a blob shared by images copied at the same moment is sent once per
  destination registry and mounted into the other repositories — the copies
  are made to meet by gates in the proxy, not by luck.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from mirror import imageslist
from mirror.copy import NativeCopier
from mirror.events import ListSink, Stats
from mirror.pipeline.selection import Overrides
from mirror.pipeline.sync import Outcome, SyncOptions, SyncReport, WorkItem, sync
from mirror.registry import CredentialStore, RegistryClient, parse_registries
from tests.fakes.proxy import CountingProxy, Seen
from tests.integration.sync.helpers import cli_in_thread, mirrored, write_list
from tests.support.images import blob_exists, get_manifest
from tests.support.registry import RegistryServer
from tests.support.seed import SeededRegistry

pytestmark = pytest.mark.anyio

WAIT = 30  # seconds: an upper bound for a hang, never a wait for something to happen


def _lines(src: str, dst: str) -> list[str]:
    """Six lines, seven destinations' worth of shapes: two source tags map to two destinations each."""
    return [
        f"{src}/library/busybox {dst}/{mirrored('library/busybox')} 1.36.1",
        f"{src}/library/busybox {dst}/rancher/busybox 1.36.1",
        f"{src}/library/busybox {dst}/{mirrored('library/busybox')} 1.37.0",
        f"{src}/calico/node {dst}/{mirrored('calico/node')} v3.28.0",
        f"{src}/calico/node {dst}/rancher/calico-node v3.28.0",
        f"{src}/flannel/flannel {dst}/{mirrored('flannel/flannel')} v0.25.1",
        f"{src}/library/alpine {dst}/{mirrored('library/alpine')} 3.20.0",
    ]


async def test_a_warm_run_sends_at_most_two_heads_per_line(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    async with CountingProxy(source_registry.url) as src, CountingProxy(dest_registry.url) as dst:
        lines = _lines(src.host, dst.host)
        images_list = write_list(tmp_path, lines)
        assert await cli_in_thread(images_list, "sync") == 0
        src.reset()
        dst.reset()

        assert await cli_in_thread(images_list, "sync") == 0

        total = len(src.seen) + len(dst.seen)
        print(f"warm run: {len(lines)} lines, {total} requests; source {src.summary()}, destination {dst.summary()}")
        assert total <= 2 * len(lines)
        assert src.count(kind="manifest") == src.count(method="HEAD", kind="manifest") == 5  # distinct source tags
        assert dst.count(kind="manifest") == dst.count(method="HEAD", kind="manifest") == len(lines)
        assert src.count(method="GET") == dst.count(method="GET") == 0
        assert {s.kind for s in src.seen + dst.seen} == {"manifest"}


async def test_missing_lists_each_destination_repository_once_and_nothing_per_present_tag(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    async with CountingProxy(source_registry.url) as src, CountingProxy(dest_registry.url) as dst:
        lines = _lines(src.host, dst.host)
        images_list = write_list(tmp_path, lines)
        assert await cli_in_thread(images_list, "sync") == 0
        # One more line whose tag is not at the destination yet.
        extra = f"{src.host}/library/busybox {dst.host}/{mirrored('library/busybox')} 1.36.0"
        write_list(tmp_path, [*lines, extra])
        src.reset()
        dst.reset()

        assert await cli_in_thread(images_list, "sync", "--missing") == 0

        repositories = {line.split()[1].split("/", 1)[1] for line in lines}
        assert dst.count(method="GET", kind="tags") == len(repositories)
        for repo in repositories:
            assert dst.count(kind="tags", repo=repo) == 1
        # Present tags cost nothing; only the new one is read and copied.
        assert src.matching(kind="manifest", method="HEAD") == []
        assert {s.ref for s in src.matching(kind="manifest") if not s.ref.startswith("sha256:")} == {"1.36.0"}  # type: ignore[union-attr]
        assert all(s.ref in ("1.36.0",) or s.ref.startswith("sha256:")  # type: ignore[union-attr]
                   for s in dst.matching(kind="manifest"))
    assert get_manifest(dest_registry.url, mirrored("library/busybox"), "1.36.0").digest == \
        source_registry.image("library/busybox", "1.36.0").digest


# --------------------------------------------------------------------------------------------
# Blobs shared by copies that run at the same moment
# --------------------------------------------------------------------------------------------


def _work(lines: list[str]) -> list[WorkItem]:
    parsed = imageslist.parse("\n".join(lines) + "\n")
    overrides = Overrides()
    return [WorkItem(line, overrides.destination(line)) for line in parsed]


async def _sync(lines: list[str], *, jobs: int = 4) -> tuple[SyncReport, Stats]:
    stats = Stats()
    async with RegistryClient.open(stats=stats, credentials=CredentialStore()) as client:
        report = await sync(_work(lines), client, NativeCopier(client), SyncOptions(jobs=jobs), ListSink())
    return report, stats


async def _meet(src: CountingProxy, dst: CountingProxy, shared: str, own_layers: list[str],
                tags: tuple[str, ...], run: Callable[[], object]) -> None:
    """Run ``run`` while two gates force the copies to overlap:

    1. a barrier holds the source GETs of the tags' manifests until every copy has asked;
    2. the first destination request about ``shared`` is held until every copy has reached
       its blob phase (the destination was sent a request about each image's own layer: its
       existence check, or in a new repository, where none is needed, its upload).
    """
    src.barrier(lambda s: s.method == "GET" and s.kind == "manifest" and s.ref in tags, parties=len(tags))
    gate = dst.hold(lambda s: s.ref == shared)

    def reached(proxy: CountingProxy) -> bool:
        # Both, in either order: a copy may ask about its own layer before or after the shared one.
        return all(proxy.count(ref=layer) >= 1 for layer in own_layers) and gate.waiting >= 1

    with anyio.fail_after(WAIT):
        async with anyio.create_task_group() as group:
            group.start_soon(run)  # type: ignore[arg-type]
            await dst.wait_for(reached)
            assert not gate.is_open
            gate.release()


def _own_layers(source: SeededRegistry, tag: str) -> list[str]:
    image = source.image("calico/node", tag)
    return [layers[-1] for layers in image.layers.values()]


def _is_shared_upload(shared: str) -> Callable[[Seen], bool]:
    return lambda s: s.method == "PUT" and s.kind == "upload" and s.ref == shared


async def test_a_blob_needed_by_two_copies_at_once_is_sent_once(
    source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    shared = source_registry.image("calico/node", "v3.28.0").shared_layer_digest
    assert shared and shared == source_registry.image("calico/node", "v3.29.0").shared_layer_digest
    async with CountingProxy(source_registry.url) as src, CountingProxy(dest_registry.url) as dst:
        lines = [f"{src.host}/calico/node {dst.host}/{mirrored('calico/node')} {tag}" for tag in ("v3.28.0", "v3.29.0")]
        outcome: list[SyncReport] = []

        async def run() -> None:
            outcome.append((await _sync(lines))[0])

        await _meet(src, dst, shared, _own_layers(source_registry, "v3.28.0") + _own_layers(source_registry, "v3.29.0"),
                    ("v3.28.0", "v3.29.0"), run)
        report = outcome[0]
        assert [r.outcome for r in report.results] == [Outcome.COPIED, Outcome.COPIED]
        # Two images x two platforms need the base layer; it crossed the wire once.
        assert len([s for s in dst.seen if _is_shared_upload(shared)(s)]) == 1
        # No existence check at all: the repository did not exist at plan time (was 1 HEAD, a sure 404).
        assert dst.count(kind="blob", ref=shared) == 0
        assert src.count(method="GET", kind="blob", ref=shared) == 1
    for tag in ("v3.28.0", "v3.29.0"):
        assert get_manifest(dest_registry.url, mirrored("calico/node"), tag).digest == \
            source_registry.image("calico/node", tag).digest


async def test_copies_into_other_repositories_mount_the_blob_instead_of_sending_it(
    source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    shared = source_registry.image("calico/node", "v3.28.0").shared_layer_digest
    assert shared
    async with CountingProxy(source_registry.url) as src, CountingProxy(dest_registry.url) as dst:
        lines = [
            f"{src.host}/calico/node {dst.host}/team-a/calico-node v3.28.0",
            f"{src.host}/calico/node {dst.host}/team-b/calico-node v3.29.0",
        ]

        async def run() -> None:
            report, stats = await _sync(lines)
            assert report.count(Outcome.COPIED) == 2
            assert stats.hosts[dst.host].bytes_sent >= report.bytes_sent > 0  # blobs, plus manifests

        await _meet(src, dst, shared, _own_layers(source_registry, "v3.28.0") + _own_layers(source_registry, "v3.29.0"),
                    ("v3.28.0", "v3.29.0"), run)
        assert len([s for s in dst.seen if _is_shared_upload(shared)(s)]) == 1
        mounts = dst.matching(method="POST", kind="mount", ref=shared)
        assert len(mounts) == 1 and mounts[0].status == 201
        assert src.count(method="GET", kind="blob", ref=shared) == 1
    for repo in ("team-a/calico-node", "team-b/calico-node"):
        assert blob_exists(dest_registry.url, repo, shared)


async def test_a_blob_this_run_already_sent_elsewhere_is_mounted(
    source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    """One copy after the other (one worker): the second repository gets the base layer by mount."""
    shared = source_registry.image("calico/node", "v3.28.0").shared_layer_digest
    async with CountingProxy(source_registry.url) as src, CountingProxy(dest_registry.url) as dst:
        lines = [
            f"{src.host}/calico/node {dst.host}/first/calico-node v3.28.0",
            f"{src.host}/calico/node {dst.host}/second/calico-node v3.29.0",
        ]
        with anyio.fail_after(WAIT):
            report, _ = await _sync(lines, jobs=1)
        assert report.count(Outcome.COPIED) == 2
        assert len([s for s in dst.seen if _is_shared_upload(shared)(s)]) == 1  # type: ignore[arg-type]
        assert dst.count(method="POST", kind="mount", ref=shared) == 1
        assert dst.peak_in_flight >= 1


async def test_one_source_tag_to_two_destinations_is_read_once(
    source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    """The real list maps one source tag to two destinations 130 times: one HEAD, one GET of it."""
    async with CountingProxy(source_registry.url) as src, CountingProxy(dest_registry.url) as dst:
        lines = [
            f"{src.host}/library/busybox {dst.host}/{mirrored('library/busybox')} 1.36.1",
            f"{src.host}/library/busybox {dst.host}/rancher/busybox 1.36.1",
        ]
        with anyio.fail_after(WAIT):
            report, _ = await _sync(lines)
        assert report.count(Outcome.COPIED) == 2
        assert src.count(method="HEAD", kind="manifest", ref="1.36.1") == 1
        assert src.count(method="GET", kind="manifest", ref="1.36.1") == 1
        image = source_registry.image("library/busybox", "1.36.1")
        for child in image.children.values():
            assert src.count(method="GET", kind="manifest", ref=child) == 1
        for blob in image.blobs:  # read once, sent to the first repository, mounted into the second
            assert src.count(method="GET", kind="blob", ref=blob) == 1
            assert dst.count(method="POST", kind="mount", ref=blob) == 1


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_copies_within_one_registry_never_deadlock_on_its_request_slots(
    registry_factory: Callable[..., RegistryServer], concurrency: int
) -> None:
    """A streamed transfer holds a slot for its GET while it waits for one for its PUT; within one
    host (docker.io -> docker.io) with few slots that would deadlock without the placer's guard."""
    from tests.support.images import push_image

    registry = registry_factory()
    pushed = [push_image(registry.url, f"up/app{i}", "1", kind="oci-index") for i in range(4)]
    hosts = parse_registries({registry.host: {"concurrency": concurrency}})
    lines = [f"{registry.host}/up/app{i} {registry.host}/mirror/app{i} 1" for i in range(4)]
    stats = Stats()
    with anyio.fail_after(WAIT):
        async with RegistryClient.open(hosts=hosts, stats=stats, credentials=CredentialStore()) as client:
            report = await sync(_work(lines), client, NativeCopier(client), SyncOptions(jobs=4), ListSink())
    assert report.count(Outcome.COPIED) == 4, [r.reason for r in report.results]
    assert stats.hosts[registry.host].peak_in_flight <= concurrency
    for i, image in enumerate(pushed):
        assert get_manifest(registry.url, f"mirror/app{i}", "1").digest == image.digest


async def test_two_registries_mirrored_both_ways_with_few_slots_never_deadlock(
    registry_factory: Callable[..., RegistryServer],
) -> None:
    from tests.support.images import push_image

    left, right = registry_factory(), registry_factory()
    lines = []
    for here, there in ((left, right), (right, left)):
        for i in range(3):
            push_image(here.url, f"up/app{i}", "1", kind="oci-index")
            lines.append(f"{here.host}/up/app{i} {there.host}/mirror/app{i} 1")
    hosts = parse_registries({left.host: {"concurrency": 2}, right.host: {"concurrency": 2}})
    with anyio.fail_after(WAIT):
        async with RegistryClient.open(hosts=hosts, credentials=CredentialStore()) as client:
            report = await sync(_work(lines), client, NativeCopier(client), SyncOptions(jobs=6), ListSink())
    assert report.count(Outcome.COPIED) == 6, [r.reason for r in report.results]


# --------------------------------------------------------------------------------------------
# A destination repository that does not exist yet
# --------------------------------------------------------------------------------------------


async def test_a_new_repository_gets_no_existence_checks_and_its_second_line_still_works(
    source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    """Its tag list answers NAME_UNKNOWN once; then every blob and child-manifest HEAD there would be
    a sure 404, and so would the second line's tag HEAD: none is sent. The second line shares the
    base layer with the first, which this run has put there already."""
    async with CountingProxy(source_registry.url) as src, CountingProxy(dest_registry.url) as dst:
        repo = "fresh/calico-node"
        lines = [f"{src.host}/calico/node {dst.host}/{repo} {tag}" for tag in ("v3.28.0", "v3.29.0")]
        with anyio.fail_after(WAIT):
            report, _ = await _sync(lines, jobs=1)  # one after the other: the second finds the first's blobs
        assert [r.outcome for r in report.results] == [Outcome.COPIED, Outcome.COPIED], [r.reason for r in report.results]
        print(f"cold, new repository: {len(dst.seen) / len(lines):.1f} destination requests per line; {dst.summary()}")
        assert dst.count(method="GET", kind="tags", repo=repo) == 1
        assert dst.count(method="HEAD", kind="blob") == 0
        heads = dst.matching(method="HEAD", kind="manifest")
        assert [s.ref for s in heads] == ["v3.28.0"]  # the first line's, which found the repository missing
        shared = source_registry.image("calico/node", "v3.28.0").shared_layer_digest
        assert len([s for s in dst.seen if _is_shared_upload(shared)(s)]) == 1  # type: ignore[arg-type]
        for tag in ("v3.28.0", "v3.29.0"):
            image = source_registry.image("calico/node", tag)
            assert get_manifest(dest_registry.url, repo, tag).digest == image.digest
            for child in image.children.values():
                assert get_manifest(dest_registry.url, repo, child).digest == child
            for blob in image.blobs:
                assert blob_exists(dest_registry.url, repo, blob)

        # Now the repository exists: a later run into it checks before it sends.
        dst.reset()
        with anyio.fail_after(WAIT):
            report, _ = await _sync([f"{src.host}/flannel/flannel {dst.host}/{repo} v0.25.1"])
        assert report.count(Outcome.COPIED) == 1
        assert dst.count(method="HEAD", kind="blob") >= 2  # config and layer
    assert get_manifest(dest_registry.url, repo, "v0.25.1").digest == \
        source_registry.image("flannel/flannel", "v0.25.1").digest
