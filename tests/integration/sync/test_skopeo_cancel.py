"""Ctrl-C during a skopeo copy: the private directory with ``auth.json`` is removed anyway."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import anyio
import pytest

from tests.fakes.proxy import CountingProxy
from tests.integration.sync.helpers import docker_config, mirrored, write_list
from tests.support.registry import RegistryServer
from tests.support.seed import SeededRegistry


@pytest.mark.anyio
async def test_interrupted_skopeo_copy_leaves_no_credentials(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo, tag = "flannel/flannel", "v0.25.1"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    async with CountingProxy(source_registry.url) as proxy:
        # skopeo's blob reads wait at the proxy: the copy is in progress, auth.json on disk.
        gate = proxy.hold(lambda seen: seen.kind == "blob" and seen.method == "GET")
        docker_config(tmp_path, monkeypatch, {dest_registry.host: ("mirror", "s3cret-value")})
        images_list = write_list(tmp_path, [f"{proxy.host}/{repo} {dest_registry.host}/{mirrored(repo)} {tag}"])
        env = {**os.environ, "TMPDIR": str(tmpdir)}
        log = (tmp_path / "stderr.log").open("wb")
        process = await anyio.open_process(
            [sys.executable, "-m", "mirror", "--images-list", str(images_list), "--log-format", "json",
             "sync", "--copier", "skopeo"], env=env, stdout=log, stderr=log)
        try:
            async with anyio.create_task_group() as group:
                async def early_exit() -> None:
                    await process.wait()
                    pytest.fail(f"sync ended before skopeo read a blob: {(tmp_path / 'stderr.log').read_text()}")

                group.start_soon(early_exit)
                with anyio.fail_after(60):
                    await proxy.wait_for(lambda p: p.count(method="GET", kind="blob") >= 1)
                group.cancel_scope.cancel()
            auth_files = list(tmpdir.glob("image-mirror-skopeo-*/auth.json"))
            assert len(auth_files) == 1, "the copy should be running with its auth file"
            assert "s3cret-value" not in auth_files[0].read_text()  # base64 in the file, never plain
            process.send_signal(signal.SIGINT)
            with anyio.fail_after(30):
                code = await process.wait()
        finally:
            gate.release()
            if process.returncode is None:
                process.kill()
            await process.aclose()
            log.close()
    assert code != 0
    assert list(tmpdir.iterdir()) == [], "the private directory (and its auth.json) must be gone"
