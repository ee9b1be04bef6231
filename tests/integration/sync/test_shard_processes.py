"""Several ``sync --shard i/N`` processes side by side, as the Kubernetes Indexed Job runs them:
every line is mirrored exactly once, and together they leave the destination complete."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mirror.pipeline.selection import shard_of
from mirror.ref import parse
from tests.integration.discover.helpers import cli_env
from tests.integration.sync.helpers import mirrored, write_list
from tests.support.registry import RegistryServer
from tests.support.seed import SeededRegistry

SHARDS = 3


def test_shard_processes_side_by_side_mirror_every_line_exactly_once(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    src, dst = source_registry.host, dest_registry.host
    lines = [
        f"{src}/{repo} {dst}/{prefix}{mirrored(repo)} {tag}"
        for prefix in ("", "team-a/", "team-b/", "team-c/")
        for repo, tags in (("library/busybox", ("1.36.0", "1.36.1", "1.37.0")),
                           ("calico/node", ("v3.28.0", "v3.29.0")),
                           ("flannel/flannel", ("v0.25.1",)))
        for tag in tags
    ]
    images_list = write_list(tmp_path, lines)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "mirror", "--images-list", str(images_list), "--log-format", "json",
             "sync", "--shard", f"{index}/{SHARDS}", "--report", str(tmp_path / f"shard-{index}.json")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
        )
        for index in range(SHARDS)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err.decode()

    copied: dict[tuple[str, str], int] = {}
    by_source: dict[str, set[int]] = {}
    for index in range(SHARDS):
        report = json.loads((tmp_path / f"shard-{index}.json").read_text())
        for result in report["results"]:
            key = (result["destination"], result["tag"])
            assert key not in copied, f"{key} handled by shards {copied[key]} and {index}"
            assert result["outcome"] == "copied", result
            copied[key] = index
            by_source.setdefault(result["source"], set()).add(index)
    assert len(copied) == len(lines)
    # The split is by source repository: every line of one source -- each tag, each of the four
    # destinations -- is done by the one pod that owns it (so its blobs are read once).
    for source, shards in by_source.items():
        assert shards == {shard_of(parse(source), SHARDS)}, source

    compare = subprocess.run(
        [sys.executable, "-m", "mirror", "--images-list", str(images_list), "--log-format", "plain", "compare",
         "--json"],
        capture_output=True, text=True, env=cli_env(), timeout=180,
    )
    assert compare.returncode == 0, compare.stderr
    statuses = [item["status"] for item in json.loads(compare.stdout)]
    assert statuses == ["MATCHED"] * len(lines)
