"""Several destinations per line (``--target``): the source read once for all of them.

Three real ``docker-registry`` destinations and a dedicated source, each behind a counting
proxy. What a user sees: every line at every target with the source's digest, a report with a
``target`` per result; what the source sees: one HEAD per source reference and one GET per
distinct blob, whatever the number of targets; one target down does not stop the others.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from tests.fakes.proxy import CountingProxy
from tests.integration.sync.helpers import cli_in_thread, write_list
from tests.support.images import (OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, get_manifest, push_blob, push_image,
                                  push_manifest)
from tests.support.registry import RegistryServer

pytestmark = pytest.mark.anyio

WAIT = 90  # seconds: an upper bound for a hang, never a wait for something to happen
LARGE = 3 * 64 * 1024 + 77  # above monolithic_max below: spooled once, sent in chunks to each target
LIMITS = {"monolithic_max": "128KiB", "chunk_size": "64KiB", "deadline_base": 20}
TARGET_PATHS = ("", "mirror-b", "team/sub")  # registry only; a new first component; one with "/"


@dataclass
class Source:
    server: RegistryServer
    refs: list[tuple[str, str]]  # (repo, tag) as the list names them
    digests: dict[tuple[str, str], str]
    blobs: set[str]  # every distinct blob digest of every line


def _large_image(url: str, repo: str, tag: str) -> tuple[str, set[str]]:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    layer = os.urandom(LARGE)
    config_digest, layer_digest = push_blob(url, repo, config), push_blob(url, repo, layer)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": LARGE}],
    }).encode()  # fmt: skip
    return push_manifest(url, repo, tag, manifest, OCI_MANIFEST), {config_digest, layer_digest}


@pytest.fixture
def source(registry_factory: Any) -> Iterator[Source]:
    server: RegistryServer = registry_factory()
    refs: list[tuple[str, str]] = []
    digests: dict[tuple[str, str], str] = {}
    blobs: set[str] = set()
    shared = b"one base layer under every calico tag\n"
    for tag in ("v1", "v2"):  # two tags sharing a base layer: one GET of it for both
        image = push_image(server.url, "calico/node", tag, kind="docker-list", shared_layer=shared)
        refs.append(("calico/node", tag))
        digests[("calico/node", tag)] = image.digest
        blobs |= set(image.blobs)
    image = push_image(server.url, "library/busybox", "1.36", kind="oci-index",
                       platforms=("linux/amd64", "linux/arm64", "linux/arm/v7"))
    refs.append(("library/busybox", "1.36"))
    digests[("library/busybox", "1.36")] = image.digest
    blobs |= set(image.blobs)
    digest, large = _large_image(server.url, "big/app", "1")
    refs.append(("big/app", "1"))
    digests[("big/app", "1")] = digest
    blobs |= large
    yield Source(server, refs, digests, blobs)


@asynccontextmanager
async def _proxies(source: Source, targets: list[RegistryServer]) -> AsyncIterator[tuple[CountingProxy, list[CountingProxy]]]:
    async with AsyncExitStack() as stack:
        src = await stack.enter_async_context(CountingProxy(source.server.url))
        dsts = [await stack.enter_async_context(CountingProxy(t.url)) for t in targets]
        yield src, dsts


def _files(tmp_path: Path, source: Source, src: CountingProxy, dsts: list[CountingProxy]) -> tuple[Path, Path, list[str]]:
    """The images-list (destinations on a placeholder host), the registries file, the --target values."""
    lines = [f"{src.host}/{repo} placeholder.example/rancher/mirrored-{repo.replace('/', '-')} {tag}"
             for repo, tag in source.refs]
    images_list = write_list(tmp_path, lines)
    registries = tmp_path / "registries.yaml"
    registries.write_text(json.dumps({p.host: {"endpoint": p.url, **LIMITS} for p in (src, *dsts)}), encoding="utf-8")
    targets = [f"{p.host}/{path}" if path else p.host for p, path in zip(dsts, TARGET_PATHS)]
    return images_list, registries, targets


def _destination(repo: str, path: str) -> str:
    name = f"rancher/mirrored-{repo.replace('/', '-')}"
    return f"{path}/{name.split('/', 1)[1]}" if path else name


def _target_args(targets: list[str]) -> list[str]:
    return [arg for target in targets for arg in ("--target", target)]


async def _sync(tmp_path: Path, images_list: Path, registries: Path, *args: str) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "report.json"
    with anyio.fail_after(WAIT):
        code = await cli_in_thread(images_list, "sync", "--report", str(report), *args, registries=registries)
    return code, json.loads(report.read_text(encoding="utf-8"))


async def test_every_line_reaches_every_target_and_the_source_is_read_once(
    source: Source, registry_factory: Any, tmp_path: Path
) -> None:
    servers = [registry_factory() for _ in TARGET_PATHS]
    async with _proxies(source, servers) as (src, dsts):
        images_list, registries, targets = _files(tmp_path, source, src, dsts)

        code, report = await _sync(tmp_path, images_list, registries, *_target_args(targets))

        assert code == 0, report["results"]
        results = report["results"]
        assert len(results) == len(source.refs) * len(targets)
        assert {(r["target"], r["outcome"]) for r in results} == {(t, "copied") for t in targets}
        for server, path in zip(servers, TARGET_PATHS):
            for repo, tag in source.refs:
                assert get_manifest(server.url, _destination(repo, path), tag).digest == source.digests[(repo, tag)]
        # The source: one HEAD per source reference, one GET per distinct blob, for three targets.
        heads = src.matching(method="HEAD", kind="manifest")
        assert sorted(s.ref for s in heads) == sorted(tag for _, tag in source.refs)  # type: ignore[type-var]
        blob_gets = [s.ref for s in src.matching(method="GET", kind="blob")]
        assert sorted(blob_gets) == sorted(source.blobs), src.summary()  # type: ignore[type-var]
        # Each child manifest is read once too (a GET of a tag never happens twice).
        manifest_gets = [s.ref for s in src.matching(method="GET", kind="manifest")]
        assert len(manifest_gets) == len(set(manifest_gets))
        # The large layer travelled to each target in PATCH chunks (spooled once, read once).
        for dst in dsts:
            assert dst.count(method="PATCH") >= 4

        src.reset()
        for dst in dsts:
            dst.reset()
        code, report = await _sync(tmp_path, images_list, registries, *_target_args(targets))
        assert code == 0
        assert {r["outcome"] for r in report["results"]} == {"skipped"}
        assert src.count() == src.count(method="HEAD", kind="manifest") == len(source.refs)
        for dst in dsts:
            assert dst.count() == dst.count(method="HEAD", kind="manifest") == len(source.refs)


async def test_a_target_that_is_down_fails_alone(source: Source, registry_factory: Any, tmp_path: Path) -> None:
    servers = [registry_factory() for _ in TARGET_PATHS]
    async with _proxies(source, servers) as (src, dsts):
        images_list, registries, targets = _files(tmp_path, source, src, dsts)
        down = targets[1]
        dsts[1].refuse = lambda seen: web.Response(status=503)  # type: ignore[method-assign]  # the second target is down

        code, report = await _sync(tmp_path, images_list, registries, *_target_args(targets))

        assert code == 1
        by_target: dict[str, set[str]] = {}
        for result in report["results"]:
            by_target.setdefault(result["target"], set()).add(result["outcome"])
        assert by_target == {targets[0]: {"copied"}, down: {"failed"}, targets[2]: {"copied"}}
        failed = [r for r in report["results"] if r["outcome"] == "failed"]
        assert all(dsts[1].host in r["destination"] for r in failed)
        for server, path in ((servers[0], TARGET_PATHS[0]), (servers[2], TARGET_PATHS[2])):
            for repo, tag in source.refs:
                assert get_manifest(server.url, _destination(repo, path), tag).digest == source.digests[(repo, tag)]


async def test_target_with_a_destination_override_is_bad_input(
    source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    images_list = write_list(tmp_path, [f"{source.server.host}/calico/node 127.0.0.1:1/rancher/x v1"])
    monkeypatch.setenv("DEST_REGISTRY_OVERRIDE", "127.0.0.1:2")
    assert await cli_in_thread(images_list, "sync", "--target", "127.0.0.1:3/mirror") == 2
    err = capsys.readouterr().err
    assert "--target" in err and "DEST_REGISTRY_OVERRIDE" in err and "Traceback" not in err
    monkeypatch.delenv("DEST_REGISTRY_OVERRIDE")
    monkeypatch.setenv("IMAGE_MIRROR_TARGETS", "127.0.0.1:3/a,127.0.0.1:3/a")
    assert await cli_in_thread(images_list, "sync", "--dry-run") == 2
    assert "given twice" in capsys.readouterr().err


async def test_an_upload_refused_at_one_target_fails_that_target_only_and_the_source_is_still_read_once(
    source: Source, registry_factory: Any, tmp_path: Path
) -> None:
    servers = [registry_factory() for _ in TARGET_PATHS]
    async with _proxies(source, servers) as (src, dsts):
        images_list, registries, targets = _files(tmp_path, source, src, dsts)
        # The third target answers everything but refuses the chunks of the large layer: it took part
        # in the shared read (its checks said "missing") and then failed on its own upload.
        dsts[2].refuse = lambda seen: web.Response(status=403) if seen.method == "PATCH" else None  # type: ignore[method-assign]

        code, report = await _sync(tmp_path, images_list, registries, *_target_args(targets))

        assert code == 1
        outcomes = {(r["target"], r["destination"].rsplit("/", 1)[1], r["outcome"]) for r in report["results"]}
        assert (targets[2], "mirrored-big-app", "failed") in outcomes
        assert {o for t, _, o in outcomes if t != targets[2]} == {"copied"}
        assert {o for t, name, o in outcomes if t == targets[2] and name != "mirrored-big-app"} == {"copied"}
        for server, path in zip(servers[:2], TARGET_PATHS[:2]):
            assert get_manifest(server.url, _destination("big/app", path), "1").digest == source.digests[("big/app", "1")]
        blob_gets = [s.ref for s in src.matching(method="GET", kind="blob")]
        assert sorted(blob_gets) == sorted(source.blobs), src.summary()  # type: ignore[type-var]
