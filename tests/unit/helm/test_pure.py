"""Pure parts of the Helm sources: version choice, index parsing, image extraction, OCI refs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pytest

from mirror.errors import HelmError
from mirror.helm import (
    CHART_CONFIG_MEDIA_TYPE,
    CHART_LAYER_MEDIA_TYPE,
    chart_url,
    images_from_manifests,
    images_from_values,
    join_image,
    oci_chart_ref,
    oci_chart_versions,
    parse_index,
    pull_oci_chart,
    select_version,
)
from mirror.ref import ImageRef

VERSIONS = ["1.0.0", "1.1.0", "1.2.0-rc.1", "v1.0.5", "0.9.0", "not-a-version", "latest"]


@pytest.mark.parametrize(
    ("devel", "constraint", "expected"),
    [
        (False, None, "1.1.0"),
        (True, None, "1.2.0-rc.1"),
        (False, "v1.0.*", "v1.0.5"),
        (False, "1.0.0", "1.0.0"),
        (False, "~0.9", "0.9.0"),
        (False, ">=1.0.0 <1.1.0", "v1.0.5"),
        (False, "^2", None),
        # A constraint decides alone, as helm's --version does (--devel yields to it):
        (False, ">=1.2.0-rc.0", "1.2.0-rc.1"),
        (True, ">=1.2.0-rc.0", "1.2.0-rc.1"),
        (True, "v1.2.*", None),
        (True, "v1.*", "1.1.0"),
    ],
)
def test_select_version(devel: bool, constraint: str | None, expected: str | None) -> None:
    assert select_version(VERSIONS, devel=devel, constraint=constraint) == expected


def test_select_version_with_only_prereleases_needs_devel() -> None:
    assert select_version(["2.0.0-beta.1"]) is None
    assert select_version(["2.0.0-beta.1"], devel=True) == "2.0.0-beta.1"


def test_parse_index_skips_malformed_versions() -> None:
    data = b"""
apiVersion: v1
entries:
  demo:
    - {version: 1.0.0, urls: [charts/demo-1.0.0.tgz]}
    - {version: 1.1, urls: ["https://example.org/demo-1.1.tgz"]}
    - {version: 2.0.0}
    - just-a-string
  other: []
"""
    index = parse_index(data)
    assert [v.version for v in index["demo"]] == ["1.0.0", "1.1"]
    assert index["demo"][0].urls == ("charts/demo-1.0.0.tgz",)
    assert index["other"] == []


@pytest.mark.parametrize("data", [b"entries: [", b"- a list\n", b"apiVersion: v1\n"])
def test_parse_index_rejects_non_index(data: bytes) -> None:
    with pytest.raises(HelmError, match="https://x/index.yaml"):
        parse_index(data, source="https://x/index.yaml")


@pytest.mark.parametrize(
    ("repo", "url", "expected"),
    [
        ("https://h/charts", "demo-1.0.0.tgz", "https://h/charts/demo-1.0.0.tgz"),
        ("https://h/charts/", "sub/demo.tgz", "https://h/charts/sub/demo.tgz"),
        ("https://h/charts", "https://cdn/x/demo.tgz", "https://cdn/x/demo.tgz"),
        ("https://h/charts", "/abs/demo.tgz", "https://h/abs/demo.tgz"),
    ],
)
def test_chart_url(repo: str, url: str, expected: str) -> None:
    assert chart_url(repo, url) == expected


def test_images_from_manifests_is_a_recursive_key_lookup() -> None:
    text = """
---
# Source: x/templates/a.yaml
kind: Deployment
spec:
  template:
    spec:
      initContainers:
        - image: busybox:1.36
      containers:
        - image: "quay.io/a/b:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
          imagePullPolicy: IfNotPresent
        - image: {repository: not/a-string}
---
kind: Custom
spec:
  sidecarImage: ghcr.io/c/d:2.0
  images: [e/f:1, "not an image"]
  imagePullSecrets: [{name: Regcred}]
---
"""
    assert images_from_manifests(text) == [
        "busybox:1.36",
        "quay.io/a/b:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "ghcr.io/c/d:2.0",
        "e/f:1",
    ]


def test_images_from_manifests_reports_bad_yaml() -> None:
    with pytest.raises(HelmError, match="chart x: output is not valid YAML"):
        images_from_manifests("a: [", what="chart x")


@pytest.mark.parametrize(
    ("registry", "repository", "expected"),
    [
        (None, "a/b", "a/b:1"),
        ("quay.io", "a/b", "quay.io/a/b:1"),
        ("quay.io/", "a/b", "quay.io/a/b:1"),
        ("quay.io", "quay.io/a/b", "quay.io/a/b:1"),
        ("quay.io", "/a/b", "quay.io/a/b:1"),
        ("", "a/b", "a/b:1"),
    ],
)
def test_join_image(registry: str | None, repository: str, expected: str) -> None:
    assert join_image(registry, repository, "1") == expected


def test_images_from_values() -> None:
    text = """
image:
  registry: quay.io
  repository: demo/app
  tag: v1.2.3
  pullPolicy: IfNotPresent
controller:
  image:
    repository: docker.io/demo/controller
    tag: 2.0
    digest: ""
  extraImage: ghcr.io/demo/extra:0.1
  replicas: 3
  name: not-under-an-image-key:1
images:
  webhook: {repository: demo/webhook, tag: "3"}
  untagged: {repository: demo/untagged, tag: ""}
database:
  backup: {repository: ignored/here, tag: "1"}
imagePullSecrets: []
global:
  imageRegistry: ""
"""
    assert images_from_values(text) == [
        "quay.io/demo/app:v1.2.3",
        "docker.io/demo/controller:2.0",
        "ghcr.io/demo/extra:0.1",
        "demo/webhook:3",
        "demo/untagged",
    ]


def test_images_from_values_of_an_empty_chart() -> None:
    assert images_from_values("") == []


def test_oci_chart_ref() -> None:
    assert oci_chart_ref("oci://127.0.0.1:5000/charts/demo") == ImageRef("127.0.0.1:5000", "charts/demo")
    hub = ImageRef("docker.io", "bitnamicharts/redis")
    assert oci_chart_ref("oci://registry-1.docker.io/bitnamicharts/redis") == hub
    assert oci_chart_ref("oci://myregistry/demo") == ImageRef("myregistry", "demo")
    for bad in ("oci://host", "https://host/x", "oci://host/Upper", "oci://host/x:1.0.0"):
        with pytest.raises(HelmError):
            oci_chart_ref(bad)


def test_oci_chart_versions_restores_build_metadata() -> None:
    assert oci_chart_versions(["1.0.0", "1.0.0_build.5", "latest"]) == {
        "1.0.0": "1.0.0",
        "1.0.0+build.5": "1.0.0_build.5",
        "latest": "latest",
    }


@dataclass(frozen=True)
class _Manifest:
    data: bytes
    media_type: str


class _FakeOci:
    """A registry holding one chart manifest; records what was read."""

    def __init__(self, layer: bytes, *, corrupt: bool = False, media_type: str = CHART_LAYER_MEDIA_TYPE) -> None:
        self.layer = layer
        digest = "sha256:" + hashlib.sha256(layer).hexdigest()
        self.manifest = json.dumps(
            {
                "schemaVersion": 2,
                "config": {"mediaType": CHART_CONFIG_MEDIA_TYPE, "digest": "sha256:" + "0" * 64, "size": 2},
                "layers": [{"mediaType": media_type, "digest": digest, "size": len(layer)}],
            }
        ).encode()
        self.corrupt = corrupt
        self.reads: list[tuple[ImageRef, str]] = []

    async def list_tags(self, ref: ImageRef) -> list[str]:
        return ["1.0.0"]

    async def get_manifest(self, ref: ImageRef) -> _Manifest:
        self.reads.append((ref, "manifest"))
        return _Manifest(self.manifest, "application/vnd.oci.image.manifest.v1+json")

    async def read_blob(self, ref: ImageRef, digest: str) -> bytes:
        self.reads.append((ref, digest))
        return self.layer + (b"x" if self.corrupt else b"")


@pytest.mark.anyio
async def test_pull_oci_chart_reads_the_chart_layer() -> None:
    oci = _FakeOci(b"chart bytes")
    ref = ImageRef("h:1", "charts/demo")
    assert await pull_oci_chart(oci, ref, "1.0.0") == b"chart bytes"
    assert oci.reads[0] == (ImageRef("h:1", "charts/demo", "1.0.0"), "manifest")


@pytest.mark.anyio
async def test_pull_oci_chart_checks_digest_and_media_type() -> None:
    ref = ImageRef("h:1", "charts/demo")
    with pytest.raises(HelmError, match="does not match its digest"):
        await pull_oci_chart(_FakeOci(b"chart", corrupt=True), ref, "1.0.0")
    with pytest.raises(HelmError, match="is not a Helm chart: no layer of type"):
        await pull_oci_chart(_FakeOci(b"chart", media_type="application/vnd.oci.image.layer.v1.tar"), ref, "1.0.0")
