"""What each strategy picks from what its source returned: releases, registry tags, chart images."""

from __future__ import annotations

import pytest
import yaml

from mirror.autoupdate import (
    Artifact,
    GithubRelease,
    HelmChart,
    HelmEnvironment,
    HelmLatest,
    RegistryTags,
    Release,
    chart_artifact_tags,
    images_in_render,
    registry_tags,
    release_tags,
    version_regex_tag,
)
from mirror.errors import AutoupdateError

ARTIFACTS = (Artifact("flannel/flannel"),)


def github(**options: object) -> GithubRelease:
    return GithubRelease("o", "r", ARTIFACTS, **options)  # type: ignore[arg-type]


def failure(call: object, *args: object) -> str:
    with pytest.raises(AutoupdateError) as caught:
        call(*args)  # type: ignore[operator]
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value.problems[0]


RELEASES = [
    Release("v1.3.0-rc.1", prerelease=True),
    Release("v1.2.0", latest=True),
    Release("v1.4.0", draft=True),
    Release("v1.1.0"),
    Release("v1.2.0"),
]


# ---- VersionRegex ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "tag", "expected"),
    [
        ("^v(.*)", "v1.2.3", "1.2.3"),  # group 1 is the tag
        ("^v1\\.", "v1.2.3", "v1."),  # no group: the whole match
        ("^v(.*)", "1.2.3", None),  # no match: skipped
        ("^v(.*)", "v", None),  # the group matched nothing: skipped, not ''
        ("(a)|(b)", "b", None),  # group 1 did not take part
        ("([0-9.]+)$", "release-1.2", "1.2"),  # searched, not anchored
    ],
)
def test_version_regex_tag(pattern: str, tag: str, expected: str | None) -> None:
    assert version_regex_tag(pattern, tag) == expected


# ---- GithubRelease ---------------------------------------------------------------------------


def test_drafts_and_prereleases_are_skipped_and_tags_kept_once() -> None:
    assert release_tags("e", github(), RELEASES) == ["v1.2.0", "v1.1.0"]


def test_latest_only_takes_the_release_marked_latest() -> None:
    assert release_tags("e", github(latest_only=True), RELEASES) == ["v1.2.0"]
    assert release_tags("e", github(latest_only=True), [Release("v2", prerelease=True, latest=True)]) == []


def test_capture_group_turns_v1_2_3_into_1_2_3() -> None:
    assert release_tags("e", github(version_regex="^v(.*)"), RELEASES) == ["1.2.0", "1.1.0"]


def test_latest_release_not_matching_the_regex_is_skipped_not_emitted_empty() -> None:
    strategy = github(latest_only=True, version_regex="^cni-(.*)")
    assert release_tags("e", strategy, [Release("v1.2.0", latest=True)]) == []


def test_version_constraint_filters_semver_tags() -> None:
    releases = [Release("v3.5.9"), Release("v3.5.11"), Release("v3.6.0"), Release("3.5.10")]
    assert release_tags("etcd", github(version_constraint=">3.5.10"), releases) == ["v3.5.11", "v3.6.0"]


def test_constraint_applies_after_the_regex() -> None:
    releases = [Release("chart-1.0.0"), Release("app-2.0.0"), Release("app-1.0.0")]
    strategy = github(version_regex="^app-(.*)", version_constraint=">=2")
    assert release_tags("e", strategy, releases) == ["2.0.0"]


def test_a_non_semver_tag_under_a_constraint_fails_the_entry() -> None:
    releases = [Release("v1.0.0"), Release("nightly"), Release("latest-\x1b[2J")]
    message = failure(release_tags, "etcd", github(version_constraint=">1"), releases)
    assert message == (
        "entry 'etcd': tags that are not semantic versions (VersionConstraint '>1' needs them): 'nightly', 'latest-\\x1b[2J'"
    )


def test_a_capture_that_is_no_image_tag_fails_the_entry() -> None:
    message = failure(release_tags, "e", github(version_regex="^(.*)$"), [Release("has space")])
    assert message == "entry 'e': release tags that cannot be image tags: 'has space'"


# ---- Registry --------------------------------------------------------------------------------


def registry(version_filter: str | None = None, latest: bool = False) -> RegistryTags:
    return RegistryTags((Artifact("library/traefik"), Artifact("library/traefik", "t2")), version_filter, latest)


TRAEFIK = ["latest", "v2.9.0", "2.11.36", "2.11.4", "3.1.0", "2.2", "2.11.36"]


def test_registry_version_filter_is_searched() -> None:
    assert registry_tags("traefik", registry("^2\\."), TRAEFIK) == ["2.11.36", "2.11.4", "2.2"]
    assert registry_tags("traefik", registry("11"), TRAEFIK) == ["2.11.36", "2.11.4"]
    assert registry_tags("traefik", registry(), ["b", "a", "b"]) == ["b", "a"]


def test_registry_latest_is_the_highest_semver_spelled_as_listed() -> None:
    assert registry_tags("traefik", registry("^v?2\\.", latest=True), TRAEFIK) == ["2.11.36"]
    assert registry_tags("t", registry("^v", latest=True), ["v1.2.3", "v1.10.0", "v1.9.9"]) == ["v1.10.0"]
    assert registry_tags("t", registry(latest=True), ["1.2", "1.1.9"]) == ["1.2"]  # not rewritten to 1.2.0


def test_registry_latest_with_a_non_semver_tag_fails_the_entry() -> None:
    message = failure(registry_tags, "traefik", registry(latest=True), TRAEFIK)
    assert message == "entry 'traefik': tags that are not semantic versions (Latest compares semantic versions): 'latest'"


def test_registry_no_matching_tag_fails_the_entry() -> None:
    assert failure(registry_tags, "t", registry("^9\\."), TRAEFIK) == (
        "entry 't': none of the 6 tags of library/traefik matches VersionFilter '^9\\.'"
    )
    assert failure(registry_tags, "t", registry(), []) == "entry 't': library/traefik has no tags"


# ---- HelmLatest ------------------------------------------------------------------------------


RENDER = """\
kind: Deployment
spec:
  template:
    spec:
      containers:
      - image: quay.io/cilium/cilium:v1.16.0@sha256:0123
        name: agent
      initContainers:
      - image: docker.io/library/busybox:1.36
      - image: {repository: not/searched, tag: "1"}
      - imagePullPolicy: Always
        sidecarImage: not/an-image-key:1
---
kind: ConfigMap
data:
  image: quay.io/cilium/operator:v1.16.0
---
items: [{image: quay.io/cilium/cilium:v1.16.0}, {image: quay.io/cilium/cilium:v1.16.1}]
"""


def helm(*artifacts: Artifact, denylist: tuple[str, ...] = ()) -> HelmLatest:
    return HelmLatest("https://c.example", (HelmChart("c", (HelmEnvironment("default"),)),), artifacts, denylist)


def test_images_in_render_takes_only_string_values_of_keys_named_image() -> None:
    assert images_in_render(yaml.safe_load_all(RENDER)) == [
        "quay.io/cilium/cilium:v1.16.0@sha256:0123",
        "docker.io/library/busybox:1.36",
        "quay.io/cilium/operator:v1.16.0",
        "quay.io/cilium/cilium:v1.16.0",
        "quay.io/cilium/cilium:v1.16.1",
    ]


def test_chart_images_go_to_their_artifacts_after_digest_cut_hub_strip_and_denylist() -> None:
    cilium, cilium2, busybox = Artifact("quay.io/cilium/cilium"), Artifact("quay.io/cilium/cilium", "c2"), Artifact(
        "docker.io/library/busybox"
    )
    strategy = helm(busybox, cilium, cilium2, Artifact("quay.io/unused/x"), denylist=("quay.io/cilium/operator",))
    result = chart_artifact_tags("cilium", strategy, images_in_render(yaml.safe_load_all(RENDER)))
    assert result == {busybox: ("1.36",), cilium: ("v1.16.0", "v1.16.1"), cilium2: ("v1.16.0", "v1.16.1")}
    assert list(result) == [busybox, cilium, cilium2]  # the file's order


def test_an_image_no_artifact_takes_fails_the_entry_naming_every_such_image() -> None:
    with pytest.raises(AutoupdateError) as caught:
        chart_artifact_tags("cilium", helm(Artifact("a/b")), ["a/b:1", "quay.io/x/y:2", "docker.io/z/w:3"])
    assert caught.value.problems == [
        "entry 'cilium': chart image 'quay.io/x/y:2' maps to no artifact (add it to Artifacts or ImageDenylist)",
        "entry 'cilium': chart image 'docker.io/z/w:3' maps to no artifact (add it to Artifacts or ImageDenylist)",
    ]


@pytest.mark.parametrize("image", ["localhost:5000/a/b:1", "a/b", "a/b@sha256:0123", ":1", "a/b:"])
def test_an_image_without_exactly_one_colon_fails_the_entry(image: str) -> None:
    message = failure(chart_artifact_tags, "e", helm(Artifact("a/b")), [image])
    assert message == f"entry 'e': chart images that are not repository:tag with exactly one ':': '{image}'"


def test_denylisted_images_drop_before_the_mapping() -> None:
    assert chart_artifact_tags("e", helm(Artifact("a/b"), denylist=("docker.io/x/y",)), ["x/y:1", "a/b:2"]) == {
        Artifact("a/b"): ("2",)
    }


def test_a_long_list_of_bad_tags_is_named_briefly() -> None:
    tags = [f"nightly-{n}" for n in range(40)]
    message = failure(registry_tags, "t", registry(latest=True), tags)
    assert message.endswith("'nightly-0', 'nightly-1', 'nightly-2', 'nightly-3', 'nightly-4' … (40 in all)")
