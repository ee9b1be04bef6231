"""``image-mirror discover`` end to end: all seven version sources, one real process.

The expected JSON is written out literally from the data in conftest.py:

* busybox (registry): 1.36.0 is listed; 1.36.1 and 1.37.0 are new; the rancher/ image is skipped.
* calico (github-releases): v3.29.0 is new (v3.27.0 below the constraint, v3.30.0-0.dev a
  pre-release, v3.31.0 a draft, v3.28.0 listed); the rancher/ image is skipped.
* flannel (github-latest-release): v0.25.1 is listed: nothing new, the key stays with empty lists.
* longhorn (github-tagged-images-file, >=1.7.0): v1.7.0 and v1.7.1 files; flannel v0.25.1
  is listed, rancher/ and :latest are dropped, csi-attacher is denied, docker.io/ stripped.
* webapp (helm-latest): chart 2.0.0; @digest and docker.io/ stripped, rancher/ skipped,
  :latest dropped, calico v3.28.0 listed; values.yaml adds webapp-init.
* ocichart (helm-oci): chart 0.2.0; flannel v0.25.1 is listed.
* localchart (helm-directory): rancher/shell skipped.
"""

from __future__ import annotations

import errno
import json

import pytest

from mirror import imageslist, safewrite
from mirror.cli import main

from .conftest import (
    IMAGES_LIST_HEADER,
    MISSING_REPO,
    Upstreams,
    Workspace,
    full_config,
)
from tests.support.writefaults import failing

from .helpers import json_records, run_cli

EXPECTED = {
    "busybox": {"images": ["busybox"], "tags": ["1.36.1", "1.37.0"]},
    "calico": {"images": ["quay.io/calico/node"], "tags": ["v3.29.0"]},
    "flannel": {"images": [], "tags": []},
    "longhorn": {
        "full_images": [
            "library/alpine:3.20.0",
            "longhornio/longhorn-engine:v1.7.0",
            "longhornio/longhorn-engine:v1.7.1",
            "longhornio/longhorn-manager:v1.7.0",
            "longhornio/longhorn-manager:v1.7.1",
        ]
    },
    "webapp": {
        "full_images": [
            "ghcr.io/example/webapp-init:2.0.0",
            "ghcr.io/example/webapp:2.0.0",
            "library/busybox:1.36.1",
        ]
    },
    "ocichart": {"full_images": ["ghcr.io/example/oci-app:0.2.0"]},
    "localchart": {"full_images": ["registry.k8s.io/pause:3.10"]},
}

#: images-list after ``--apply``: every found tag of an image that has an entry, checked
#: upstream, in one sorted write. library/busybox:1.36.1 (webapp) and busybox 1.36.1
#: (busybox) are the same line and appear once. alpine 3.20.0 (from the longhorn file)
#: follows alpine's existing mapping.
APPLIED_ENTRIES = [
    "alpine rancher/mirrored-library-alpine 3.19.1",
    "alpine rancher/mirrored-library-alpine 3.20.0",
    "busybox rancher/mirrored-library-busybox 1.36.0",
    "busybox rancher/mirrored-library-busybox 1.36.1",
    "busybox rancher/mirrored-library-busybox 1.37.0",
    "flannel/flannel rancher/mirrored-flannel-flannel v0.25.1",
    "quay.io/calico/node rancher/mirrored-calico-node v3.28.0",
    "quay.io/calico/node rancher/mirrored-calico-node v3.29.0",
]

#: Found images without an entry: reported, never added.
NEEDS_APPROVAL = [
    "ghcr.io/example/oci-app:0.2.0",
    "ghcr.io/example/webapp-init:2.0.0",
    "ghcr.io/example/webapp:2.0.0",
    "longhornio/longhorn-engine:v1.7.0",
    "longhornio/longhorn-engine:v1.7.1",
    "longhornio/longhorn-manager:v1.7.0",
    "longhornio/longhorn-manager:v1.7.1",
    "registry.k8s.io/pause:3.10",
]

#: After the first --apply, the same run finds only what still has no entry.
EXPECTED_AFTER_APPLY = {
    "busybox": {"images": [], "tags": []},
    "calico": {"images": [], "tags": []},
    "flannel": {"images": [], "tags": []},
    "longhorn": {
        "full_images": [
            "longhornio/longhorn-engine:v1.7.0",
            "longhornio/longhorn-engine:v1.7.1",
            "longhornio/longhorn-manager:v1.7.0",
            "longhornio/longhorn-manager:v1.7.1",
        ]
    },
    "webapp": {"full_images": ["ghcr.io/example/webapp-init:2.0.0", "ghcr.io/example/webapp:2.0.0"]},
    "ocichart": {"full_images": ["ghcr.io/example/oci-app:0.2.0"]},
    "localchart": {"full_images": ["registry.k8s.io/pause:3.10"]},
}


def test_discover_all_seven_sources(workspace: Workspace, upstreams: Upstreams) -> None:
    before = workspace.images_list.read_bytes()
    result = run_cli(workspace.args("--log-format", "json", "discover"), env=upstreams.env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == EXPECTED
    # stdout holds only the JSON document: one line.
    assert result.stdout.count("\n") == 1
    # Config order is kept (workflows read the keys in order).
    assert list(json.loads(result.stdout)) == list(full_config(upstreams))
    # Status went to stderr as JSON lines; every entry finished.
    records = json_records(result.stderr)
    done = {r["entry"] for r in records if r["event"] == "discover.entry.done"}
    assert done == set(EXPECTED)
    assert not [r for r in records if r["event"] == "discover.entry.failed"]
    # Without --apply nothing is written.
    assert workspace.images_list.read_bytes() == before


def test_a_failing_entry_is_left_out_and_the_others_complete(workspace: Workspace, upstreams: Upstreams) -> None:
    config = full_config(upstreams)
    config["missing"] = {"images": ["acme/widget"], "versionSource": f"github-releases:{MISSING_REPO}"}
    workspace.write_config(config)
    result = run_cli(workspace.args("--log-format", "json", "discover"), env=upstreams.env())
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout) == EXPECTED  # every other entry, "missing" absent
    assert MISSING_REPO in result.stderr
    failed = [r for r in json_records(result.stderr) if r["event"] == "discover.entry.failed"]
    assert [r["entry"] for r in failed] == ["missing"]
    assert MISSING_REPO in failed[0]["error"]
    assert upstreams.github.requests, "the fake GitHub was asked"


def test_output_file_gets_the_json_and_stdout_stays_empty(workspace: Workspace, upstreams: Upstreams) -> None:
    out = workspace.root / "found.json"
    result = run_cli(workspace.args("--log-format", "json", "discover", "--output", str(out)), env=upstreams.env())
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert json.loads(out.read_text()) == EXPECTED


def test_a_bad_images_list_is_exit_2_naming_the_line_and_no_json(workspace: Workspace, upstreams: Upstreams) -> None:
    # The list is parsed while the first requests are in flight; a bad line still ends the run as bad input.
    lines = workspace.images_list.read_text().splitlines()
    workspace.images_list.write_text("\n".join([*lines, "only-two fields"]) + "\n")
    result = run_cli(workspace.args("--log-format", "plain", "discover"), env=upstreams.env())
    assert result.returncode == 2, result.stderr
    assert f"{workspace.images_list}:{len(lines) + 1}" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.fixture
def in_process(upstreams: Upstreams, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upstreams' variables in this process, for tests that call ``main`` directly."""
    for name, value in upstreams.env().items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("in_process")
def test_apply_adds_found_tags_in_one_sorted_write_and_is_idempotent(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the real CLI entry point in this process, so the writes can be counted."""
    writes: list[str] = []
    real_write = safewrite.replace_file

    def counting_write(target: safewrite.Target, data: bytes) -> None:
        writes.append(target.shown)
        real_write(target, data)

    monkeypatch.setattr(safewrite, "replace_file", counting_write)

    code = main(workspace.args("--log-format", "json", "discover", "--apply"))
    first = capsys.readouterr()
    assert code == 0, first.err
    assert json.loads(first.out) == EXPECTED  # the report is what was found, before adding
    assert writes == [str(workspace.images_list)]  # one write for every addition
    text = workspace.images_list.read_text()
    assert text == IMAGES_LIST_HEADER + "".join(f"{line}\n" for line in APPLIED_ENTRIES)
    assert imageslist.load(workspace.images_list).is_sorted()
    # Images without an entry are reported on stderr as needing approval, not added, not failed.
    for image in NEEDS_APPROVAL:
        assert f"needs approval: {image} " in first.err, image
        assert image.rsplit(":", 1)[0] not in text
    applied = {(r["image"], r["tag"]): r["status"] for r in json_records(first.err) if r["event"] == "discover.apply"}
    assert applied[("busybox", "1.37.0")] == "add"
    assert applied[("quay.io/calico/node", "v3.29.0")] == "add"
    assert applied[("library/alpine", "3.20.0")] == "add"
    assert applied[("registry.k8s.io/pause", "3.10")] == "needs approval"
    assert "failed" not in applied.values()

    snapshot = workspace.images_list.read_bytes()
    writes.clear()
    code = main(workspace.args("--log-format", "json", "discover", "--apply"))
    second = capsys.readouterr()
    assert code == 0, second.err
    assert json.loads(second.out) == EXPECTED_AFTER_APPLY
    assert workspace.images_list.read_bytes() == snapshot  # byte-identical
    assert writes == []  # and not even rewritten
    for image in NEEDS_APPROVAL:
        assert f"needs approval: {image} " in second.err, image


@pytest.mark.usefixtures("in_process")
def test_apply_on_a_full_disk_is_one_message_exit_1_and_the_list_intact(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = workspace.images_list.read_bytes()
    monkeypatch.setattr(safewrite, "_write_all", failing(errno.ENOSPC))
    code = main(workspace.args("--log-format", "plain", "discover", "--apply"))
    captured = capsys.readouterr()
    assert code == 1, captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {workspace.images_list}: cannot write: No space left on device (ENOSPC); "
                      "the file was left as it was"]
    assert "Traceback" not in captured.err
    assert workspace.images_list.read_bytes() == before


def test_apply_runs_the_upstream_check(workspace: Workspace, upstreams: Upstreams) -> None:
    """A found tag that does not exist upstream is not added and makes the exit code 1;
    the tags that passed are still added (discover applies what it can)."""
    # calico/node exists on the source registry only as v3.28.0 and v3.29.0; pretend
    # GitHub also released v3.27.0 for it by lowering the constraint: v3.27.0 is missing.
    config = full_config(upstreams)
    config["calico"]["versionConstraint"] = ">=3.27.0"  # type: ignore[index]
    workspace.write_config({"calico": config["calico"]})
    result = run_cli(workspace.args("--log-format", "json", "discover", "--apply"), env=upstreams.env())
    assert json.loads(result.stdout) == {"calico": {"images": ["quay.io/calico/node"], "tags": ["v3.27.0", "v3.29.0"]}}
    assert result.returncode == 1, result.stderr
    assert "quay.io/calico/node:v3.27.0 does not exist" in result.stderr
    lines = workspace.images_list.read_text().splitlines()
    assert "quay.io/calico/node rancher/mirrored-calico-node v3.29.0" in lines
    assert not any(line.endswith(" v3.27.0") for line in lines)


def test_rancher_images_are_skipped_however_they_are_written(workspace: Workspace, upstreams: Upstreams) -> None:
    """``docker.io/rancher/x`` is ``rancher/x``: our own image, skipped for tag-based sources
    as it already is for Helm and tagged-file sources (which strip ``docker.io/`` first)."""
    workspace.write_config({
        "busybox": {
            "images": ["busybox", "docker.io/rancher/mirrored-library-busybox", "index.docker.io/rancher/busybox"],
            "versionSource": "registry",
        },
    })
    result = run_cli(workspace.args("--log-format", "json", "discover"), env=upstreams.env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"busybox": {"images": ["busybox"], "tags": ["1.36.1", "1.37.0"]}}


@pytest.mark.usefixtures("in_process")
def test_a_bug_in_one_source_is_an_internal_error_exit_3_and_the_others_complete(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A programming error in one version source is not an ordinary failed entry."""
    from mirror.sources import github_latest_release

    async def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("tag_name")

    monkeypatch.setattr(github_latest_release, "discover", broken)
    code = main(workspace.args("--log-format", "json", "discover"))
    captured = capsys.readouterr()
    assert code == 3
    seed = json.loads(captured.out)
    failed = [r for r in json_records(captured.err) if r["event"] == "discover.entry.failed"]
    assert failed and all(r["error"] == "internal error: KeyError: 'tag_name'" for r in failed)
    assert set(seed) == set(EXPECTED) - {r["entry"] for r in failed}  # the other entries completed
    assert "Traceback" not in captured.err  # only with -v
    assert main(workspace.args("--log-format", "json", "-v", "discover")) == 3
    assert "Traceback (most recent call last)" in capsys.readouterr().err
