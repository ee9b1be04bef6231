"""Blobs that survive the network: a real registry on each side, a fault proxy in front.

Every claim is asserted at the proxy — which requests arrived, with which ``Range`` or
``Content-Range``, answered how, how many body bytes were served — and by what the user
sees: the exit code, the ``--report`` file, digests equal at the destination.

Sizes are small and the registries file scales the limits down to them: blobs up to
128 KiB are sent monolithically, larger ones in 64 KiB chunks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from mirror.registry.download import READ_SIZE
from tests.fakes.faults import FaultProxy, blob_get, upload_step
from tests.fakes.proxy import Seen
from tests.integration.sync.helpers import cli_in_thread, write_list
from tests.support.images import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, get_blob, get_manifest, push_blob, push_manifest
from tests.support.images import sha256_digest
from tests.support.registry import RegistryServer

pytestmark = pytest.mark.anyio

WAIT = 60  # seconds: an upper bound for a hang, never a wait for something to happen
LARGE = 5 * 64 * 1024 + 123  # six PATCH chunks
SMALL = 40 * 1024  # monolithic
LIMITS = {"monolithic_max": "128KiB", "chunk_size": "64KiB"}


class Image:
    """One single-platform image in the source: a config and one layer of random bytes."""

    def __init__(self, registry: RegistryServer, repo: str, size: int) -> None:
        self.repo, self.tag = repo, "1"
        self.layer_bytes = os.urandom(size)
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
        self.config = push_blob(registry.url, repo, config)
        self.layer = push_blob(registry.url, repo, self.layer_bytes)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": self.config, "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": self.layer, "size": size}],
        }).encode()  # fmt: skip
        self.digest = push_manifest(registry.url, repo, self.tag, manifest, OCI_MANIFEST)


async def _sync(tmp_path: Path, src: FaultProxy, dst: FaultProxy, image: Image, *extra: str,
                limits: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    """``image-mirror sync --report`` of the one line; the exit code and the line's result."""
    settings = {**LIMITS, **(limits or {})}
    registries = tmp_path / "registries.yaml"
    registries.write_text(json.dumps({
        proxy.host: {"endpoint": proxy.url, **settings} for proxy in (src, dst)
    }), encoding="utf-8")  # fmt: skip
    images_list = write_list(tmp_path, [f"{src.host}/{image.repo} {dst.host}/mirror/{image.repo} {image.tag}"])
    report = tmp_path / "report.json"
    with anyio.fail_after(WAIT):
        code = await cli_in_thread(images_list, "sync", "--report", str(report), *extra, registries=registries)
    (result,) = json.loads(report.read_text(encoding="utf-8"))["results"]
    return code, result


def _copied(dest: RegistryServer, image: Image, code: int, result: dict[str, Any]) -> None:
    assert (code, result["outcome"]) == (0, "copied"), result
    assert get_manifest(dest.url, f"mirror/{image.repo}", image.tag).digest == image.digest
    assert sha256_digest(get_blob(dest.url, f"mirror/{image.repo}", image.layer)) == image.layer


def _range_start(seen: Seen) -> int:
    assert seen.range is not None and seen.range.startswith("bytes=") and seen.range.endswith("-"), seen
    return int(seen.range[len("bytes="):-1])


@pytest.fixture
def source(registry_factory: Any) -> RegistryServer:
    return registry_factory()  # type: ignore[no-any-return]


# ---- downloads --------------------------------------------------------------------------


#: Big enough that a restart from 0 would break the bound of size + one read buffer.
BIG = 3 * READ_SIZE + 123
STREAMED = {"monolithic_max": "1MiB", "chunk_size": "1MiB"}  # BIG in four PATCH chunks
WHOLE = {"monolithic_max": "8MiB"}  # BIG read whole, verified, then PUT


@pytest.mark.parametrize("cut", ["reset", "short_read"])
@pytest.mark.parametrize("path", ["streamed", "whole"])
async def test_a_cut_download_resumes_with_range(
    source: RegistryServer, dest_registry: RegistryServer, tmp_path: Path, cut: str, path: str
) -> None:
    image = Image(source, "team/big", BIG)
    async with FaultProxy(source.url) as src, FaultProxy(dest_registry.url) as dst:
        getattr(src, cut)(blob_get(image.layer), after=BIG // 2)
        code, result = await _sync(tmp_path, src, dst, image, limits=STREAMED if path == "streamed" else WHOLE)
        gets = src.matching("GET", "blob", ref=image.layer)
    _copied(dest_registry, image, code, result)
    assert len(gets) == 2 and gets[0].range is None, gets
    resumed_at = _range_start(gets[1])
    assert 0 < resumed_at <= BIG // 2 and gets[1].status == 206
    print(f"{cut} ({path}): served {gets[0].served} + {gets[1].served}, resumed at {resumed_at}")
    assert sum(g.served for g in gets) <= BIG + READ_SIZE


async def test_a_server_that_ignores_range_is_read_again_from_the_start(
    source: RegistryServer, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    image = Image(source, "team/big", LARGE)
    async with FaultProxy(source.url) as src, FaultProxy(dest_registry.url) as dst:
        src.short_read(blob_get(image.layer), after=LARGE // 2)
        src.ignore_range(blob_get(image.layer))
        code, result = await _sync(tmp_path, src, dst, image)
        gets = src.matching("GET", "blob", ref=image.layer)
    _copied(dest_registry, image, code, result)
    assert len(gets) == 2 and _range_start(gets[1]) > 0  # asked for the rest ...
    assert gets[1].status == 200 and gets[1].served == LARGE  # ... and got the whole blob again


# ---- uploads ----------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["POST", "PATCH", "closing PUT"])
async def test_a_503_once_on_an_upload_step_is_retried(
    source: RegistryServer, dest_registry: RegistryServer, tmp_path: Path, step: str
) -> None:
    image = Image(source, "team/big", LARGE)
    method = step.split()[-1]
    predicate = upload_step(method, closing=True if step == "closing PUT" else None)
    async with FaultProxy(source.url) as src, FaultProxy(dest_registry.url) as dst:
        if step == "PATCH":  # the third chunk of the layer, not the first request
            dst.fail(lambda s: predicate(s) and (s.content_range or "").startswith(f"{2 * 64 * 1024}-"))
        else:
            dst.fail(predicate)
        code, result = await _sync(tmp_path, src, dst, image)
        steps = [s for s in dst.seen if predicate(s)]
    _copied(dest_registry, image, code, result)
    failed = [i for i, s in enumerate(steps) if s.status == 503]
    assert len(failed) == 1, steps
    again = steps[failed[0] + 1]
    assert again.status in (201, 202, 204)
    if step == "PATCH":
        assert again.content_range == steps[failed[0]].content_range  # the same chunk again


async def test_a_413_on_a_monolithic_put_is_sent_again_in_chunks(
    source: RegistryServer, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    image = Image(source, "team/small", SMALL)
    async with FaultProxy(source.url) as src, FaultProxy(dest_registry.url) as dst:
        dst.reject_monolithic(image.layer)
        code, result = await _sync(tmp_path, src, dst, image, limits={"chunk_size": "16KiB"})
    _copied(dest_registry, image, code, result)
    layer_puts = dst.matching("PUT", "upload", ref=image.layer)
    assert [(p.status, p.length) for p in layer_puts] == [(413, SMALL), (201, 0)]
    patches = [s for s in dst.seen if s.method == "PATCH"]
    assert [p.content_range for p in patches] == [f"{i}-{min(SMALL, i + 16384) - 1}" for i in range(0, SMALL, 16384)]


# ---- verification -----------------------------------------------------------------------


async def test_a_corrupted_small_blob_never_reaches_the_destination(
    source: RegistryServer, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    image = Image(source, "team/small", SMALL)
    async with FaultProxy(source.url) as src, FaultProxy(dest_registry.url) as dst:
        src.corrupt(blob_get(image.layer), times=None)
        code, result = await _sync(tmp_path, src, dst, image)
        gets = src.matching("GET", "blob", ref=image.layer)
    assert (code, result["outcome"]) == (1, "failed")
    assert f"digest mismatch {image.layer}" in result["reason"]
    assert len(gets) > 1  # tried again from the start
    # One upload session, the config's, committed; none was started for the layer.
    assert dst.count("POST", "upload") == 1 and dst.count("PUT", "upload", ref=image.config) == 1
    assert dst.count("PUT", "upload", ref=image.layer) == 0 and dst.count(method="PATCH") == 0
    assert dst.count("PUT", "manifest") == 0


async def test_a_corrupted_large_blob_is_cancelled_never_committed(
    source: RegistryServer, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    image = Image(source, "team/big", LARGE)
    async with FaultProxy(source.url) as src, FaultProxy(dest_registry.url) as dst:
        src.corrupt(blob_get(image.layer), times=None)
        code, result = await _sync(tmp_path, src, dst, image)
    assert (code, result["outcome"]) == (1, "failed")
    assert f"digest mismatch {image.layer}" in result["reason"]
    assert dst.count("PUT", "upload", ref=image.layer) == 0 and dst.count("PUT", "manifest") == 0
    steps = [s.method for s in dst.seen if s.kind == "upload" and s.method in ("PATCH", "DELETE")]
    assert steps.count("DELETE") >= 1 and steps[:7] == ["PATCH"] * 6 + ["DELETE"], steps


@pytest.mark.parametrize("size", [SMALL, LARGE])
async def test_a_blob_corrupted_once_is_retried_and_copied(
    source: RegistryServer, dest_registry: RegistryServer, tmp_path: Path, size: int
) -> None:
    image = Image(source, "team/blob", size)
    async with FaultProxy(source.url) as src, FaultProxy(dest_registry.url) as dst:
        src.corrupt(blob_get(image.layer), times=1)
        code, result = await _sync(tmp_path, src, dst, image)
        gets = src.matching("GET", "blob", ref=image.layer)
        deletes = dst.count("DELETE", "upload")
    _copied(dest_registry, image, code, result)
    assert len(gets) == 2 and gets[1].range is None  # the second attempt starts from 0
    assert deletes == (1 if size == LARGE else 0)


# ---- deadlines --------------------------------------------------------------------------


async def test_a_trickling_server_fails_the_line_at_its_deadline(
    source: RegistryServer, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    image = Image(source, "team/slow", SMALL)
    async with FaultProxy(source.url) as src, FaultProxy(dest_registry.url) as dst:
        src.trickle(blob_get(image.layer), step=16, interval=0.05)
        code, result = await _sync(tmp_path, src, dst, image, limits={"deadline_base": 1, "min_throughput": "1GiB"})
        (get,) = src.matching("GET", "blob", ref=image.layer)
    assert (code, result["outcome"]) == (1, "failed")
    assert "deadline of 1s" in result["reason"], result
    assert 0 < get.served < SMALL
    assert dst.count("PUT", "upload", ref=image.layer) == 0


async def test_the_run_timeout_ends_the_run_with_its_report(
    source: RegistryServer, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    image = Image(source, "team/held", SMALL)
    async with FaultProxy(source.url) as src, FaultProxy(dest_registry.url) as dst:
        held = src.hold(blob_get(image.layer))  # never answered while the run lasts
        code, result = await _sync(tmp_path, src, dst, image, "--timeout", "1")
        assert held.waiting == 1 and not held.is_open
    assert (code, result["outcome"], result["reason"]) == (1, "failed", "run timeout")


async def test_the_run_timeout_ends_compare_with_every_line_reported(
    source: RegistryServer, dest_registry: RegistryServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = Image(source, "team/held", SMALL)
    async with FaultProxy(source.url) as src, FaultProxy(dest_registry.url) as dst:
        held = dst.hold(lambda s: s.kind == "manifest")  # the destination never answers
        images_list = write_list(tmp_path, [f"{src.host}/{image.repo} {dst.host}/mirror/{image.repo} {image.tag}"])
        with anyio.fail_after(WAIT):
            code = await cli_in_thread(images_list, "compare", "--json", "--timeout", "1")
        assert held.waiting == 1
    (line,) = json.loads(capsys.readouterr().out)
    assert (code, line["status"], line["reason"]) == (1, "ERROR", "run timeout")
