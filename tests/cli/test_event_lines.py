"""The JSON lines on stderr are an interface: scripts read them (README, "Progress and events").

A small discover (with ``--apply``, a failed entry and an unusable cache) and a small sync
(a copy, a missing tag, a conflict, an invalid line; then the same list again for skips, and a
dry run) plus a compare run as a user runs them, with ``--log-format json``. Their stderr,
with what changes from run to run replaced (timestamps, durations, ports, temp paths), must
equal ``golden/*.jsonl`` byte for byte, key order included. The golden files were captured
from main before events became typed; lines of one run are sorted because entries and lines
run concurrently. Regenerate (only for a deliberate change of the interface) with
``IMAGE_MIRROR_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.integration.discover.helpers import run_cli, write_registries
from tests.support.registry import RegistryServer
from tests.support.seed import SeededRegistry

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("IMAGE_MIRROR_UPDATE_GOLDEN") == "1"

_TS = re.compile(r'("ts": ?)"[^"]*"')
_DURATION = re.compile(r'("(?:elapsed|seconds)": ?)[0-9.e-]+')
_STATUS_SECONDS = re.compile(r" in [0-9]+\.[0-9]s")


def normalise(stderr: str, replacements: dict[str, str]) -> list[str]:
    """Every stderr line with run-dependent text replaced; the lines sorted."""
    lines = []
    for line in stderr.splitlines():
        for old, new in replacements.items():
            line = line.replace(old, new)
        line = _TS.sub(r'\1"TS"', line)  # the separators stay as written
        line = _DURATION.sub(r"\g<1>0", line)
        line = _STATUS_SECONDS.sub(" in Xs", line)
        lines.append(line)
    return sorted(lines)


def check_golden(name: str, runs: list[tuple[str, list[str]]]) -> None:
    text = "".join(f"## {title}\n" + "".join(f"{line}\n" for line in lines) for title, lines in runs)
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text
    for _, lines in runs:  # and every line is one JSON object
        for line in lines:
            assert isinstance(json.loads(line), dict), line


def test_discover_event_lines(tmp_path: Path, source_registry: SeededRegistry) -> None:
    (tmp_path / "images-list").write_text(
        "# Images to mirror.\n"
        "alpine rancher/mirrored-library-alpine 3.19.1\n"
        "busybox rancher/mirrored-library-busybox 1.36.0\n"
    )
    (tmp_path / "config.json").write_text(json.dumps({
        "busybox-registry": {"images": ["busybox"], "versionSource": "registry"},
        "alpine-registry": {"images": ["alpine"], "versionSource": "registry"},
        "missing": {"images": ["library/nothing-here"], "versionSource": "registry"},
    }))
    write_registries(tmp_path / "registries.yaml", {"docker.io": {"endpoint": source_registry.url}})
    (tmp_path / "not-a-dir").write_text("")
    result = run_cli(["--images-list", str(tmp_path / "images-list"), "--config", str(tmp_path / "config.json"),
                      "--registries", str(tmp_path / "registries.yaml"), "--cache",
                      str(tmp_path / "not-a-dir" / "state.db"), "--log-format", "json", "discover", "--apply"])
    assert result.returncode == 1, result.stderr
    replacements = {str(tmp_path): "TMP", source_registry.url: "SRC_URL", source_registry.host: "SRC"}
    check_golden("discover.jsonl", [("discover --apply", normalise(result.stderr, replacements))])


def test_sync_and_compare_event_lines(
    tmp_path: Path, source_registry: SeededRegistry, dest_registry: RegistryServer
) -> None:
    src, dst = source_registry.host, dest_registry.host
    images_list = tmp_path / "images-list"
    images_list.write_text(
        "# test list\n"
        f"{src}/library/busybox {dst}/rancher/mirrored-library-busybox 1.36.1\n"
        f"{src}/library/busybox {dst}/rancher/mirrored-library-busybox 9.9.9\n"
        f"{src}/library/alpine {dst}/rancher/mirrored-flannel 3.20.0\n"
        f"{src}/flannel/flannel {dst}/rancher/mirrored-flannel v0.25.1\n"
        f"{src}/library/alpine {dst}/rancher/mirrored-conflict 3.20.0\n"
        f"{src}/calico/node {dst}/rancher/mirrored-conflict 3.20.0\n"
        "this line is not valid at all\n"
    )
    replacements = {str(tmp_path): "TMP", src: "SRC", dst: "DST"}
    runs = []
    for title, args in (
        ("sync", ["sync", "--jobs", "1"]),
        ("sync again", ["sync", "--jobs", "1"]),
        ("sync --dry-run", ["sync", "--dry-run"]),
        ("compare", ["compare"]),
    ):
        result = run_cli(["--images-list", str(images_list), "--no-cache", "--log-format", "json", *args])
        assert result.returncode == 1, result.stderr
        runs.append((title, normalise(result.stderr, replacements)))
    check_golden("sync.jsonl", runs)


@pytest.mark.parametrize("name", ["discover.jsonl", "sync.jsonl"])
def test_golden_files_name_readme_events(name: str) -> None:
    """Every event the README's table promises that these runs produce is in the golden files."""
    text = (GOLDEN / name).read_text(encoding="utf-8")
    expected = {
        "discover.jsonl": ["discover.entry.start", "discover.entry.done", "discover.entry.failed",
                           "discover.apply", "discover.done", "warning"],
        "sync.jsonl": ["sync.plan", "sync.skip", "sync.copy.start", "sync.copy.done", "sync.copy.failed",
                       "sync.done", "sync.conflict", "sync.invalid", "compare.line"],
    }[name]
    for event in expected:
        assert f'"event":"{event}"' in text, event
