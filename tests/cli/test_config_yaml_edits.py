"""``sort``, ``add-tag``, ``add-full-image``, ``discover --apply`` and ``check-new-images`` on Rancher's
2026 ``config.yaml`` layout, as a user runs them (subprocesses, a real git repository, a real registry).

One fresh real registry stands in for both ``quay.io`` (the sources: ``library/busybox`` with the tags
below) and ``docker.io`` (the targets), through a registries file. Rancher's real files are read in
place from shared/data and copied only into temporary directories.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mirror.lists import parse_artifacts, read_artifacts, render_regsync, sort_config
from tests.integration.discover.helpers import cli_env, run_cli, write_registries
from tests.support.data import SHARED_DATA
from tests.support.images import push_image, push_manifest
from tests.support.registry import RegistryServer
from tests.unit.lists.test_rancher_goldens import _shuffled_yaml

RANCHER = SHARED_DATA / "rancher-2026-02"
WRITERS = 20
CONCURRENT_TAGS = [f"1.0.{i}" for i in range(WRITERS)]
SOURCE_TAGS = ["1.36.0", "1.37.0", "3.10", "2.0", *CONCURRENT_TAGS]
GIT_ENV = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1"}

COMMENTED = """\
# Images we mirror. Kept by hand; see CONTRIBUTING.md.
Artifacts:
# busybox, the default target
- SourceArtifact: quay.io/library/busybox
  Tags:
  - 1.36.0   # the first one
- SourceArtifact: quay.io/library/busybox
  Tags:
  - 1.36.0
  TargetArtifactName: busybox-explicit
- DoNotMirror:
  - "2.0"
  SourceArtifact: quay.io/library/alpine
  Tags:
  - "2.0"
Repositories:
# Docker Hub
- BaseUrl: docker.io/rancher
  DefaultTarget: true
  Password: '{{ env "DOCKER_PASSWORD" }}'
  Registry: docker.io
  Username: '{{ env "DOCKER_USERNAME" }}'
"""


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, env=cli_env(GIT_ENV), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture
def registries(tmp_path: Path, dest_registry: RegistryServer) -> Path:
    image = push_image(dest_registry.url, "library/busybox", SOURCE_TAGS[0], kind="oci-manifest")
    for tag in SOURCE_TAGS[1:]:
        push_manifest(dest_registry.url, "library/busybox", tag, image.manifest, image.media_type)
    push_image(dest_registry.url, "rancher/mirrored-library-busybox", "1.36.0", kind="oci-manifest")
    hosts = {host: {"endpoint": dest_registry.url} for host in ("quay.io", "docker.io")}
    return write_registries(tmp_path / "registries.yaml", hosts)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with the commented config.yaml and its regsync.yaml committed."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "config.yaml").write_text(COMMENTED)
    (root / "regsync.yaml").write_text(render_regsync(sort_config(parse_artifacts(COMMENTED))))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "config.yaml", "regsync.yaml")
    git(root, "commit", "-q", "-m", "config")
    git(root, "branch", "base")
    return root


def mirror(path: Path, registries: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    common = ["--log-format", "plain", "--images-list", str(path), "--no-cache"]
    if registries is not None:
        common += ["--registries", str(registries)]
    return run_cli([*common, *args], cwd=path.parent)


def numstat(repo: Path) -> dict[str, tuple[int, int]]:
    out = git(repo, "diff", "--numstat")
    return {name: (int(added), int(removed)) for added, removed, name in (line.split("\t") for line in out.splitlines())}


# ---- sort on the real file ----------------------------------------------------------------------


def test_sort_check_passes_on_rancher_real_config_yaml() -> None:
    result = mirror(RANCHER / "config.yaml", None, "sort", "--check")
    assert result.returncode == 0, result.stderr
    assert "config.yaml: sorted" in result.stderr


def test_shuffled_real_config_sorts_back_byte_for_byte_and_regsync_is_regenerated(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(_shuffled_yaml(read_artifacts(RANCHER / "config.yaml"), 7))
    (tmp_path / "regsync.yaml").write_text("# stale\n")
    check = mirror(path, None, "sort", "--check")
    assert check.returncode == 1
    assert "not in Rancher's format (first difference: line 1:" in check.stderr
    result = mirror(path, None, "sort")
    assert result.returncode == 0, result.stderr
    assert path.read_bytes() == (RANCHER / "config.yaml").read_bytes()
    assert (tmp_path / "regsync.yaml").read_bytes() == (RANCHER / "regsync.yaml").read_bytes()
    assert "regsync.yaml regenerated" in result.stderr
    again = mirror(path, None, "sort")
    assert "already sorted (262 artifacts, 2645 tags)" in again.stderr


def test_sort_check_ignores_comments_and_sort_drops_them_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    lines = (RANCHER / "config.yaml").read_text().splitlines(keepends=True)
    lines.insert(0, "# Rancher's mirror list\n")
    lines[3] = lines[3].rstrip("\n") + "  # why this tag\n"
    path.write_text("".join(lines))
    assert mirror(path, None, "sort", "--check").returncode == 0
    result = mirror(path, None, "sort")
    assert result.returncode == 0, result.stderr
    assert "2 comment(s) dropped (Rancher's format keeps none)" in result.stderr
    assert path.read_bytes() == (RANCHER / "config.yaml").read_bytes()


# ---- add-tag keeps the file as written ----------------------------------------------------------


def test_add_tag_adds_lines_only_keeps_strings_and_regenerates_regsync(repo: Path, registries: Path) -> None:
    path = repo / "config.yaml"
    result = mirror(path, registries, "add-tag", "--images", "quay.io/library/busybox", "--tags", "3.10,1.37.0")
    assert result.returncode == 0, result.stderr
    assert "added 2 tag(s); regsync.yaml regenerated" in result.stderr
    stats = numstat(repo)
    assert stats["config.yaml"] == (2, 0)
    assert stats["regsync.yaml"][1] == 0  # two sync entries more, nothing else
    assert "  - 1.36.0   # the first one\n  - 1.37.0\n  - \"3.10\"\n- SourceArtifact" in path.read_text()
    tags = yaml.safe_load(path.read_text())["Artifacts"][0]["Tags"]
    assert tags == ["1.36.0", "1.37.0", "3.10"]  # "3.10" reads back as the string 3.10
    assert (repo / "regsync.yaml").read_text() == render_regsync(sort_config(read_artifacts(path)))
    skipped = mirror(path, registries, "add-tag", "--images", "quay.io/library/busybox", "--tags", "3.10")
    assert skipped.returncode == 0 and "Found existing tag 3.10" in skipped.stderr
    assert numstat(repo)["config.yaml"] == (2, 0)


def test_target_name_picks_the_artifact_and_a_missing_one_names_the_candidates(repo: Path, registries: Path) -> None:
    path = repo / "config.yaml"
    result = mirror(path, registries, "add-tag", "--images", "quay.io/library/busybox", "--tags", "1.37.0",
                    "--target-name", "busybox-explicit")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(path.read_text())["Artifacts"][1]["Tags"] == ["1.36.0", "1.37.0"]
    assert yaml.safe_load(path.read_text())["Artifacts"][0]["Tags"] == ["1.36.0"]
    before = path.read_bytes()
    wrong = mirror(path, registries, "add-tag", "--images", "quay.io/library/busybox", "--tags", "3.10",
                   "--target-name", "nope")
    assert wrong.returncode == 1
    assert "no artifact has the target name nope; candidates:" in wrong.stderr
    assert "target name mirrored-library-busybox, the default" in wrong.stderr
    assert "target name busybox-explicit)" in wrong.stderr
    assert path.read_bytes() == before


def test_ambiguous_artifacts_and_a_source_without_one(tmp_path: Path, registries: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(COMMENTED.replace("  - 1.36.0   # the first one\n", "  - 1.36.0\n  TargetArtifactName: bb\n"))
    before = path.read_bytes()
    result = mirror(path, registries, "add-tag", "--images", "quay.io/library/busybox", "--tags", "1.37.0")
    assert result.returncode == 1
    assert "2 artifacts and none has the default target name; choose one with --target-name" in result.stderr
    assert "target name bb)" in result.stderr and "target name busybox-explicit)" in result.stderr
    missing = mirror(path, registries, "add-full-image", "--full-images", "quay.io/library/nginx:1.0")
    assert missing.returncode == 1
    assert "no artifact with this SourceArtifact" in missing.stderr
    assert path.read_bytes() == before


def test_add_full_image_goes_through_the_same_path(repo: Path, registries: Path) -> None:
    path = repo / "config.yaml"
    result = mirror(path, registries, "add-full-image", "--full-images", "quay.io/library/busybox:1.37.0")
    assert result.returncode == 0, result.stderr
    assert numstat(repo)["config.yaml"] == (1, 0)
    missing = mirror(path, registries, "add-full-image", "--full-images", "quay.io/library/busybox:9.9.9")
    assert missing.returncode == 1 and "Image quay.io/library/busybox:9.9.9 does not exist" in missing.stderr


def test_discover_apply_adds_to_the_artifact(repo: Path, registries: Path) -> None:
    path = repo / "config.yaml"
    config = repo / "config.json"
    config.write_text(json.dumps({"busybox": {"images": ["quay.io/library/busybox"], "versionSource": "registry",
                                              "versionFilter": "^1\\.3[67]\\.0$"}}))
    result = mirror(path, registries, "--config", str(config), "discover", "--apply")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"busybox": {"images": ["quay.io/library/busybox"], "tags": ["1.37.0"]}}
    assert numstat(repo)["config.yaml"] == (1, 0)
    assert yaml.safe_load(path.read_text())["Artifacts"][0]["Tags"] == ["1.36.0", "1.37.0"]


def test_twenty_concurrent_add_tag_processes_lose_and_duplicate_nothing(repo: Path, registries: Path) -> None:
    path = repo / "config.yaml"
    order = list(CONCURRENT_TAGS)
    random.Random(5).shuffle(order)
    writers = [
        subprocess.Popen([sys.executable, "-m", "mirror", "--images-list", str(path), "--registries", str(registries),
                          "--no-cache", "add-tag", "--images", "quay.io/library/busybox", "--tags", tag],
                         env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        for tag in order
    ]
    errors = [writer.communicate(timeout=300)[1].decode() for writer in writers]
    assert [writer.returncode for writer in writers] == [0] * WRITERS, errors
    tags = read_artifacts(path).artifacts[0].tags
    assert tags == ("1.0.0", "1.0.1", "1.0.10", "1.0.11", "1.0.12", "1.0.13", "1.0.14", "1.0.15", "1.0.16",
                    "1.0.17", "1.0.18", "1.0.19", "1.0.2", "1.0.3", "1.0.4", "1.0.5", "1.0.6", "1.0.7", "1.0.8",
                    "1.0.9", "1.36.0")
    assert numstat(repo)["config.yaml"] == (WRITERS, 0)
    assert (repo / "regsync.yaml").read_text() == render_regsync(sort_config(read_artifacts(path)))
    status = git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored")
    assert status == " M config.yaml\n M regsync.yaml\n"


# ---- check-new-images ---------------------------------------------------------------------------


def check(repo: Path, registries: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return mirror(repo / "config.yaml", registries, "check-new-images", "--base", "base", *extra)


def commit(repo: Path, text: str, message: str) -> None:
    (repo / "config.yaml").write_text(text)
    git(repo, "commit", "-q", "-am", message)


def test_new_tags_are_looked_up_and_do_not_mirror_tags_are_not(repo: Path, registries: Path) -> None:
    text = COMMENTED.replace("  - 1.36.0   # the first one\n", "  - 1.36.0   # the first one\n  - 1.37.0\n")
    text = text.replace('  - "2.0"\nRepositories', '  - "2.0"\n  - "3.0"\nRepositories').replace(
        'DoNotMirror:\n  - "2.0"', 'DoNotMirror:\n  - "2.0"\n  - "3.0"')
    commit(repo, text, "busybox 1.37.0, alpine 3.0 (not mirrored)")
    result = check(repo, registries)
    assert result.returncode == 0, result.stderr
    assert "2 new tag(s) since base" in result.stderr
    assert "source image quay.io/library/busybox:1.37.0: OK" in result.stderr
    assert "source image quay.io/library/alpine:3.0: not pulled (DoNotMirror)" in result.stderr
    assert "error" not in result.stderr

    commit(repo, text.replace("  - 1.37.0\n", "  - 1.37.0\n  - 9.9.9\n"), "a tag that does not exist")
    result = check(repo, registries)
    assert result.returncode == 1
    assert "error: source image quay.io/library/busybox:9.9.9: does not exist" in result.stderr


def test_a_new_artifact_needs_its_docker_hub_repository(repo: Path, registries: Path) -> None:
    text = COMMENTED.replace("Repositories:\n", "- SourceArtifact: quay.io/library/busybox\n  Tags:\n  - 2.0\n"
                             "  TargetArtifactName: busybox-new\nRepositories:\n")
    commit(repo, text, "a new artifact")
    result = check(repo, registries)
    assert result.returncode == 1
    assert ("error: target repository docker.io/rancher/busybox-new: does not exist; create it (writable by the "
            "mirroring account) before the first mirror") in result.stderr
    assert "source image quay.io/library/busybox:2.0: OK" in result.stderr


def test_a_cleanup_commit_passes_only_with_allow_removals(repo: Path, registries: Path) -> None:
    text = COMMENTED.replace("- DoNotMirror:\n  - \"2.0\"\n  SourceArtifact: quay.io/library/alpine\n  Tags:\n"
                             "  - \"2.0\"\n", "")
    text = text.replace("  Tags:\n  - 1.36.0\n  TargetArtifactName", "  Tags: []\n  TargetArtifactName")
    commit(repo, text, "clean up")
    refused = check(repo, registries)
    assert refused.returncode == 1
    assert "error: changed or removed since base: artifact quay.io/library/alpine (all 1 tag(s))" in refused.stderr
    allowed = check(repo, registries, "--allow-removals")
    assert allowed.returncode == 0, allowed.stderr
    assert "removed since base (allowed): artifact quay.io/library/alpine (all 1 tag(s))" in allowed.stderr
    assert ("removed since base (allowed): artifact quay.io/library/busybox (TargetArtifactName busybox-explicit): "
            "tag 1.36.0") in allowed.stderr
    assert "nothing new since base" in allowed.stderr
