"""A repository on the fake GitHub that holds an images-list, a config.json discovering against
the session's real registry and the fake's releases, and a helper to run ``discover --open-prs``.

What discovery finds is written out here by hand (from tests.support.seed and the releases
below), so the tests compare with literal expectations:

* ``busybox`` (registry): 1.36.1 and 1.37.0 are new (1.36.0 is listed);
* ``calico`` (github-releases, >=3.28.0): v3.29.0 is new; labels and reviewers of its own;
* ``bundle`` (github-tagged-images-file): alpine 3.20.0 and flannel v0.25.1 from the file at
  v1.0.0 — flannel v0.25.1 is listed, so one image (alpine) — and busybox 1.37.0: two images,
  two commits.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mirror import imageslist
from tests.fakes.github import FakeGitHub, FakeRepo
from tests.integration.discover.helpers import LoopThread, run_cli, write_registries
from tests.support.seed import SeededRegistry

TOKEN = "ghp_prsT0ken0123456789abcdefABCDEFGHIJKL"
READ_ONLY = "ghs_readOnly0123456789abcdefABCDEFGHIJ"
REPO = "acme/mirror"

BASE_LIST = """# Images to mirror.
# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>
alpine rancher/mirrored-library-alpine 3.19.1
busybox rancher/mirrored-library-busybox 1.36.0
flannel/flannel rancher/mirrored-flannel-flannel v0.25.1
quay.io/calico/node rancher/mirrored-calico-node v3.28.0
"""

BUNDLE_FILE = "docker.io/library/alpine:3.20.0\nflannel/flannel:v0.25.1\nbusybox:1.37.0\n"

CONFIG: dict[str, Any] = {
    "busybox": {"images": ["busybox"], "versionSource": "registry", "versionFilter": r"^1\.3[6-9]\."},
    "calico": {
        "images": ["quay.io/calico/node"],
        "versionSource": "github-releases:projectcalico/calico",
        "versionConstraint": ">=3.28.0",
        "labels": ["networking"],
        "reviewers": ["alice", "acme/net"],
    },
    "bundle": {"versionSource": "github-tagged-images-file:acme/bundle", "imagesFilePath": "images.txt"},
}


@dataclass
class Setup:
    root: Path
    github: FakeGitHub
    repo: FakeRepo
    thread: LoopThread

    def run(self, *extra: str, token: str = TOKEN, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        args = ["--images-list", "images-list", "--config", "config.json", "--registries", "registries.yaml",
                "--no-cache", "--log-format", "json", "discover", "--open-prs", *extra]
        full_env = {"GITHUB_API_URL": self.github.url, "GITHUB_TOKEN": token, "GITHUB_REPOSITORY": REPO}
        return run_cli(args, env={**full_env, **(env or {})}, cwd=self.root)

    def write_config(self, config: dict[str, Any]) -> None:
        (self.root / "config.json").write_text(json.dumps(config, indent=2))

    @property
    def base_commit(self) -> str:
        return self.repo.git.refs["refs/heads/main"]

    def branches(self) -> set[str]:
        return {name.removeprefix("refs/heads/") for name in self.repo.git.refs} - {"main"}

    def commits(self, branch: str) -> list[tuple[str, str]]:
        """(message, images-list text) of each commit on ``branch`` after main, oldest first."""
        git = self.repo.git
        sha = git.refs[f"refs/heads/{branch}"]
        found = []
        while sha != self.base_commit:
            commit = git.objects[sha][1]
            found.append((commit["message"], git.files(sha)["images-list"].decode()))
            (sha,) = commit["parents"]
        return found[::-1]


def plans(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def valid_and_sorted(text: str) -> imageslist.ImagesList:
    current = imageslist.parse(text)  # strict: any bad line raises
    assert current.is_sorted()
    return current


@pytest.fixture
def setup(tmp_path: Path, source_registry: SeededRegistry) -> Iterator[Setup]:
    with LoopThread() as thread:
        gh = FakeGitHub(tokens={TOKEN}, read_only_tokens={READ_ONLY})
        repo = gh.add_repo(REPO)
        repo.git.commit_files("main", {"images-list": BASE_LIST, "config.json": json.dumps(CONFIG)})
        repo.git.collaborators.add("alice")
        repo.git.teams.add("net")
        calico = gh.add_repo("projectcalico/calico")
        for tag in ("v3.27.0", "v3.28.0", "v3.29.0"):
            calico.add_release(tag)
        bundle = gh.add_repo("acme/bundle")
        bundle.add_release("v1.0.0")
        bundle.add_file("v1.0.0", "images.txt", BUNDLE_FILE)
        thread.call(gh.start())
        try:
            (tmp_path / "images-list").write_text(BASE_LIST)
            write_registries(tmp_path / "registries.yaml", {"docker.io": {"endpoint": source_registry.url},
                                                            "quay.io": {"endpoint": source_registry.url}})
            result = Setup(tmp_path, gh, repo, thread)
            result.write_config(CONFIG)
            yield result
        finally:
            thread.call(gh.close())
