"""What a user reads after a sync or compare to several targets, off a terminal: plain lines
with ``target=``, failures and the status line per target, ``--report``'s ``targets``, a
metrics file with a ``target`` label, a step summary per target; and with one target, the
one-destination output.

Real registries (the seeded source, an empty destination); the CLI in a subprocess, with
pipes, as a CI job runs it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.integration.discover.helpers import run_cli
from tests.support.registry import RegistryServer
from tests.support.seed import SeededRegistry
from tests.unit.metrics.expfmt import parse


def write_list(tmp_path: Path, src: str, dst: str) -> Path:
    path = tmp_path / "images-list"
    path.write_text("# test list\n"
                    f"{src}/library/busybox {dst}/rancher/mirrored-library-busybox 1.36.1\n"
                    f"{src}/library/busybox {dst}/rancher/mirrored-library-busybox 9.9.9\n")
    return path


def status_line(stderr: str, command: str) -> str:
    [line] = [line for line in stderr.splitlines() if line.startswith(f"{command}: ") or
              line.startswith(f"{command} (")]
    return re.sub(r" in \d+\.\d+s", " in Xs", line)


def test_sync_and_compare_to_two_targets_say_what_happened_at_each(
    tmp_path: Path, source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    src, dst = source_registry.host, dest_registry.host
    images_list = write_list(tmp_path, src, dst)
    a, b = f"{dst}/mirror-a", f"{dst}/mirror-b"
    summary = tmp_path / "summary.md"
    result = run_cli(["--images-list", str(images_list), "--no-cache", "--log-format", "plain",
                      "--metrics-file", str(tmp_path / "m.prom"), "sync", "--target", a, "--target", b,
                      "--report", str(tmp_path / "report.json")], env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 1, result.stderr
    err = result.stderr
    for target in (a, b):
        assert f"sync.copy.done {target}/mirrored-library-busybox:1.36.1 target={target} " in err, err
        assert (f"error: {src}/library/busybox:9.9.9 -> {target}/mirrored-library-busybox:9.9.9 (target {target}): "
                f"source image {src}/library/busybox:9.9.9 not found") in err, err
    assert status_line(err, "sync") == (f"sync: 2 copied, 0 skipped, 2 failed in Xs; per target: "
                                        f"{a} 1 copied, 0 skipped, 1 failed; {b} 1 copied, 0 skipped, 1 failed")

    report = json.loads((tmp_path / "report.json").read_text())
    assert list(report["targets"]) == [a, b]
    for target in (a, b):
        counts = report["targets"][target]
        assert {key: counts[key] for key in ("lines", "copied", "skipped", "failed", "planned")} == {
            "lines": 2, "copied": 1, "skipped": 0, "failed": 1, "planned": 0}
    assert sum(counts["bytes"] for counts in report["targets"].values()) == report["totals"]["bytes"]

    families = parse((tmp_path / "m.prom").read_text())
    for target in (a, b):
        assert families["image_mirror_sync_lines"].value(result="copied", target=target) == 1
        assert families["image_mirror_sync_lines"].value(result="failed", target=target) == 1
        assert families["image_mirror_sync_lines_planned"].value(target=target) == 2
    assert [s.labels for s in families["image_mirror_run_success"].samples] == [{"command": "sync"}]

    text = summary.read_text()
    assert f"| target | copied | skipped | failed |\n|---|---|---|---|\n| `{a}` | 1 | 0 | 1 |\n| `{b}` | 1 | 0 | 1 |" in text
    assert f"| `{a}/mirrored-library-busybox:9.9.9` | `{a}` | failed |" in text

    compared = run_cli(["--images-list", str(images_list), "--no-cache", "--log-format", "json", "compare",
                        "--json", "--target", a, "--target", b])
    assert compared.returncode == 1, compared.stderr
    rows = json.loads(compared.stdout)
    assert sorted((r["target"], r["tag"], r["status"]) for r in rows) == [
        (a, "1.36.1", "MATCHED"), (a, "9.9.9", "ERROR"), (b, "1.36.1", "MATCHED"), (b, "9.9.9", "ERROR")]
    [status] = [json.loads(line)["message"] for line in compared.stderr.splitlines()
                if '"event": "status"' in line]
    assert status == f"compare: 2 ERROR, 2 MATCHED; per target: {a} 1 ERROR, 1 MATCHED; {b} 1 ERROR, 1 MATCHED"


def test_one_target_reads_as_it_always_did(
    tmp_path: Path, source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    src, dst = source_registry.host, dest_registry.host
    images_list = write_list(tmp_path, src, dst)
    summary = tmp_path / "summary.md"
    result = run_cli(["--images-list", str(images_list), "--no-cache", "--log-format", "plain", "sync"],
                     env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 1, result.stderr
    err = result.stderr
    assert "target=" not in err and "(target " not in err and "per target" not in err, err
    assert status_line(err, "sync") == "sync: 1 copied, 0 skipped, 1 failed in Xs"
    assert (f"error: {src}/library/busybox:9.9.9 -> {dst}/rancher/mirrored-library-busybox:9.9.9: "
            f"source image {src}/library/busybox:9.9.9 not found") in err
    assert "| target |" not in summary.read_text()
