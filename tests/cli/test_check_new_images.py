"""``image-mirror check-new-images --base REV`` on a real git repository, against real registries.

The destination is a made-up host, ``registry.example.com``, pointed at a fresh real
registry with a registries file; ``docker.io`` is pointed at the session's source registry
(busybox 1.36.0/1.36.1/1.37.0, alpine 3.20.0, flannel/flannel v0.25.1 exist).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.discover.helpers import cli_env, run_cli, write_registries
from tests.support.images import push_image
from tests.support.registry import RegistryServer
from tests.support.seed import SeededRegistry

DEST = "registry.example.com"
HEADER = "# Images to mirror.\n# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>\n"
BASE_ENTRIES = [
    f"busybox {DEST}/mirrored/busybox 1.36.0",
    f"flannel/flannel {DEST}/mirrored/flannel-flannel v0.25.1",
]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, env=cli_env(GIT_ENV), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


class Checkout:
    """A git repository whose ``base`` branch has BASE_ENTRIES; edit, commit, check."""

    def __init__(self, root: Path, registries: Path) -> None:
        self.root = root
        self.images_list = root / "images-list"
        self.registries = registries

    def write(self, entries: list[str]) -> None:
        self.images_list.write_text(HEADER + "".join(f"{line}\n" for line in entries))

    def commit(self, message: str) -> None:
        git(self.root, "add", "images-list")
        git(self.root, "commit", "-q", "--allow-empty", "-m", message)

    def check(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return run_cli(["--log-format", "plain", "--images-list", str(self.images_list), "--registries", str(self.registries), "--no-cache",
                        "check-new-images", "--base", "base", *extra], cwd=self.root)


@pytest.fixture
def destination(dest_registry: RegistryServer) -> RegistryServer:
    """The destination already has mirrored/busybox, mirrored/flannel-flannel and mirrored/alpine."""
    push_image(dest_registry.url, "mirrored/busybox", "1.36.0")
    push_image(dest_registry.url, "mirrored/flannel-flannel", "v0.25.1")
    push_image(dest_registry.url, "mirrored/alpine", "3.19.1")
    return dest_registry


@pytest.fixture
def checkout(tmp_path: Path, source_registry: SeededRegistry, destination: RegistryServer) -> Checkout:
    registries = write_registries(tmp_path / "registries.yaml", {
        "docker.io": {"endpoint": source_registry.url},
        DEST: {"endpoint": destination.url},
    })
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    repo = Checkout(root, registries)
    repo.write(BASE_ENTRIES)
    repo.commit("base images")
    git(root, "branch", "base")
    return repo


def test_new_lines_whose_repositories_and_images_exist_pass(checkout: Checkout) -> None:
    checkout.write([
        "alpine registry.example.com/mirrored/alpine 3.20.0",  # new target repo, exists
        *BASE_ENTRIES,
        "busybox registry.example.com/mirrored/busybox 1.37.0",  # known target repo
    ])
    checkout.commit("add alpine and busybox 1.37.0")
    result = checkout.check()
    assert result.returncode == 0, result.stderr
    assert "2 new line(s) since base" in result.stderr
    assert f"target repository {DEST}/mirrored/alpine: OK" in result.stderr
    assert "library/alpine:3.20.0: OK" in result.stderr
    assert "library/busybox:1.37.0: OK" in result.stderr
    assert "error" not in result.stderr
    assert result.stdout == ""


def test_a_new_target_repository_that_does_not_exist_fails(checkout: Checkout) -> None:
    checkout.write([
        "alpine registry.example.com/mirrored/alpine 3.20.0",  # exists
        *BASE_ENTRIES,
        "flannel/flannel registry.example.com/mirrored/flannel v0.25.1",  # repository missing
    ])
    checkout.commit("add alpine and a flannel mapping to a missing repository")
    result = checkout.check()
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [(f"error: target repository {DEST}/mirrored/flannel: does not exist; create it "
                       "(writable by the mirroring account) before the first mirror")]
    assert f"target repository {DEST}/mirrored/alpine: OK" in result.stderr
    assert "flannel/flannel:v0.25.1: OK" in result.stderr  # the source side is fine


def test_a_new_source_tag_that_does_not_exist_fails(checkout: Checkout) -> None:
    checkout.write([
        *BASE_ENTRIES,
        "busybox registry.example.com/mirrored/busybox 1.37.0",  # exists
        "busybox registry.example.com/mirrored/busybox 9.9.9",  # does not
    ])
    checkout.commit("add two busybox tags")
    result = checkout.check()
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "busybox:9.9.9: does not exist" in errors[0]
    assert "library/busybox:1.37.0: OK" in result.stderr


def test_a_changed_line_is_reported(checkout: Checkout) -> None:
    changed = [f"busybox {DEST}/mirrored/busybox 1.36.1", BASE_ENTRIES[1]]  # 1.36.0 -> 1.36.1
    checkout.write(changed)
    checkout.commit("change busybox's tag")
    result = checkout.check()
    assert result.returncode == 1, result.stderr
    assert f"changed or removed since base: '{BASE_ENTRIES[0]}'" in result.stderr
    assert "library/busybox:1.36.1: OK" in result.stderr  # the new line itself is fine


def test_a_removed_line_is_reported(checkout: Checkout) -> None:
    checkout.write(BASE_ENTRIES[:1])
    checkout.commit("remove flannel")
    result = checkout.check()
    assert result.returncode == 1, result.stderr
    assert f"changed or removed since base: '{BASE_ENTRIES[1]}'" in result.stderr


def test_a_removal_passes_with_allow_removals_and_is_named(checkout: Checkout) -> None:
    checkout.write(BASE_ENTRIES[:1])
    checkout.commit("remove flannel")
    result = checkout.check("--allow-removals")
    assert result.returncode == 0, result.stderr
    assert f"removed since base (allowed): '{BASE_ENTRIES[1]}'" in result.stderr
    assert "error" not in result.stderr


def test_nothing_new_exits_0(checkout: Checkout) -> None:
    result = checkout.check()
    assert result.returncode == 0, result.stderr
    assert "no new lines since base" in result.stderr
    # A comment is not a new line either.
    checkout.images_list.write_text(checkout.images_list.read_text() + "# a note\n")
    checkout.commit("a comment")
    result = checkout.check()
    assert result.returncode == 0, result.stderr
    assert "no new lines since base" in result.stderr


def test_an_unknown_base_is_bad_input(checkout: Checkout) -> None:
    result = run_cli(["--images-list", str(checkout.images_list), "--registries", str(checkout.registries),
                      "--no-cache", "check-new-images", "--base", "no-such-branch"], cwd=checkout.root)
    assert result.returncode == 2, result.stderr
    assert "no-such-branch" in result.stderr
