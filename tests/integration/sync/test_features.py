"""sync and compare behaviour at the command line, against real registries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.sync.helpers import cli, events, mirrored, write_list
from tests.support.images import (
    OCI_INDEX,
    RegistryHTTPError,
    get_manifest,
    list_repositories,
    list_tags,
    push_image,
    push_manifest,
)
from tests.support.registry import RegistryFactory, RegistryServer
from tests.support.seed import SeededRegistry

BUSYBOX = "library/busybox"


def _platforms(index: dict[str, object]) -> dict[str, str]:
    out = {}
    for entry in index["manifests"]:  # type: ignore[attr-defined]
        p = entry["platform"]
        out["/".join(filter(None, (p["os"], p["architecture"], p.get("variant"))))] = entry["digest"]
    return out


# ---- failures, validation -------------------------------------------------------------------


def test_a_missing_source_tag_fails_its_line_and_the_rest_is_copied(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src, dst = source_registry.host, dest_registry.host
    images_list = write_list(tmp_path, [
        f"{src}/{BUSYBOX} {dst}/{mirrored(BUSYBOX)} 1.36.1",
        f"{src}/{BUSYBOX} {dst}/{mirrored(BUSYBOX)} 9.9.9",
        f"{src}/flannel/flannel {dst}/{mirrored('flannel/flannel')} v0.25.1",
        "this line is not valid at all",
    ])
    assert cli(images_list, "sync", "--report", str(tmp_path / "r.json")) == 1
    err = capsys.readouterr().err
    assert f"source image {src}/{BUSYBOX}:9.9.9 not found" in err
    assert "images-list:5: expected 3 fields" in err  # the invalid line is named, not fatal
    report = json.loads((tmp_path / "r.json").read_text())
    outcomes = {(r["tag"], r["outcome"]) for r in report["results"]}
    assert outcomes == {("1.36.1", "copied"), ("9.9.9", "failed"), ("v0.25.1", "copied")}
    assert report["totals"]["invalid"] == 1
    assert get_manifest(dest_registry.url, mirrored(BUSYBOX), "1.36.1").digest == \
        source_registry.image(BUSYBOX, "1.36.1").digest
    assert list_tags(dest_registry.url, mirrored("flannel/flannel")) == ["v0.25.1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--copier", "skopeo", "--platforms", "linux/amd64"], "--platforms cannot be used with --copier skopeo"),
        (["--shard", "4/4"], "--shard"),
        (["--shard", "x"], "--shard"),
        (["--jobs", "0"], "--jobs"),
        (["--platforms", "amd64"], "--platforms"),
    ],
)
def test_bad_options_exit_2_before_any_request(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images_list = write_list(tmp_path, ["127.0.0.1:9/a/b 127.0.0.1:9/c/d 1"])  # nothing listens there
    assert cli(images_list, "sync", *args) == 2
    assert message in capsys.readouterr().err


def test_a_bad_override_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DEST_ORG_OVERRIDE", "Not/Valid")
    assert cli(write_list(tmp_path, ["a/b c/d 1"]), "sync") == 2
    assert "DEST_ORG_OVERRIDE" in capsys.readouterr().err


# ---- overrides, dry run, shards -------------------------------------------------------------


def test_destination_overrides_replace_host_and_org(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The list says docker.io (no host): the overrides send it to the test registry under "acme".
    images_list = write_list(tmp_path, [
        f"{source_registry.host}/flannel/flannel rancher/mirrored-flannel-flannel v0.25.1",
        f"{source_registry.host}/library/alpine quay.io/rancher/mirrored-library-alpine 3.20.0",
    ])
    monkeypatch.setenv("DEST_REGISTRY_OVERRIDE", dest_registry.host)
    monkeypatch.setenv("DEST_ORG_OVERRIDE", "acme")
    assert cli(images_list, "sync") == 0
    assert sorted(list_repositories(dest_registry.url)) == [
        "acme/mirrored-flannel-flannel", "acme/mirrored-library-alpine"]
    assert get_manifest(dest_registry.url, "acme/mirrored-flannel-flannel", "v0.25.1").digest == \
        source_registry.image("flannel/flannel", "v0.25.1").digest
    assert cli(images_list, "compare") == 0


def test_dry_run_prints_the_plan_and_copies_nothing(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src, dst = source_registry.host, dest_registry.host
    images_list = write_list(tmp_path, [
        f"{src}/{BUSYBOX} {dst}/{mirrored(BUSYBOX)} 1.36.1",
        f"{src}/flannel/flannel {dst}/{mirrored('flannel/flannel')} v0.25.1",
    ])
    assert cli(images_list, "sync", "--dry-run") == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"copy   {src}/{BUSYBOX}:1.36.1 -> {dst}/{mirrored(BUSYBOX)}:1.36.1  (missing at the destination)",
        f"copy   {src}/flannel/flannel:v0.25.1 -> {dst}/{mirrored('flannel/flannel')}:v0.25.1  "
        "(missing at the destination)",
    ]
    assert list_repositories(dest_registry.url) == []
    assert cli(images_list, "sync") == 0
    capsys.readouterr()
    assert cli(images_list, "sync", "--dry-run") == 0
    assert all(line.startswith("skip ") and "(up to date)" in line for line in capsys.readouterr().out.splitlines())


def test_shards_split_the_lines_by_destination_repository(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src, dst = source_registry.host, dest_registry.host
    lines = [f"{src}/{repo} {dst}/{prefix}{mirrored(repo)} {tag}"
             for prefix in ("", "a/", "b/", "c/")
             for repo, tags in (("library/busybox", ("1.36.0", "1.36.1", "1.37.0")), ("calico/node", ("v3.28.0",)))
             for tag in tags]
    images_list = write_list(tmp_path, lines)
    seen: dict[tuple[str, str], int] = {}
    for index in range(3):
        report = tmp_path / f"shard{index}.json"
        assert cli(images_list, "sync", "--dry-run", "--shard", f"{index}/3", "--report", str(report)) == 0
        for result in json.loads(report.read_text())["results"]:
            key = (result["destination"], result["tag"])
            assert key not in seen, "a line in two shards"
            seen[key] = index
    assert len(seen) == len(lines)
    by_repo: dict[str, set[int]] = {}
    for (repo, _), index in seen.items():
        by_repo.setdefault(repo, set()).add(index)
    assert all(len(indexes) == 1 for indexes in by_repo.values())
    assert "shard 2/3" in capsys.readouterr().err


# ---- platforms and arch tags ----------------------------------------------------------------


def test_platforms_copy_a_filtered_index_and_compare_children_next_time(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = source_registry.image(BUSYBOX, "1.36.1")
    images_list = write_list(tmp_path, [f"{source_registry.host}/{BUSYBOX} {dest_registry.host}/{mirrored(BUSYBOX)} 1.36.1"])
    assert cli(images_list, "sync", "--platforms", "linux/amd64,linux/arm64") == 0
    got = get_manifest(dest_registry.url, mirrored(BUSYBOX), "1.36.1")
    assert got.media_type == OCI_INDEX and got.digest != source.digest
    assert _platforms(got.json()) == {p: d for p, d in source.children.items() if p != "linux/arm/v7"}
    with pytest.raises(RegistryHTTPError):
        get_manifest(dest_registry.url, mirrored(BUSYBOX), source.children["linux/arm/v7"])
    capsys.readouterr()

    # Same request again: nothing to do.
    assert cli(images_list, "sync", "--platforms", "linux/amd64,linux/arm64") == 0
    skips = [e for e in events(capsys.readouterr().err) if e["event"] == "sync.skip"]
    assert len(skips) == 1 and "up to date" in skips[0]["reason"]

    # An index with the same children written by another tool (other bytes) also counts as up to date.
    doc = got.json()
    other = json.dumps(doc, indent=8).encode()
    push_manifest(dest_registry.url, mirrored(BUSYBOX), "1.36.1", other, OCI_INDEX)
    assert cli(images_list, "sync", "--platforms", "linux/arm64,linux/amd64") == 0
    skips = [e for e in events(capsys.readouterr().err) if e["event"] == "sync.skip"]
    assert len(skips) == 1 and skips[0]["reason"] == "up to date (same platforms)"

    # Without --platforms the whole index (its own digest) replaces it.
    assert cli(images_list, "sync") == 0
    assert get_manifest(dest_registry.url, mirrored(BUSYBOX), "1.36.1").digest == source.digest


def test_arch_tags_follow_the_seed_layout(
    registry_factory: RegistryFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = registry_factory()
    dest = registry_factory()
    multi = push_image(source.url, "team/multi", "1.0", kind="docker-list",
                       platforms=("linux/amd64", "linux/arm/v6", "linux/arm/v7", "linux/arm64", "linux/ppc64le"))
    single = push_image(source.url, "team/single", "2.0", kind="docker-manifest", platforms=("linux/s390x",))
    images_list = write_list(tmp_path, [
        f"{source.host}/team/multi {dest.host}/mirror/multi 1.0",
        f"{source.host}/team/single {dest.host}/mirror/single 2.0",
    ])
    assert cli(images_list, "sync", "--arch-tags") == 0
    assert list_tags(dest.url, "mirror/multi") == ["1.0", "1.0-amd64", "1.0-arm", "1.0-arm64", "1.0-armv6"]
    expected = {"1.0-amd64": "linux/amd64", "1.0-arm": "linux/arm/v7", "1.0-armv6": "linux/arm/v6",
                "1.0-arm64": "linux/arm64"}
    for tag, platform in expected.items():
        assert get_manifest(dest.url, "mirror/multi", tag).digest == multi.children[platform], tag
    assert get_manifest(dest.url, "mirror/multi", "1.0").digest == multi.digest
    assert list_tags(dest.url, "mirror/single") == ["2.0", "2.0-s390x"]
    assert get_manifest(dest.url, "mirror/single", "2.0-s390x").digest == single.digest
    capsys.readouterr()

    # Warm: nothing copied, no tag written.
    assert cli(images_list, "sync", "--arch-tags") == 0
    names = [e["event"] for e in events(capsys.readouterr().err)]
    assert names.count("sync.skip") == 2 and "sync.copy.start" not in names


def test_arch_tags_are_added_to_images_mirrored_before(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    images_list = write_list(tmp_path, [f"{source_registry.host}/{BUSYBOX} {dest_registry.host}/{mirrored(BUSYBOX)} 1.37.0"])
    assert cli(images_list, "sync") == 0
    assert list_tags(dest_registry.url, mirrored(BUSYBOX)) == ["1.37.0"]
    capsys.readouterr()
    assert cli(images_list, "sync", "--arch-tags") == 0
    skip = [e for e in events(capsys.readouterr().err) if e["event"] == "sync.skip"]
    assert skip and skip[0]["reason"] == "up to date; arch tags added"
    assert list_tags(dest_registry.url, mirrored(BUSYBOX)) == ["1.37.0", "1.37.0-amd64", "1.37.0-arm", "1.37.0-arm64"]


def test_platforms_with_arch_tags(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path
) -> None:
    images_list = write_list(tmp_path, [f"{source_registry.host}/{BUSYBOX} {dest_registry.host}/{mirrored(BUSYBOX)} 1.36.0"])
    assert cli(images_list, "sync", "--platforms", "linux/arm", "--arch-tags") == 0
    assert list_tags(dest_registry.url, mirrored(BUSYBOX)) == ["1.36.0", "1.36.0-arm"]
    index = get_manifest(dest_registry.url, mirrored(BUSYBOX), "1.36.0").json()
    assert list(_platforms(index)) == ["linux/arm/v7"]


# ---- compare --------------------------------------------------------------------------------


def test_compare_reports_every_state(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src, dst = source_registry.host, dest_registry.host
    matched = f"{src}/{BUSYBOX} {dst}/{mirrored(BUSYBOX)} 1.36.1"
    partial = f"{src}/{BUSYBOX} {dst}/{mirrored(BUSYBOX)} 1.36.0"
    stale = f"{src}/calico/node {dst}/{mirrored('calico/node')} v3.28.0"
    missing = f"{src}/flannel/flannel {dst}/{mirrored('flannel/flannel')} v0.25.1"
    broken = f"{src}/{BUSYBOX} {dst}/{mirrored(BUSYBOX)} 0.0.0-missing"
    # Prepare the destination: one exact copy, one partial (amd64 only), one stale image.
    assert cli(write_list(tmp_path, [matched], "a"), "sync") == 0
    assert cli(write_list(tmp_path, [partial], "b"), "sync", "--platforms", "linux/amd64") == 0
    push_image(dest_registry.url, mirrored("calico/node"), "v3.28.0", kind="docker-list",
               platforms=("linux/amd64",), layers_seed="an older build")
    capsys.readouterr()

    images_list = write_list(tmp_path, [matched, partial, stale, missing, broken])
    assert cli(images_list, "compare", "--json") == 1
    results = {r["tag"]: r for r in json.loads(capsys.readouterr().out)}
    assert {tag: r["status"] for tag, r in results.items()} == {
        "1.36.1": "MATCHED", "1.36.0": "NOT MATCHED", "v3.28.0": "NOT MATCHED", "v0.25.1": "MISSING",
        "0.0.0-missing": "ERROR",
    }
    busybox = source_registry.image(BUSYBOX, "1.36.0")
    assert results["1.36.0"]["platforms"] == [
        {"platform": p, "digest": busybox.children[p], "status": "FOUND" if p == "linux/amd64" else "NOT FOUND"}
        for p in busybox.platforms
    ]
    assert {p["status"] for p in results["v3.28.0"]["platforms"]} == {"NOT FOUND"}
    assert results["1.36.1"]["source_digest"] == results["1.36.1"]["destination_digest"]
    assert "not found" in results["0.0.0-missing"]["reason"]

    assert cli(images_list, "compare") == 1
    text = capsys.readouterr().out
    assert f"MATCHED      {src}/{BUSYBOX}:1.36.1 => {dst}/{mirrored(BUSYBOX)}:1.36.1" in text
    assert "MISSING      " in text
    assert f"    linux/amd64              {busybox.children['linux/amd64']}  FOUND" in text
    assert f"    linux/arm64              {busybox.children['linux/arm64']}  NOT FOUND" in text

    assert cli(write_list(tmp_path, [matched], "c"), "compare") == 0
