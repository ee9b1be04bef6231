"""``discover --open-prs --config autoupdate.yaml`` against a config.yaml in the repository: a real
process, the fake GitHub's releases, Git Data and pull requests. Written out by hand:

* ``flannel`` (GithubRelease flannel-io/flannel): v0.28.1 is new for flannel/flannel (v0.25.1 is
  listed) — Rancher's merged branch ``autoupdate/flannel/y6tfnqz4``; reviewers a team and a user;
* ``traefik`` (GithubRelease, ``VersionRegex: ^v(.*)``): 2.11.36 for ``library/traefik`` as the
  file spells it — ``autoupdate/traefik/4jygecoo`` (the normalised spelling would give ``eqcv7arh``);
* ``coredns`` (GithubRelease): 1.12.0 for coredns/coredns (listed), and 1.11.1 and 1.12.0 for a
  named artifact config.yaml lacks yet: two artifacts, two commits (the named one sorts first and
  is created on the default targets).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mirror.lists import parse_artifacts
from tests.fakes.github import FakeGitHub, FakeRepo
from tests.integration.discover.helpers import LoopThread, run_cli

from .conftest import REPO, TOKEN, plans

AUTOUPDATE = """\
- Name: flannel
  Reviewers: [rancher/k3s-networking, alice]
  GithubRelease:
    Owner: flannel-io
    Repository: flannel
    Artifacts:
    - SourceArtifact: flannel/flannel
- Name: traefik
  Reviewers: [rancher/k3s]
  GithubRelease:
    Owner: traefik
    Repository: traefik
    VersionRegex: ^v(.*)
    Artifacts:
    - SourceArtifact: library/traefik
- Name: coredns
  Reviewers: [alice]
  GithubRelease:
    Owner: coredns
    Repository: coredns
    VersionRegex: ^v(.*)
    Artifacts:
    - SourceArtifact: coredns/coredns
    - SourceArtifact: coredns/coredns
      TargetArtifactName: coredns-fips
"""

CONFIG_YAML = """\
Artifacts:
- SourceArtifact: coredns/coredns
  Tags:
  - 1.11.1
- SourceArtifact: flannel/flannel
  Tags:
  - v0.25.1  # the oldest we still ship
  - v0.29.0
- SourceArtifact: library/traefik
  Tags: [2.11.0]
Repositories:
- BaseUrl: docker.io/rancher
  DefaultTarget: true
  Registry: docker.io
"""

FLANNEL = "autoupdate/flannel/y6tfnqz4"
TRAEFIK = "autoupdate/traefik/4jygecoo"


@dataclass
class Repo:
    root: Path
    github: FakeGitHub
    repo: FakeRepo

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        args = ["--list", "config.yaml", "--config", "autoupdate.yaml", "--no-cache", "--log-format", "json",
                "discover", "--open-prs", *extra]
        env = {"GITHUB_API_URL": self.github.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}
        return run_cli(args, env=env, cwd=self.root)

    def commits(self, branch: str) -> list[tuple[str, str]]:
        """(message, config.yaml text) of each commit on ``branch`` after main, oldest first."""
        git = self.repo.git
        sha, base, found = git.refs[f"refs/heads/{branch}"], git.refs["refs/heads/main"], []
        while sha != base:
            commit = git.objects[sha][1]
            found.append((commit["message"], git.files(sha)["config.yaml"].decode()))
            (sha,) = commit["parents"]
        return found[::-1]


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    with LoopThread() as thread:
        gh = FakeGitHub(tokens={TOKEN})
        repo = gh.add_repo(REPO)
        repo.git.commit_files("main", {"config.yaml": CONFIG_YAML, "autoupdate.yaml": AUTOUPDATE})
        repo.git.collaborators.add("alice")
        repo.git.teams.update({"k3s-networking", "k3s"})
        for name, tags in [("flannel-io/flannel", ["v0.25.1", "v0.28.1"]), ("traefik/traefik", ["v2.11.36"]),
                           ("coredns/coredns", ["v1.11.1", "v1.12.0"])]:
            upstream = gh.add_repo(name)
            for tag in tags:
                upstream.add_release(tag)
        thread.call(gh.start())
        try:
            (tmp_path / "config.yaml").write_text(CONFIG_YAML)
            (tmp_path / "autoupdate.yaml").write_text(AUTOUPDATE)
            yield Repo(tmp_path, gh, repo)
        finally:
            thread.call(gh.close())


def test_each_entry_gets_rancher_s_branch_one_commit_per_artifact_and_its_reviewers(repo: Repo) -> None:
    result = repo.run("--label", "autoupdate")
    assert result.returncode == 0, result.stderr
    found = plans(result.stdout)
    assert [(p["entry"], p["branch"], p["commits"], p["reviewers"], p["skip"]) for p in found] == [
        ("flannel", FLANNEL, ["Add tag(s) v0.28.1 for flannel/flannel"], ["rancher/k3s-networking", "alice"], None),
        ("traefik", TRAEFIK, ["Add tag(s) 2.11.36 for library/traefik"], ["rancher/k3s"], None),
        ("coredns", found[2]["branch"], ["Add tag(s) 1.11.1, 1.12.0 for coredns/coredns",
                                          "Add tag(s) 1.12.0 for coredns/coredns"], ["alice"], None),
    ]
    assert found[2]["branch"].startswith("autoupdate/coredns/")

    # The config.yaml at the commit validates and gains only the new tag line.
    ((message, text),) = repo.commits(FLANNEL)
    parse_artifacts(text)
    assert text == CONFIG_YAML.replace("  - v0.29.0\n", "  - v0.28.1\n  - v0.29.0\n")
    ((_, text),) = repo.commits(TRAEFIK)
    assert text == CONFIG_YAML.replace("[2.11.0]", "[2.11.0, 2.11.36]")
    first, second = (text for _, text in repo.commits(found[2]["branch"]))
    assert first == CONFIG_YAML.replace("Repositories:", "- SourceArtifact: coredns/coredns\n  Tags:\n  - 1.11.1\n"
                                        "  - 1.12.0\n  TargetArtifactName: coredns-fips\nRepositories:")
    assert second == first.replace("  - 1.11.1\n", "  - 1.11.1\n  - 1.12.0\n", 1)
    assert ("coredns/coredns", "coredns-fips") in {(a.source, a.name) for a in parse_artifacts(second).artifacts}

    pulls = {pull.head: pull for pull in repo.repo.git.pulls}
    assert set(pulls) == {p["branch"] for p in found}
    flannel = pulls[FLANNEL]
    assert (flannel.title, flannel.labels, flannel.state) == ("[image-mirror] Add 1 tag(s) for flannel",
                                                             ["autoupdate"], "open")
    assert (flannel.teams, flannel.reviewers) == (["k3s-networking"], ["alice"])
    assert pulls[TRAEFIK].teams == ["k3s"]
    assert repo.repo.git.files(repo.repo.git.refs["refs/heads/main"])["config.yaml"].decode() == CONFIG_YAML
    assert (repo.root / "config.yaml").read_text() == CONFIG_YAML


def test_a_second_run_opens_nothing(repo: Repo) -> None:
    assert repo.run().returncode == 0
    writes = len(repo.github.writes)
    repo.repo.git.close_pull(2)  # closed unmerged: not reopened either
    second = repo.run()
    assert second.returncode == 0, second.stderr
    assert [p["skip"] for p in plans(second.stdout)] == [
        "pull request #1 (open) exists for this branch", "pull request #2 (closed) exists for this branch",
        "pull request #3 (open) exists for this branch"]
    assert len(repo.github.writes) == writes and len(repo.repo.git.pulls) == 3


def test_dry_run_writes_nothing_and_an_images_list_is_refused(repo: Repo) -> None:
    dry = repo.run("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert [p["branch"] for p in plans(dry.stdout)][:2] == [FLANNEL, TRAEFIK]
    assert repo.github.writes == []
    repo.repo.git.commit_files("main", {"config.yaml": "alpine rancher/mirrored-library-alpine 3.19.1\n"})
    refused = repo.run("--dry-run")
    assert refused.returncode == 2
    assert "needs Rancher's config.yaml" in refused.stderr and json.dumps(refused.stdout) == '""'
