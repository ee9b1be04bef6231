"""The pure parts of ``discover --open-prs``: config fields, the list's repository path, the
images-list editor and the per-entry plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirror import config as configfile
from mirror import imageslist, prnames
from mirror.errors import ConfigError, InputError
from mirror.imageslist import Line
from mirror.pipeline.discover import Addition
from mirror.pipeline.prs import LAYOUTS, TagAddition, apply_to_images_list, layout_of, list_path, plan_entry

REGISTRY = {"images": ["busybox"], "versionSource": "registry"}


def load(entry: dict[str, object]) -> configfile.Entry:
    return configfile.parse(json.dumps({"e": entry}), path="cfg.json").entry("e")


# ---- config.json: labels and reviewers ---------------------------------------------------------


def test_labels_and_reviewers_are_read() -> None:
    entry = load({**REGISTRY, "labels": ["deps", "image-mirror"], "reviewers": ["alice", "rancher/k3s"]})
    assert entry.labels == ("deps", "image-mirror")
    assert entry.reviewers == ("alice", "rancher/k3s")
    assert load(REGISTRY).labels == () and load(REGISTRY).reviewers == ()


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("labels", "deps", "must be a list of label names"),
    ("labels", ["x" * 51], "is not a GitHub label name"),
    ("labels", [" deps"], "is not a GitHub label name"),
    ("reviewers", ["a/b/c"], "is not a user or org/team"),
    ("reviewers", ["rancher/"], "is not a user or org/team"),
    ("reviewers", [""], "must be a list of GitHub users"),
])
def test_bad_labels_and_reviewers_name_the_entry_and_field(field: str, value: object, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({**REGISTRY, field: value})
    (problem,) = caught.value.problems
    assert problem.startswith(f"cfg.json: entry 'e' field '{field}': ") and fragment in problem


# ---- where the list lives in the repository ------------------------------------------------


def test_list_path_is_relative_to_the_work_tree_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "lists").mkdir()
    assert list_path("lists/images-list", None, cwd=str(tmp_path)) == "lists/images-list"
    assert list_path("images-list", None, cwd=str(tmp_path / "lists")) == "lists/images-list"
    assert list_path("../images-list", None, cwd=str(tmp_path / "lists")) == "images-list"


def test_list_path_outside_a_work_tree_is_relative_to_the_current_directory(tmp_path: Path) -> None:
    assert list_path("./images-list", None, cwd=str(tmp_path)) == "images-list"
    with pytest.raises(InputError, match="--list-path"):
        list_path("../elsewhere/images-list", None, cwd=str(tmp_path))


def test_list_path_given_wins_and_must_stay_inside() -> None:
    assert list_path("whatever", "/data/images-list", cwd="/") == "data/images-list"
    with pytest.raises(InputError):
        list_path("whatever", "../images-list")


# ---- the images-list editor ------------------------------------------------------------------

BASE = "# header\nbusybox rancher/mirrored-library-busybox 1.36.0\n# about alpine\nalpine rancher/mirrored-library-alpine 3.19.1\n"


def test_the_images_list_editor_adds_sorts_and_keeps_comments() -> None:
    text = apply_to_images_list(BASE, "base:images-list",
                                [TagAddition("busybox", "rancher/mirrored-library-busybox", ("1.37.0", "1.36.1"))])
    current = imageslist.parse(text)
    assert current.is_sorted()
    assert text == ("# header\n# about alpine\nalpine rancher/mirrored-library-alpine 3.19.1\n"
                    "busybox rancher/mirrored-library-busybox 1.36.0\nbusybox rancher/mirrored-library-busybox 1.36.1\n"
                    "busybox rancher/mirrored-library-busybox 1.37.0\n")


def test_the_base_list_must_be_valid() -> None:
    with pytest.raises(InputError, match="base:images-list:1"):
        apply_to_images_list("two fields\n", "base:images-list", [])


CONFIG_YAML = """\
Artifacts:
- SourceArtifact: flannel/flannel
  Tags:
  - v0.25.1  # pinned by hand
  - v0.29.0
- SourceArtifact: library/traefik
  TargetArtifactName: traefik
  Tags: [2.11.0]
Repositories:
- BaseUrl: docker.io/rancher
  DefaultTarget: true
  Registry: docker.io
"""


def test_config_yaml_is_detected_and_its_branches_follow_rancher() -> None:
    assert layout_of(CONFIG_YAML) is LAYOUTS["config.yaml"] and layout_of(BASE) is LAYOUTS["images-list"]
    flannel = {("flannel/flannel", "mirrored-flannel-flannel"): ["v0.28.1"]}
    assert LAYOUTS["config.yaml"].branch("flannel", flannel) == "autoupdate/flannel/y6tfnqz4"


def test_config_yaml_edit_inserts_only_the_new_tag_lines() -> None:
    edit = LAYOUTS["config.yaml"].apply
    out = edit(CONFIG_YAML, "o/r@main:config.yaml",
               [TagAddition("flannel/flannel", "mirrored-flannel-flannel", ("v0.28.1", "v0.25.1")),
                TagAddition("docker.io/library/traefik", "traefik", ("2.11.36",))])
    assert out == CONFIG_YAML.replace("  - v0.29.0\n", "  - v0.28.1\n  - v0.29.0\n").replace(
        "[2.11.0]", "[2.11.0, 2.11.36]")
    # An artifact the file lacks is created on the default targets, its name kept when not the default.
    created = edit(CONFIG_YAML, "c", [TagAddition("ghcr.io/x/y", "y-mirror", ("1.0",)),
                                      TagAddition("ghcr.io/x/z", "mirrored-x-z", ("2.0",))])
    assert created == CONFIG_YAML.replace("Repositories:", "- SourceArtifact: ghcr.io/x/y\n  Tags:\n  - \"1.0\"\n"
                                          "  TargetArtifactName: y-mirror\n- SourceArtifact: ghcr.io/x/z\n"
                                          "  Tags:\n  - \"2.0\"\nRepositories:")


def test_config_yaml_base_must_validate() -> None:
    with pytest.raises(InputError, match="o/r@main:config.yaml"):
        LAYOUTS["config.yaml"].apply("Artifacts:\n- Tags: [1]\nRepositories: []\n", "o/r@main:config.yaml", [])


# ---- the plan of one entry -------------------------------------------------------------------


def test_plan_takes_only_what_passed_the_checks_one_commit_per_image() -> None:
    entry = load({**REGISTRY, "labels": ["deps", "x"]})
    add = [Addition("busybox", tag, "add", "", Line.make("busybox", "rancher/mirrored-library-busybox", tag))
           for tag in ("1.37.0", "1.36.1")]
    add.append(Addition("alpine", "3.20.0", "add", "", Line.make("alpine", "rancher/mirrored-library-alpine", "3.20.0")))
    add.append(Addition("nginx", "1.0", "needs approval", "no entry"))
    add.append(Addition("busybox", "1.36.0", "skipped", "present",
                        Line.make("busybox", "rancher/mirrored-library-busybox", "1.36.0")))
    plan = plan_entry(entry, add, ["x", "image-mirror"])
    assert plan is not None
    assert [message for message, _ in plan.commits] == ["Add tag(s) 3.20.0 for alpine",
                                                       "Add tag(s) 1.36.1, 1.37.0 for busybox"]
    assert plan.labels == ("x", "image-mirror", "deps")
    new = {("busybox", "rancher/mirrored-library-busybox"): ["1.36.1", "1.37.0"],
           ("alpine", "rancher/mirrored-library-alpine"): ["3.20.0"]}
    assert plan.branch == prnames.branch_for_images_list("e", new)
    assert plan.as_json()["skip"] is None
    assert plan_entry(entry, add[3:], []) is None


def test_validate_knows_labels_and_reviewers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mirror.cli import main

    (tmp_path / "images-list").write_text(BASE)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"e": {**REGISTRY, "labels": ["deps"], "reviewers": ["alice", "org/team"]}}))
    assert main(["validate", "--images-list", str(tmp_path / "images-list"), "--config", str(good)]) == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"e": {**REGISTRY, "reviewers": ["org/team/x"]}}))
    assert main(["validate", "--images-list", str(tmp_path / "images-list"), "--config", str(bad)]) == 2
    assert "entry 'e' field 'reviewers': 'org/team/x' is not a user or org/team" in capsys.readouterr().err
