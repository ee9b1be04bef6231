"""Servers for the end-to-end discover tests: every version source against a real or faithful
upstream, all on loopback.

* the session's real source registry (``registry`` entries, and every HEAD of ``--apply``):
  ``docker.io`` and ``quay.io`` are pointed at it with a registries file;
* a fake GitHub (``tests/fakes/github.py``) in a background thread, populated here;
* a Helm chart repository (``helm-latest``) served by the test;
* a real registry holding a chart pushed with the real ``helm push`` (``helm-oci``);
* a chart directory (``helm-directory``).

Every image each chart and file names is written out here, so the expected JSON in the
tests is derived by hand, never from the code under test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub
from tests.support.charts import (
    ChartRepoServer,
    ChartSpec,
    deployment,
    find_helm,
    helm_push,
    package_chart,
    write_chart,
)
from tests.support.registry import RegistryServer, RegistryStartError
from tests.support.seed import SeededRegistry

from .helpers import serve_github, write_registries

GITHUB_TOKEN = "ghp_e2eT0ken0123456789abcdefABCDEFGHIJ"
IMAGES_FILE = "deploy/longhorn-images.txt"
MISSING_REPO = "acme/does-not-exist"

DIGEST = "sha256:" + "ab" * 32

# -- what the charts render ------------------------------------------------------------------

#: helm-latest: chart "webapp" in the chart repository. 2.0.0 is the newest release
#: (2.1.0-beta.1 is a pre-release and 1.0.0 is older).
WEBAPP_IMAGES = {
    "1.0.0": ["ghcr.io/example/webapp:1.0.0"],
    "2.0.0": [
        "ghcr.io/example/webapp:2.0.0",  # new
        f"docker.io/library/busybox:1.36.1@{DIGEST}",  # -> library/busybox:1.36.1 (no @digest, no docker.io/)
        "rancher/mirrored-webapp-helper:v1",  # our own: skipped
        "example.org/webapp/cache:latest",  # latest: dropped
        "quay.io/calico/node:v3.28.0",  # already in images-list: left out
    ],
    "2.1.0-beta.1": ["ghcr.io/example/webapp:2.1.0-beta.1"],
}
#: values.yaml of every webapp version names one more image (registry + repository + tag).
WEBAPP_VALUES_IMAGE = "ghcr.io/example/webapp-init"

#: helm-oci: chart "ocichart" pushed with helm to charts/ocichart; 0.2.0 is the newest.
OCI_IMAGES = {
    "0.1.0": ["ghcr.io/example/oci-app:0.1.0"],
    "0.2.0": [
        "ghcr.io/example/oci-app:0.2.0",  # new
        "docker.io/flannel/flannel:v0.25.1",  # already in images-list: left out
    ],
}

#: helm-directory: the chart directory <dir>/localchart as it is.
DIRECTORY_IMAGES = [
    "registry.k8s.io/pause:3.10",  # new
    "docker.io/rancher/shell:v0.2.1",  # rancher/ after docker.io/ is stripped: skipped
]

#: github-tagged-images-file: longhorn/longhorn's images file at each release tag.
LONGHORN_RELEASES = [("v1.6.0", False), ("v1.7.0", False), ("v1.7.1", False), ("v1.8.0-rc.1", True)]
LONGHORN_FILES = {
    "v1.6.0": "longhornio/longhorn-manager:v1.6.0\n",  # below the entry's constraint
    "v1.7.0": """# Longhorn images for v1.7.0
longhornio/longhorn-manager:v1.7.0
longhornio/longhorn-engine:v1.7.0
docker.io/library/alpine:3.20.0
docker.io/flannel/flannel:v0.25.1
rancher/mirrored-longhornio-ui:v1.7.0
""",
    "v1.7.1": """longhornio/longhorn-manager:v1.7.1
longhornio/longhorn-engine:v1.7.1
longhornio/csi-attacher:v4.6.1
longhornio/support-bundle-kit:latest
""",
    "v1.8.0-rc.1": "longhornio/longhorn-manager:v1.8.0-rc.1\n",  # a pre-release
}


def _chart(name: str, version: str, images: list[str], values: dict[str, object] | None = None) -> ChartSpec:
    return ChartSpec(name=name, version=version, templates={"deployment.yaml": deployment(name, images)},
                     values=values or {})


def webapp_chart(version: str) -> ChartSpec:
    values = {"image": {"registry": "ghcr.io", "repository": "example/webapp-init", "tag": version}}
    return _chart("webapp", version, WEBAPP_IMAGES[version], values)


def populate_github(gh: FakeGitHub) -> None:
    calico = gh.add_repo("projectcalico/calico")
    for tag, draft, pre in [("v3.27.0", False, False), ("v3.28.0", False, False), ("v3.29.0", False, False),
                            ("v3.30.0-0.dev", False, True), ("v3.31.0", True, False)]:
        calico.add_release(tag, draft=draft, prerelease=pre)
    flannel = gh.add_repo("flannel-io/flannel")
    flannel.add_release("v0.25.0")
    flannel.add_release("v0.25.1")
    longhorn = gh.add_repo("longhorn/longhorn")
    for tag, pre in LONGHORN_RELEASES:
        longhorn.add_release(tag, prerelease=pre)
        longhorn.add_file(tag, IMAGES_FILE, LONGHORN_FILES[tag])


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_github() -> Iterator[FakeGitHub]:
    """The fake GitHub, serving from a background thread (the CLI runs in the foreground)."""
    with serve_github(GITHUB_TOKEN, populate_github) as gh:
        yield gh


@pytest.fixture(scope="module")
def chart_repository() -> Iterator[ChartRepoServer]:
    with ChartRepoServer() as repo:
        for version in WEBAPP_IMAGES:
            repo.add(webapp_chart(version), url="absolute" if version == "2.0.0" else "relative")
        yield repo


@pytest.fixture(scope="module")
def oci_chart_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A real registry with charts/ocichart pushed by the real helm."""
    find_helm()
    try:
        server = RegistryServer().start()
    except RegistryStartError as err:
        pytest.fail(str(err), pytrace=False)
    try:
        work = tmp_path_factory.mktemp("oci-charts")
        for version, images in OCI_IMAGES.items():
            archive = work / f"ocichart-{version}.tgz"
            archive.write_bytes(package_chart(_chart("ocichart", version, images)))
            helm_push(archive, f"oci://{server.host}/charts", work / "helm-home")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chart_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chart-dir")
    write_chart(_chart("localchart", "0.0.1", DIRECTORY_IMAGES), root)
    return root


@dataclass
class Upstreams:
    source: SeededRegistry
    github: FakeGitHub
    charts: ChartRepoServer
    oci: RegistryServer
    chart_dir: Path

    def env(self) -> dict[str, str]:
        return {"GITHUB_API_URL": self.github.url, "GITHUB_TOKEN": GITHUB_TOKEN}


@pytest.fixture
def upstreams(
    source_registry: SeededRegistry,
    fake_github: FakeGitHub,
    chart_repository: ChartRepoServer,
    oci_chart_registry: RegistryServer,
    chart_directory: Path,
) -> Upstreams:
    return Upstreams(source_registry, fake_github, chart_repository, oci_chart_registry, chart_directory)


# -- the workspace a user would have -----------------------------------------------------------

IMAGES_LIST_HEADER = "# Images to mirror.\n# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>\n"
IMAGES_LIST_ENTRIES = [
    "alpine rancher/mirrored-library-alpine 3.19.1",
    "busybox rancher/mirrored-library-busybox 1.36.0",
    "flannel/flannel rancher/mirrored-flannel-flannel v0.25.1",
    "quay.io/calico/node rancher/mirrored-calico-node v3.28.0",
]


def full_config(up: Upstreams) -> dict[str, object]:
    """One entry of each of the seven source kinds."""
    return {
        "busybox": {
            "images": ["busybox", "rancher/mirrored-library-busybox"],
            "versionSource": "registry",
            "versionFilter": r"^1\.3[6-9]\.",
        },
        "calico": {
            "images": ["quay.io/calico/node", "rancher/mirrored-calico-node"],
            "versionSource": "github-releases:projectcalico/calico",
            "versionConstraint": ">=3.28.0",
        },
        "flannel": {
            "images": ["flannel/flannel"],
            "versionSource": "github-latest-release:flannel-io/flannel",
        },
        "longhorn": {
            "versionSource": "github-tagged-images-file:longhorn/longhorn",
            "imagesFilePath": IMAGES_FILE,
            "versionConstraint": ">=1.7.0",
            "imageDenylist": ["docker.io/longhornio/csi-attacher"],
        },
        "webapp": {
            "versionSource": f"helm-latest:{up.charts.url}",
            "helmCharts": {"webapp": {}},
        },
        "ocichart": {
            "versionSource": "helm-oci",
            "helmCharts": {f"oci://{up.oci.host}/charts/ocichart": {}},
        },
        "localchart": {
            "versionSource": f"helm-directory:{up.chart_dir}",
            "helmCharts": {"localchart": {}},
        },
    }


@dataclass
class Workspace:
    root: Path
    images_list: Path
    config: Path
    registries: Path

    def args(self, *extra: str) -> list[str]:
        return ["--images-list", str(self.images_list), "--config", str(self.config),
                "--registries", str(self.registries), "--no-cache", *extra]

    def write_config(self, config: dict[str, object]) -> None:
        self.config.write_text(json.dumps(config, indent=2))


@pytest.fixture
def workspace(tmp_path: Path, upstreams: Upstreams) -> Workspace:
    images_list = tmp_path / "images-list"
    images_list.write_text(IMAGES_LIST_HEADER + "".join(f"{line}\n" for line in IMAGES_LIST_ENTRIES))
    config = tmp_path / "config.json"
    config.write_text(json.dumps(full_config(upstreams), indent=2))
    registries = write_registries(tmp_path / "registries.yaml", {
        "docker.io": {"endpoint": upstreams.source.url},
        "quay.io": {"endpoint": upstreams.source.url},
    })
    return Workspace(tmp_path, images_list, config, registries)
