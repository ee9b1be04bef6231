"""Pure planning pieces: overrides, shards, platform filtering, arch tags."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

import pytest

from mirror import imageslist
from mirror.errors import CopyError, InputError
from mirror.pipeline.platforms import PlatformSpec, arch_tag_for_image, arch_tags, filter_index, parse_platforms
from mirror.pipeline.selection import Overrides, Shard, shard_of, superseded
from mirror.ref import parse
from mirror.registry.media import OCI_INDEX, Manifest, sha256_digest

from tests.support.data import REAL_LIST


# ---- overrides ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "destination", "expected"),
    [
        ({}, "rancher/mirrored-flannel-flannel", "docker.io/rancher/mirrored-flannel-flannel:v1"),
        ({"DEST_REGISTRY_OVERRIDE": "127.0.0.1:5000"}, "rancher/mirrored-x",
         "127.0.0.1:5000/rancher/mirrored-x:v1"),
        ({"DEST_ORG_OVERRIDE": "acme"}, "rancher/mirrored-x", "docker.io/acme/mirrored-x:v1"),
        ({"DEST_REGISTRY_OVERRIDE": "registry.example.com", "DEST_ORG_OVERRIDE": "mirror"},
         "rancher/mirrored-x", "registry.example.com/mirror/mirrored-x:v1"),
        # the host of the line is replaced too, and only the first path component changes
        ({"DEST_REGISTRY_OVERRIDE": "reg.local:443", "DEST_ORG_OVERRIDE": "o"},
         "quay.io/team/sub/app", "reg.local:443/o/sub/app:v1"),
        # single-component Docker Hub names were library/<name>: library is the first part
        ({"DEST_ORG_OVERRIDE": "acme"}, "busybox", "docker.io/acme/busybox:v1"),
        # override host docker.io aliases normalise
        ({"DEST_REGISTRY_OVERRIDE": "index.docker.io"}, "ghcr.io/o/app", "docker.io/o/app:v1"),
        # empty values mean unset
        ({"DEST_REGISTRY_OVERRIDE": "", "DEST_ORG_OVERRIDE": " "}, "o/app", "docker.io/o/app:v1"),
    ],
)
def test_overrides(env: dict[str, str], destination: str, expected: str) -> None:
    line = imageslist.Line.make("src/app", destination, "v1")
    assert str(Overrides.from_env(env).destination(line)) == expected


@pytest.mark.parametrize(
    "env",
    [{"DEST_REGISTRY_OVERRIDE": "not a host"}, {"DEST_REGISTRY_OVERRIDE": "http://x.io"},
     {"DEST_ORG_OVERRIDE": "Upper"}, {"DEST_ORG_OVERRIDE": "a/b"}, {"DEST_ORG_OVERRIDE": "-x"}],
)
def test_bad_overrides_are_input_errors(env: dict[str, str]) -> None:
    with pytest.raises(InputError, match="DEST_"):
        Overrides.from_env(env)


# ---- shards ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "index", "count"), [("0/1", 0, 1), ("3/4", 3, 4), (" 1 / 2 ", 1, 2)])
def test_shard_parse(text: str, index: int, count: int) -> None:
    assert Shard.parse(text) == Shard(index, count)


@pytest.mark.parametrize("text", ["", "1", "4/4", "-1/4", "1/0", "a/b", "1/2/3", "0.5/2"])
def test_shard_parse_rejects(text: str) -> None:
    with pytest.raises(InputError, match="--shard"):
        Shard.parse(text)


def test_shard_is_sha256_of_the_repository_name() -> None:
    dest = parse("docker.io/rancher/mirrored-flannel-flannel:v0.25.1")
    expected = int(hashlib.sha256(b"docker.io/rancher/mirrored-flannel-flannel").hexdigest(), 16) % 7
    assert shard_of(dest, 7) == expected
    assert shard_of(dest.with_tag("other"), 7) == expected  # the tag does not matter


@pytest.mark.parametrize("count", [1, 2, 3, 4, 8, 16])
def test_shards_of_the_real_list_are_disjoint_and_complete(count: int) -> None:
    images = imageslist.load(REAL_LIST, strict=False)
    assert len(images) > 1900
    owners: dict[int, list[imageslist.Line]] = defaultdict(list)
    for line in images:
        mine = [i for i in range(count) if Shard(i, count).owns(line.source)]
        assert len(mine) == 1, (line.text, mine)  # disjoint
        owners[mine[0]].append(line)
    assert sum(len(lines) for lines in owners.values()) == len(images)  # complete
    # every line of a source repository (every tag, every destination) is in one shard
    shard_by_source: dict[str, set[int]] = defaultdict(set)
    for shard, lines in owners.items():
        for line in lines:
            shard_by_source[line.source.name].add(shard)
    assert all(len(shards) == 1 for shards in shard_by_source.values())
    if count > 1:
        assert len(owners) == count  # 350+ repositories spread over every shard


def test_shards_follow_the_normalised_source_not_the_destination() -> None:
    line = imageslist.Line.make("a/b", "rancher/mirrored-a-b", "1")
    same = imageslist.Line.make("docker.io/a/b", "registry.example.com/other/x", "2")
    assert line.source.name == same.source.name == "docker.io/a/b"
    expected = int(hashlib.sha256(b"docker.io/a/b").hexdigest(), 16) % 1000
    assert shard_of(line.source, 1000) == shard_of(same.source, 1000) == expected


# ---- platforms ------------------------------------------------------------------------------


def test_parse_platforms() -> None:
    assert parse_platforms("linux/amd64, linux/arm/v7,linux/amd64") == (
        PlatformSpec("linux", "amd64"), PlatformSpec("linux", "arm", "v7"))


@pytest.mark.parametrize("text", ["", ",", "linux", "linux/amd64/v1/x", "linux//v7", "linux/am d64"])
def test_parse_platforms_rejects(text: str) -> None:
    with pytest.raises(InputError, match="--platforms"):
        parse_platforms(text)


def _entry(digest_seed: str, os_name: str, arch: str, variant: str | None = None, **extra: str) -> dict[str, object]:
    platform: dict[str, str] = {"os": os_name, "architecture": arch}
    if variant:
        platform["variant"] = variant
    platform.update(extra)
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256_digest(digest_seed.encode()), "size": 100, "platform": platform}


def _index(*entries: dict[str, object]) -> Manifest:
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(entries)},
                      indent=2).encode()
    return Manifest(data, OCI_INDEX, sha256_digest(data))


def test_filter_index_keeps_matching_children_and_their_attestations() -> None:
    amd, arm64, arm7 = _entry("a", "linux", "amd64"), _entry("b", "linux", "arm64"), _entry("c", "linux", "arm", "v7")
    attest_amd = _entry("d", "unknown", "unknown")
    attest_amd["annotations"] = {"vnd.docker.reference.digest": amd["digest"],
                                 "vnd.docker.reference.type": "attestation-manifest"}
    attest_arm = _entry("e", "unknown", "unknown")
    attest_arm["annotations"] = {"vnd.docker.reference.digest": arm7["digest"]}
    index = _index(amd, arm64, arm7, attest_amd, attest_arm)
    out = filter_index(index, parse_platforms("linux/amd64,linux/arm"))
    assert [c.digest for c in out.children] == [amd["digest"], arm7["digest"], attest_amd["digest"], attest_arm["digest"]]
    doc = json.loads(out.data)
    assert doc["mediaType"] == OCI_INDEX and doc["schemaVersion"] == 2
    assert out.digest == sha256_digest(out.data) != index.digest
    # deterministic: the same source gives the same bytes (so a re-run can compare)
    assert filter_index(index, parse_platforms("linux/amd64,linux/arm")).data == out.data
    only_v6 = parse_platforms("linux/arm/v6")
    with pytest.raises(CopyError, match="linux/arm/v7"):
        filter_index(index, only_v6)


# ---- arch tags ------------------------------------------------------------------------------


def test_arch_tags_follow_the_seed() -> None:
    entries = [
        _entry("amd", "linux", "amd64"),
        _entry("arm6", "linux", "arm", "v6"),
        _entry("arm7", "linux", "arm", "v7"),
        _entry("arm64", "linux", "arm64", "v8"),
        _entry("ppc", "linux", "ppc64le"),
        _entry("s390", "linux", "s390x"),
        _entry("win1", "windows", "amd64", **{"os.version": "10.0.17763.6532"}),
        _entry("win2", "windows", "amd64", **{"os.version": "10.0.20348.2849"}),
        _entry("att", "unknown", "unknown"),
    ]
    doc = json.loads(_index(*entries).data)
    tags = {t.tag: t for t in arch_tags("v1.2", doc)}
    assert list(tags) == [
        "v1.2-amd64",
        "v1.2-amd64-windows-10.0.17763.6532",
        "v1.2-amd64-windows-10.0.20348.2849",
        "v1.2-arm64",
        "v1.2-arm",      # the highest variant (v7) of arm gets the bare arch tag
        "v1.2-armv6",
        "v1.2-s390x",
    ]
    assert tags["v1.2-arm"].digest == sha256_digest(b"arm7")
    assert tags["v1.2-armv6"].digest == sha256_digest(b"arm6")
    assert tags["v1.2-amd64"].digest == sha256_digest(b"amd")
    assert tags["v1.2-amd64-windows-10.0.20348.2849"].digest == sha256_digest(b"win2")


def test_arch_tags_never_repeat_a_tag() -> None:
    doc = json.loads(_index(_entry("x", "linux", "arm64", "v8"), _entry("y", "linux", "arm64")).data)
    assert [t.tag for t in arch_tags("1", doc)] == ["1-arm64"]  # the variant-less one would repeat it


def test_arch_tag_for_single_image() -> None:
    assert arch_tag_for_image("1.0", "amd64", "sha256:x").tag == "1.0-amd64"  # type: ignore[union-attr]
    assert arch_tag_for_image("1.0", "ppc64le", "sha256:x") is None


def test_superseded_last_line_wins() -> None:
    a, b, c = parse("a/x:1"), parse("b/x:1"), parse("c/y:1")
    d1, d2 = parse("rancher/x:1"), parse("rancher/y:1")
    assert superseded([(a, d1), (c, d2), (b, d1), (a, d1)]) == {0: 3, 2: 3}
    assert superseded([(a, d1), (c, d2)]) == {}


def test_the_real_list_has_two_conflicting_destination_tags() -> None:
    images = imageslist.load(REAL_LIST, strict=False)
    pairs = [(line.source_image, line.destination_image) for line in images]
    losers = superseded(pairs)
    assert sorted(images.lines[i].lineno for i in losers) == [197, 226]
