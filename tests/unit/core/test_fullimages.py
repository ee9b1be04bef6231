"""``normalize_full_images``: the seed's post-processing of Helm / tagged-file ``repo:tag`` candidates."""

from __future__ import annotations

import pytest

from mirror.sources.base import normalize_full_images

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        # @digest stripped, the tag kept
        ([f"quay.io/cilium/cilium:v1.16.4@{DIGEST}"], ("quay.io/cilium/cilium:v1.16.4",)),
        # digest-only references have no tag: skipped
        ([f"quay.io/cilium/cilium@{DIGEST}"], ()),
        # docker.io/ stripped (library/ kept as written)
        (["docker.io/envoyproxy/envoy:v1.30.0"], ("envoyproxy/envoy:v1.30.0",)),
        (["docker.io/library/busybox:1.36"], ("library/busybox:1.36",)),
        (["busybox:1.36"], ("busybox:1.36",)),
        # our own images are skipped, with or without docker.io/
        (["rancher/shell:v0.2.1", "docker.io/rancher/kubectl:v1.30.0"], ()),
        # ... but "rancher" elsewhere is not ours
        (["quay.io/rancher/x:1", "rancherlabs/y:1"], ("quay.io/rancher/x:1", "rancherlabs/y:1")),
        # latest and untagged skipped
        (["nginx:latest", "nginx", "quay.io/x/y", "ghcr.io/a/b:latest"], ()),
        (["nginx:latest-alpine"], ("nginx:latest-alpine",)),
        # registries with ports keep their port, and need a tag too
        (["localhost:5000/x:1.0", "localhost:5000/y"], ("localhost:5000/x:1.0",)),
        # whitespace around a candidate is ignored; junk is dropped, not fatal
        (["  ghcr.io/a/b:2  ", "", "NOT VALID:1", "UPPER/case:1", "x:-bad"], ("ghcr.io/a/b:2",)),
        # dedupe and sort
        (
            ["quay.io/b:2", "quay.io/a/x:1", "quay.io/b:2", f"quay.io/b:2@{DIGEST}", "docker.io/z/z:1", "a/a:1"],
            ("a/a:1", "quay.io/a/x:1", "quay.io/b:2", "z/z:1"),
        ),
        ([], ()),
    ],
)
def test_normalize(candidates: list[str], expected: tuple[str, ...]) -> None:
    assert normalize_full_images(candidates) == expected


def test_result_is_sorted_tuple() -> None:
    result = normalize_full_images(["z/z:1", "b/b:1", "a/a:2", "a/a:10"])
    assert isinstance(result, tuple)
    assert list(result) == sorted(result)


@pytest.mark.parametrize(
    ("denylist", "kept"),
    [
        (
            ["quay.io/cilium/operator"],
            {"quay.io/cilium/cilium:v1", "envoyproxy/envoy:v1", "nginx:1", "library/nginx:2"},
        ),
        # compared normalised: every spelling of a Docker Hub name matches every other
        (
            ["docker.io/envoyproxy/envoy"],
            {"quay.io/cilium/cilium:v1", "quay.io/cilium/operator:v1", "nginx:1", "library/nginx:2"},
        ),
        (
            ["envoyproxy/envoy"],
            {"quay.io/cilium/cilium:v1", "quay.io/cilium/operator:v1", "nginx:1", "library/nginx:2"},
        ),
        (["nginx"], {"quay.io/cilium/cilium:v1", "quay.io/cilium/operator:v1", "envoyproxy/envoy:v1"}),
        (
            ["docker.io/library/nginx"],
            {"quay.io/cilium/cilium:v1", "quay.io/cilium/operator:v1", "envoyproxy/envoy:v1"},
        ),
        # a denylist entry with a typo or a tag does not crash and blocks nothing else
        (
            ["Not A Ref", "quay.io/cilium"],
            {
                "quay.io/cilium/cilium:v1",
                "quay.io/cilium/operator:v1",
                "envoyproxy/envoy:v1",
                "nginx:1",
                "library/nginx:2",
            },
        ),
    ],
)
def test_denylist_is_compared_normalised(denylist: list[str], kept: set[str]) -> None:
    candidates = [
        "quay.io/cilium/cilium:v1",
        "quay.io/cilium/operator:v1",
        "docker.io/envoyproxy/envoy:v1",
        "nginx:1",
        "docker.io/library/nginx:2",
    ]
    assert set(normalize_full_images(candidates, denylist)) == kept


def test_same_image_written_two_ways_is_listed_once() -> None:
    """A chart often names one image as ``docker.io/library/busybox`` in a template and
    ``busybox`` in values; both spellings are the same image and tag, so discover must
    report it once (otherwise add-full-image is asked to add the same tag twice)."""
    result = normalize_full_images(["docker.io/library/busybox:1.36", "busybox:1.36", "library/busybox:1.36"])
    assert len(result) == 1
    assert result[0] in {"busybox:1.36", "library/busybox:1.36"}


def test_docker_hub_alias_of_rancher_is_skipped() -> None:
    assert normalize_full_images(["index.docker.io/rancher/shell:v0.2.1"]) == ()
