"""``image-mirror discover --config autoupdate.yaml`` end to end: one real process per run.

Upstreams: the fake GitHub (releases with draft and pre-release flags, ``/releases/latest``),
a chart repository served here and rendered by the real helm, and the session's real
``docker-registry`` (``docker.io`` and ``quay.io`` point at it). "New" is per config.yaml
artifact (source + effective name), so the list is a small Rancher config.yaml. The expected
JSON is written out by hand from the data below:

* ``coredns`` (GithubRelease, ``VersionRegex: ^v(.*)``): v1.11.1 becomes ``1.11.1``; 1.11.0 is
  listed; the draft and the pre-release are skipped; ``nightly`` does not match.
* ``calico`` (GithubRelease, ``LatestOnly``): GitHub's latest is v3.29.0 (the newer v3.30.0-0.dev
  is a pre-release); calico/cni has it already, kube-controllers does not.
* ``calico-node`` (Registry, ``Latest``): the highest of v3.28.0/v3.29.0, spelled ``v3.29.0``.
* ``busybox`` (Registry, ``VersionFilter``, ``TargetArtifactName: mirrored-busybox``): the
  named artifact has 1.36.0 only; the default-named busybox artifact has every tag, which
  must not hide what the named one lacks.
* ``webapp`` (HelmLatest): chart 2.0.0 (2.1.0-beta.1 is a pre-release), rendered in two
  environments; ``extra`` adds webapp-extra (a non-default name); the debug image is
  denylisted; busybox 1.36.1 (digest and docker.io/ cut) is listed already.
* ``webapp-unmapped``: the same chart without the denylist: the debug image maps to no
  artifact, so the entry fails (exit 1) and is left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub
from tests.support.charts import ChartRepoServer, ChartSpec, find_helm
from tests.support.seed import SeededRegistry

from .helpers import json_records, run_cli, serve_github, write_registries

TOKEN = "ghp_autoupdateT0ken0123456789abcdefABCD"
DIGEST = "sha256:" + "cd" * 32

#: webapp's template: two images always, one only with extra.enabled, one denylisted,
#: and two keys that are not exactly ``image`` (Rancher's rule: not searched).
TEMPLATE = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{{ .Release.Name }}}}-webapp
spec:
  template:
    spec:
      containers:
        - name: app
          image: "ghcr.io/example/webapp:{{{{ .Chart.Version }}}}"
        - name: tools
          image: "docker.io/library/busybox:1.36.1@{DIGEST}"
        - name: debug
          image: "ghcr.io/example/debug:1.0"
{{{{- if .Values.extra.enabled }}}}
        - name: extra
          image: "ghcr.io/example/webapp-extra:{{{{ .Chart.Version }}}}"
{{{{- end }}}}
      sidecarImage: "ghcr.io/example/not-an-image-key:1.0"
"""


def webapp(version: str) -> ChartSpec:
    return ChartSpec("webapp", version, templates={"deployment.yaml": TEMPLATE}, values={"extra": {"enabled": False}})


AUTOUPDATE = """\
- Name: coredns
  Reviewers: [rancher/k3s-networking]
  GithubRelease:
    Owner: coredns
    Repository: coredns
    VersionRegex: ^v(.*)
    Artifacts:
    - SourceArtifact: coredns/coredns
- Name: calico
  Reviewers: [someone]
  GithubRelease:
    Owner: projectcalico
    Repository: calico
    LatestOnly: true
    Artifacts:
    - SourceArtifact: quay.io/calico/cni
    - SourceArtifact: quay.io/calico/kube-controllers
- Name: calico-node
  Reviewers: [someone]
  Registry:
    Latest: true
    Artifacts:
    - SourceArtifact: quay.io/calico/node
- Name: busybox
  Reviewers: [someone]
  Registry:
    VersionFilter: ^1\\.3[6-9]\\.
    Artifacts:
    - SourceArtifact: docker.io/library/busybox
      TargetArtifactName: mirrored-busybox
- Name: webapp
  Reviewers: [rancher/webapp-team]
  HelmLatest:
    HelmRepo: {charts}
    Charts:
      webapp:
        default: []
        extra:
        - extra.enabled=true
    Artifacts:
    - SourceArtifact: ghcr.io/example/webapp
    - SourceArtifact: ghcr.io/example/webapp-extra
      TargetArtifactName: webapp-extra-mirror
    - SourceArtifact: docker.io/library/busybox
    ImageDenylist:
    - ghcr.io/example/debug
- Name: webapp-unmapped
  Reviewers: [someone]
  HelmLatest:
    HelmRepo: {charts}
    Charts:
      webapp:
        default: []
    Artifacts:
    - SourceArtifact: ghcr.io/example/webapp
    - SourceArtifact: docker.io/library/busybox
"""

CONFIG_YAML = """\
Artifacts:
- SourceArtifact: coredns/coredns
  Tags:
  - 1.11.0
- SourceArtifact: quay.io/calico/cni
  Tags:
  - v3.29.0
- SourceArtifact: quay.io/calico/node
  Tags:
  - v3.28.0
- SourceArtifact: library/busybox
  Tags:
  - 1.36.0
  - 1.36.1
  - 1.37.0
- SourceArtifact: library/busybox
  TargetArtifactName: mirrored-busybox
  Tags:
  - 1.36.0
- SourceArtifact: ghcr.io/example/webapp
  Tags:
  - 1.0.0
Repositories:
- BaseUrl: docker.io/rancher
  DefaultTarget: true
  Registry: docker.io
"""

EXPECTED = {
    "coredns": {"images": ["coredns/coredns"], "tags": ["1.11.1"]},
    "calico": {"images": ["quay.io/calico/kube-controllers"], "tags": ["v3.29.0"]},
    "calico-node": {"images": ["quay.io/calico/node"], "tags": ["v3.29.0"]},
    "busybox": {
        "images": ["docker.io/library/busybox"],
        "tags": ["1.36.1", "1.37.0"],
        "target_names": {"docker.io/library/busybox": "mirrored-busybox"},
    },
    "webapp": {
        "full_images": ["ghcr.io/example/webapp-extra:2.0.0", "ghcr.io/example/webapp:2.0.0"],
        "target_names": {"ghcr.io/example/webapp-extra": "webapp-extra-mirror"},
    },
}


def populate(gh: FakeGitHub) -> None:
    coredns = gh.add_repo("coredns/coredns")
    for tag, draft, pre in [("v1.11.0", False, False), ("v1.11.1", False, False), ("nightly", False, False),
                            ("v1.12.0-rc.1", False, True), ("v1.12.0", True, False)]:
        coredns.add_release(tag, draft=draft, prerelease=pre)
    calico = gh.add_repo("projectcalico/calico")
    for tag, pre in [("v3.28.0", False), ("v3.29.0", False), ("v3.30.0-0.dev", True)]:
        calico.add_release(tag, prerelease=pre)


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    with serve_github(TOKEN, populate) as gh:
        yield gh


@pytest.fixture(scope="module")
def charts() -> Iterator[ChartRepoServer]:
    find_helm()
    with ChartRepoServer() as repo:
        for version in ("1.0.0", "2.0.0", "2.1.0-beta.1"):
            repo.add(webapp(version))
        yield repo


@pytest.fixture
def workspace(tmp_path: Path, source_registry: SeededRegistry, charts: ChartRepoServer) -> Path:
    (tmp_path / "autoupdate.yaml").write_text(AUTOUPDATE.format(charts=charts.url))
    (tmp_path / "config.yaml").write_text(CONFIG_YAML)
    write_registries(tmp_path / "registries.yaml", {
        "docker.io": {"endpoint": source_registry.url},
        "quay.io": {"endpoint": source_registry.url},
    })
    return tmp_path


def discover(root: Path, github: FakeGitHub, *extra: str) -> tuple[int, str, str]:
    args = ["--config", str(root / "autoupdate.yaml"), "--list", str(root / "config.yaml"),
            "--registries", str(root / "registries.yaml"), "--no-cache", "--log-format", "json", "discover", *extra]
    done = run_cli(args, env={"GITHUB_API_URL": github.url, "GITHUB_TOKEN": TOKEN})
    return done.returncode, done.stdout, done.stderr


def test_every_strategy_against_config_yaml(workspace: Path, github: FakeGitHub) -> None:
    code, stdout, stderr = discover(workspace, github)
    assert code == 1, stderr  # webapp-unmapped failed; the others completed
    assert json.loads(stdout) == EXPECTED
    assert list(json.loads(stdout)) == list(EXPECTED)  # file order
    failed = [r for r in json_records(stderr) if r["event"] == "discover.entry.failed"]
    assert [r["entry"] for r in failed] == ["webapp-unmapped"]
    assert failed[0]["error"].startswith("chart image 'ghcr.io/example/debug:1.0' maps to no artifact")
    assert "entry 'webapp-unmapped' (HelmLatest:" in stderr
    done = {r["entry"]: r for r in json_records(stderr) if r["event"] == "discover.entry.done"}
    assert set(done) == set(EXPECTED)
    assert done["busybox"]["target_names"] == {"docker.io/library/busybox": "mirrored-busybox"}
    # LatestOnly asked GitHub for its latest release only: no listing of calico's releases.
    paths = [r.path for r in github.requests]
    assert "/repos/projectcalico/calico/releases/latest" in paths
    assert "/repos/projectcalico/calico/releases" not in paths
    assert "/repos/coredns/coredns/releases" in paths
    # config.yaml is read, never written, by discover.
    assert (workspace / "config.yaml").read_text() == CONFIG_YAML


def test_apply_adds_each_tag_to_its_artifact_and_creates_the_missing_ones(
    workspace: Path, github: FakeGitHub
) -> None:
    from mirror.lists import read_artifacts

    before = {(a.source, a.name): a.tags for a in read_artifacts(workspace / "config.yaml").artifacts}
    code, _, stderr = discover(workspace, github, "--apply")
    assert code == 1, stderr  # webapp-unmapped fails; the others are applied
    after = {(a.source, a.name): a.tags for a in read_artifacts(workspace / "config.yaml").artifacts}
    changed = {key: tuple(t for t in tags if t not in before.get(key, ())) for key, tags in after.items()}
    assert {key: tags for key, tags in changed.items() if tags} == {
        ("coredns/coredns", "mirrored-coredns-coredns"): ("1.11.1",),
        ("quay.io/calico/node", "mirrored-calico-node"): ("v3.29.0",),
        # the artifact with the non-default TargetArtifactName, not the default-named busybox
        ("library/busybox", "mirrored-busybox"): ("1.36.1", "1.37.0"),
        ("ghcr.io/example/webapp", "mirrored-example-webapp"): ("2.0.0",),
        # not in config.yaml yet: created on the default targets (autoupdate.yaml is the approval)
        ("quay.io/calico/kube-controllers", "mirrored-calico-kube-controllers"): ("v3.29.0",),
        ("ghcr.io/example/webapp-extra", "webapp-extra-mirror"): ("2.0.0",),
    }
    # Additions only: every line of the file as written is still there, in order.
    text = (workspace / "config.yaml").read_text().split("\n")
    kept = iter(text)
    assert all(line in kept for line in CONFIG_YAML.split("\n"))
    assert "added 7 tag(s), 2 new artifact(s)" in stderr
    # A second run finds nothing new for the applied entries and writes nothing.
    applied = (workspace / "config.yaml").read_text()
    code, stdout, _ = discover(workspace, github, "--apply")
    assert (workspace / "config.yaml").read_text() == applied
    assert all(not entry.get("tags") and not entry.get("full_images") for entry in json.loads(stdout).values())


def test_an_images_list_is_refused(workspace: Path, github: FakeGitHub) -> None:
    (workspace / "config.yaml").write_text("flannel/flannel rancher/mirrored-flannel-flannel v0.25.1\n")
    code, stdout, stderr = discover(workspace, github)
    assert code == 2
    assert stdout == ""
    assert "needs Rancher's config.yaml (Repositories and Artifacts) as --images-list/--list" in stderr
