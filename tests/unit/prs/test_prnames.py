"""Pull-request names: Rancher's branch hash byte for byte, GitHub's length limits, reviewers."""

from __future__ import annotations

import pytest

from mirror import prnames
from mirror.prnames import Reviewers


# ---- branches --------------------------------------------------------------------------------


def test_rancher_worked_examples() -> None:
    flannel = {("flannel/flannel", "mirrored-flannel-flannel"): ["v0.28.1"]}
    assert prnames.branch_for_config_yaml("flannel", flannel) == "autoupdate/flannel/y6tfnqz4"
    traefik = {("library/traefik", "mirrored-library-traefik"): ["2.11.36"]}
    assert prnames.branch_for_config_yaml("traefik", traefik) == "autoupdate/traefik/4jygecoo"


def test_source_artifact_is_hashed_as_spelled_not_normalised() -> None:
    normalised = {("docker.io/library/traefik", "mirrored-library-traefik"): ["2.11.36"]}
    assert prnames.tag_set_hash(normalised) == "eqcv7arh"


def test_the_same_set_in_another_order_gives_the_same_branch() -> None:
    one = {
        ("quay.io/cilium/cilium", "mirrored-cilium-cilium"): ["v1.16.1", "v1.16.0", "v1.15.9"],
        ("quay.io/cilium/operator-aws", "mirrored-cilium-operator-aws"): ["v1.16.1"],
        ("quay.io/cilium/cilium", "cilium-extra"): ["v1.16.1"],
    }
    other = {
        ("quay.io/cilium/cilium", "cilium-extra"): ("v1.16.1",),
        ("quay.io/cilium/operator-aws", "mirrored-cilium-operator-aws"): ("v1.16.1", "v1.16.1"),
        ("quay.io/cilium/cilium", "mirrored-cilium-cilium"): ("v1.15.9", "v1.16.0", "v1.16.1"),
    }
    assert prnames.branch_for_config_yaml("cilium", one) == prnames.branch_for_config_yaml("cilium", other)
    fewer = dict(one)
    fewer[("quay.io/cilium/cilium", "cilium-extra")] = []
    assert prnames.tag_set_hash(fewer) != prnames.tag_set_hash(one)


def test_hash_is_the_concatenation_in_sorted_order() -> None:
    import base64
    import hashlib

    tags = {("b/b", "n"): ["2", "10"], ("a/a", "z"): ["1"], ("a/a", "m"): ["1"]}
    expected_input = b"a/a:1" + b"a/a:1" + b"b/b:10" + b"b/b:2"  # byte order: "10" < "2"
    expected = base64.b32encode(hashlib.sha256(expected_input).digest()).decode().lower()[:8]
    assert prnames.tag_set_hash(tags) == expected


@pytest.mark.parametrize(
    ("key", "part"),
    [("flannel", "flannel"), ("rancher/k3s images", "rancher-k3s-images"), ("a.b_c-d", "a.b_c-d"), ("ü:x", "--x")],
)
def test_images_list_branch_makes_the_key_safe(key: str, part: str) -> None:
    tags = {("flannel/flannel", "rancher/mirrored-flannel-flannel"): ["v0.28.1"]}
    assert prnames.branch_for_images_list(key, tags) == f"image-mirror/{part}/y6tfnqz4"


# ---- titles, bodies, commits -----------------------------------------------------------------


TAGS = {("a/b", "mirrored-a-b"): ["v2", "v1"], ("c/d", "x"): ["1.0"]}


def test_title_counts_every_tag() -> None:
    assert prnames.title("cilium", TAGS) == "[image-mirror] Add 3 tag(s) for cilium"
    assert prnames.tag_count(TAGS) == 3


def test_a_300_character_entry_name_gives_a_256_character_title_ending_in_ellipsis() -> None:
    title = prnames.title("e" * 300, TAGS)
    assert len(title) == 256
    assert title.endswith("…") and title.startswith("[image-mirror] Add 3 tag(s) for eee")


def test_body_lists_every_tag() -> None:
    assert prnames.body("cilium", TAGS) == (
        "Opened by `image-mirror discover` for entry `cilium`.\n\nIt adds these tags:\n"
        "- `a/b:v1` → `mirrored-a-b`\n- `a/b:v2` → `mirrored-a-b`\n- `c/d:1.0` → `x`"
    )


def test_a_long_body_is_cut_to_the_limit_between_lines() -> None:
    many = {("quay.io/cilium/cilium", "mirrored-cilium-cilium"): [f"v1.{n}.0" for n in range(5000)]}
    body = prnames.body("cilium", many)
    assert len(body) <= prnames.BODY_LIMIT
    last = body.rsplit("\n", 1)[1]
    assert last.startswith("… and ") and last.endswith(" more")
    shown = body.count("\n- `")
    assert int(last.split()[2]) == 5000 - shown
    assert body.split("\n")[-2].endswith("→ `mirrored-cilium-cilium`")  # no half line


def test_small_limit_still_holds() -> None:
    assert len(prnames.body("x" * 500, TAGS, limit=100)) == 100


def test_commit_message_per_artifact() -> None:
    assert prnames.commit_message("quay.io/cilium/cilium", ["v1.16.1", "v1.16.0"]) == (
        "Add tag(s) v1.16.0, v1.16.1 for quay.io/cilium/cilium"
    )


# ---- reviewers -------------------------------------------------------------------------------


def test_org_team_is_a_team_reviewer_by_slug_and_a_plain_name_a_user() -> None:
    split = prnames.split_reviewers(["rancher/k3s", "alice", "rancher/k3s-networking", "alice"])
    assert split == Reviewers(users=("alice",), teams=("k3s", "k3s-networking"))
    assert prnames.split_reviewers([]) == Reviewers()
