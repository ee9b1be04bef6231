"""Image references: every form people write in images-list and config.json."""

from __future__ import annotations

import pytest

from mirror import ref
from mirror.errors import InputError, InvalidReference
from mirror.ref import ImageRef

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "host", "repository", "tag", "digest"),
    [
        # Docker Hub: namespace added / kept, aliases folded into docker.io
        ("flannel/flannel", "docker.io", "flannel/flannel", None, None),
        ("busybox", "docker.io", "library/busybox", None, None),
        ("library/busybox", "docker.io", "library/busybox", None, None),
        ("docker.io/busybox", "docker.io", "library/busybox", None, None),
        ("docker.io/library/busybox", "docker.io", "library/busybox", None, None),
        ("index.docker.io/x/y", "docker.io", "x/y", None, None),
        ("index.docker.io/busybox", "docker.io", "library/busybox", None, None),
        ("registry-1.docker.io/x/y", "docker.io", "x/y", None, None),
        ("Docker.IO/x/y", "docker.io", "x/y", None, None),
        # other registries, shallow and deep paths
        ("registry.k8s.io/pause", "registry.k8s.io", "pause", None, None),
        ("registry.k8s.io/sig-storage/csi-attacher", "registry.k8s.io", "sig-storage/csi-attacher", None, None),
        (
            "gcr.io/cloud-provider-vsphere/cpi/release/manager",
            "gcr.io",
            "cloud-provider-vsphere/cpi/release/manager",
            None,
            None,
        ),
        ("quay.io/calico/node", "quay.io", "calico/node", None, None),
        ("registry.suse.com/bci/bci-busybox", "registry.suse.com", "bci/bci-busybox", None, None),
        # hosts with ports, localhost, loopback IP
        ("localhost:5000/x", "localhost:5000", "x", None, None),
        ("localhost/x", "localhost", "x", None, None),
        ("127.0.0.1:5001/a/b", "127.0.0.1:5001", "a/b", None, None),
        ("[::1]:5000/x", "[::1]:5000", "x", None, None),
        # "localhost" alone is a Docker Hub image name, not a host
        ("localhost", "docker.io", "library/localhost", None, None),
        # tags and digests
        ("busybox:1.36.1", "docker.io", "library/busybox", "1.36.1", None),
        ("flannel/flannel:v0.25.1", "docker.io", "flannel/flannel", "v0.25.1", None),
        ("localhost:5000/x:1.0", "localhost:5000", "x", "1.0", None),
        ("127.0.0.1:5001/a/b:v2_rc.1-x", "127.0.0.1:5001", "a/b", "v2_rc.1-x", None),
        ("quay.io/calico/node@" + DIGEST, "quay.io", "calico/node", None, DIGEST),
        ("busybox:1.36@" + DIGEST, "docker.io", "library/busybox", "1.36", DIGEST),
        ("localhost:5000/x:1.0@" + DIGEST, "localhost:5000", "x", "1.0", DIGEST),
        # separators allowed inside components
        ("a__b/c.d_e-f", "docker.io", "a__b/c.d_e-f", None, None),
        ("x/a---b", "docker.io", "x/a---b", None, None),
        ("busybox:" + "t" * 128, "docker.io", "library/busybox", "t" * 128, None),
    ],
)
def test_parse_normalises(text: str, host: str, repository: str, tag: str | None, digest: str | None) -> None:
    parsed = ref.parse(text)
    assert parsed == ImageRef(host, repository, tag, digest)
    assert parsed.name == f"{host}/{repository}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flannel/flannel", "docker.io/flannel/flannel"),
        ("busybox", "docker.io/library/busybox"),
        ("index.docker.io/x/y:1", "docker.io/x/y:1"),
        ("busybox:1.0@" + DIGEST, "docker.io/library/busybox:1.0@" + DIGEST),
        ("localhost:5000/x@" + DIGEST, "localhost:5000/x@" + DIGEST),
    ],
)
def test_str_is_fully_qualified(text: str, expected: str) -> None:
    assert str(ref.parse(text)) == expected
    # the canonical form parses back to the same value
    assert ref.parse(expected) == ref.parse(text)


@pytest.mark.parametrize(
    ("text", "familiar"),
    [
        ("flannel/flannel", "flannel/flannel"),
        ("docker.io/flannel/flannel", "flannel/flannel"),
        ("busybox", "library/busybox"),
        ("index.docker.io/x/y", "x/y"),
        ("quay.io/calico/node", "quay.io/calico/node"),
        ("localhost:5000/x", "localhost:5000/x"),
    ],
)
def test_familiar_strips_docker_io_only(text: str, familiar: str) -> None:
    assert ref.parse(text).familiar == familiar


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Flannel/flannel", "lower case"),
        ("flannel/Flannel", "lower case"),
        ("quay.io/Calico/node", "lower case"),
        ("a//b", "empty"),
        ("/a", "empty"),
        ("a/", "empty"),
        ("quay.io//x", "empty"),
        ("", "empty"),
        (" busybox", "whitespace"),
        ("busybox ", "whitespace"),
        ("x:-bad", "tag"),
        ("x:.bad", "tag"),
        ("x:", "tag"),
        ("x:a/b", None),
        ("x:" + "t" * 129, "tag"),
        ("x@sha256:abc", "digest"),
        ("x@sha256:" + "A" * 64, "digest"),
        ("x@sha256:" + "a" * 63, "digest"),
        ("x@sha256:" + "a" * 65, "digest"),
        ("x@" + "a" * 64, "digest"),
        ("x@", "digest"),
        ("x:1@", "digest"),
        ("a___b", None),
        ("a-/b", None),
        ("-a/b", None),
        ("a/b.", None),
        ("bad_host.io:port/x", "host"),
        ("x/" + "a" * 260, "255"),
    ],
)
def test_parse_rejects_with_message_quoting_input(text: str, fragment: str | None) -> None:
    with pytest.raises(InvalidReference) as caught:
        ref.parse(text)
    message = str(caught.value)
    assert repr(text) in message
    if fragment is not None:
        assert fragment in message
    # an invalid reference is bad user input (exit code 2) and a ValueError
    assert isinstance(caught.value, InputError)
    assert isinstance(caught.value, ValueError)


def test_default_tag_applies_only_without_tag_or_digest() -> None:
    assert ref.parse("busybox", default_tag="latest").tag == "latest"
    assert ref.parse("busybox:1.0", default_tag="latest").tag == "1.0"
    assert ref.parse("busybox@" + DIGEST, default_tag="latest").tag is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("host:5000/x:1.0", ("host:5000/x", "1.0")),
        ("host:5000/x", ("host:5000/x", None)),
        ("busybox:1.36", ("busybox", "1.36")),
        ("busybox", ("busybox", None)),
        ("quay.io/calico/node:v3.29.0", ("quay.io/calico/node", "v3.29.0")),
        ("127.0.0.1:5001/a/b", ("127.0.0.1:5001/a/b", None)),
        ("127.0.0.1:5001/a/b:v1", ("127.0.0.1:5001/a/b", "v1")),
    ],
)
def test_split_tag(text: str, expected: tuple[str, str | None]) -> None:
    assert ref.split_tag(text) == expected


@pytest.mark.parametrize(
    ("source", "mirrored"),
    [
        ("quay.io/calico/node", "rancher/mirrored-calico-node"),
        ("registry.k8s.io/sig-storage/csi-attacher", "rancher/mirrored-sig-storage-csi-attacher"),
        ("busybox", "rancher/mirrored-library-busybox"),
        ("flannel/flannel", "rancher/mirrored-flannel-flannel"),
        ("registry.k8s.io/pause", "rancher/mirrored-pause"),
        (
            "gcr.io/cloud-provider-vsphere/cpi/release/manager",
            "rancher/mirrored-cloud-provider-vsphere-cpi-release-manager",
        ),
    ],
)
def test_mirrored_name(source: str, mirrored: str) -> None:
    assert ref.mirrored_name(ref.parse(source)) == mirrored


def test_mirrored_name_other_org() -> None:
    assert ref.mirrored_name(ref.parse("quay.io/calico/node"), org="acme") == "acme/mirrored-calico-node"


def test_reference_prefers_digest_and_requires_one() -> None:
    assert ref.parse("busybox:1.0").reference == "1.0"
    assert ref.parse("busybox:1.0@" + DIGEST).reference == DIGEST
    with pytest.raises(InvalidReference, match="docker.io/library/busybox"):
        ref.parse("busybox").reference  # noqa: B018


def test_with_tag_validates_and_drops_digest() -> None:
    base = ref.parse("quay.io/calico/node@" + DIGEST)
    assert base.with_tag("v3.29.0") == ImageRef("quay.io", "calico/node", "v3.29.0", None)
    with pytest.raises(InvalidReference, match="-bad"):
        base.with_tag("-bad")


def test_with_digest_and_bare() -> None:
    tagged = ref.parse("busybox:1.0")
    assert str(tagged.with_digest(DIGEST)) == "docker.io/library/busybox:1.0@" + DIGEST
    with pytest.raises(InvalidReference):
        tagged.with_digest("sha256:nothex")
    assert tagged.with_digest(DIGEST).bare() == ref.parse("busybox")


def test_equal_after_normalisation_and_hashable() -> None:
    forms = {"busybox", "library/busybox", "docker.io/busybox", "index.docker.io/library/busybox"}
    assert len({ref.parse(form) for form in forms}) == 1


@pytest.mark.parametrize(
    ("host", "normal"),
    [("index.docker.io", "docker.io"), ("registry-1.docker.io", "docker.io"), ("Quay.IO", "quay.io")],
)
def test_normalize_host(host: str, normal: str) -> None:
    assert ref.normalize_host(host) == normal
