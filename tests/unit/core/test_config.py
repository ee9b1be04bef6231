"""config.json: every field parsed into frozen dataclasses; every problem named by key and field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from mirror import config as configfile
from mirror.config import ChartConfig, Entry, HelmChart, SourceKind, VersionSource
from mirror.errors import ConfigError, InputError

REPO_ROOT = Path(__file__).resolve().parents[3]
REAL_CONFIG = REPO_ROOT.parent / "shared" / "data" / "rancher-config-2024-12.json"


def parse(data: dict[str, Any] | str) -> configfile.Config:
    text = data if isinstance(data, str) else json.dumps(data, indent=2)
    return configfile.parse(text, path="cfg.json")


def problems(data: dict[str, Any] | str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(data)
    assert isinstance(caught.value, InputError)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def only_problem(data: dict[str, Any] | str) -> str:
    found = problems(data)
    assert len(found) == 1, found
    return found[0]


REGISTRY = {"images": ["library/traefik"], "versionSource": "registry"}


# ---- the real 2024-12 Rancher config ---------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> configfile.Config:
    return configfile.load(REAL_CONFIG)


def test_real_config_loads_all_entries_in_order(real: configfile.Config) -> None:
    assert len(real.entries) == 22
    assert real.entries[0].key == "flannel"
    assert real.entries[-1].key == "tonistiigi-xx"
    assert real.path == str(REAL_CONFIG)
    assert [entry.key for entry in real.entries] == list(json.loads(REAL_CONFIG.read_text()))


def test_real_config_cilium(real: configfile.Config) -> None:
    cilium = real.entry("cilium")
    assert cilium.source == VersionSource(SourceKind.HELM_LATEST, "https://helm.cilium.io")
    assert str(cilium.source) == "helm-latest:https://helm.cilium.io"
    assert cilium.image_denylist == (
        "quay.io/cilium/operator",
        "quay.io/cilium/startup-script",
        "ghcr.io/spiffe/spire-agent",
        "ghcr.io/spiffe/spire-server",
    )
    assert cilium.helm_charts == (
        HelmChart(
            name="cilium",
            devel=False,
            version_filter=None,
            chart_configs=(
                ChartConfig("aws", ("eni.enabled=true",)),
                ChartConfig("azure", ("azure.enabled=true",)),
                ChartConfig(
                    "generic",
                    (
                        "clustermesh.useAPIServer=true",
                        "envoy.enabled=true",
                        "hubble.ui.enabled=true",
                        "hubble.relay.enabled=true",
                        "hubble.enabled=true",
                    ),
                ),
            ),
        ),
    )
    assert cilium.images == ()
    assert cilium.source.kind.is_helm and cilium.source.kind.gives_full_images


def test_real_config_etcd_traefik_longhorn_calico(real: configfile.Config) -> None:
    etcd = real.entry("etcd")
    assert etcd.source == VersionSource(SourceKind.GITHUB_RELEASES, "etcd-io/etcd")
    assert etcd.version_constraint == ">3.5.10"
    assert etcd.images == ("quay.io/coreos/etcd",)

    traefik = real.entry("traefik")
    assert traefik.source == VersionSource(SourceKind.REGISTRY)
    assert str(traefik.source) == "registry"
    assert traefik.latest is True and traefik.latest_entry is False
    assert traefik.version_filter == r"^2\.[0-9]+\.[0-9]+$"
    assert traefik.images == ("library/traefik",)

    longhorn = real.entry("longhorn")
    assert longhorn.source == VersionSource(SourceKind.GITHUB_TAGGED_IMAGES_FILE, "longhorn/longhorn")
    assert longhorn.images_file_path == "deploy/longhorn-images.txt"
    assert longhorn.version_constraint == ">=1.4.0"
    assert longhorn.source.kind.gives_full_images and not longhorn.source.kind.is_helm

    calico = real.entry("calico")
    assert calico.source == VersionSource(SourceKind.GITHUB_LATEST_RELEASE, "projectcalico/calico")
    assert len(calico.images) == 9 and calico.images[0] == "quay.io/calico/apiserver"
    assert not calico.source.kind.gives_full_images

    assert real.entry("calico-operator").helm_charts == (HelmChart("tigera-operator"),)
    with pytest.raises(KeyError):
        real.entry("no-such-entry")


def test_entries_are_frozen(real: configfile.Config) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        real.entry("etcd").version_constraint = ">=0"  # type: ignore[misc]


# ---- every field ------------------------------------------------------------------------------


def test_every_field_parsed() -> None:
    cfg = parse(
        {
            "reg": {
                "images": ["busybox", "quay.io/x/y"],
                "versionSource": "registry",
                "versionFilter": r"^1\.3[6-9]\.[0-9]+$",
                "versionConstraint": ">=1.36.0",
                "latest": "true",
            },
            "first": {"images": ["x/y"], "versionSource": "registry", "latest_entry": True},
            "falsy": {"images": ["x/y"], "versionSource": "registry", "latest": "false", "latest_entry": False},
            "files": {
                "versionSource": "github-tagged-images-file:longhorn/longhorn",
                "imagesFilePath": "deploy/longhorn-images.txt",
                "versionConstraint": ">=1.4.0",
            },
            "helm": {
                "versionSource": "helm-latest:https://charts.example.com/stable",
                "imageDenylist": ["docker.io/library/nginx", "quay.io/x/y"],
                "additionalVersionFilter": ["v1.4.*", "~1.2 || ^3"],
                "helmCharts": {
                    "one": {
                        "devel": True,
                        "versionFilter": "v1.4.*",
                        "chartConfig": {
                            "k8s130": {"values": ["a.b=c", "d=e=f"], "kubeVersion": "1.30.0"},
                            "plain": {},
                        },
                    },
                    "two": {"devel": "true"},
                },
            },
            "oci": {"versionSource": "helm-oci", "helmCharts": {"oci://ghcr.io/org/chart": {}}},
            "dir": {"versionSource": "helm-directory:/charts", "helmCharts": {"mychart": {}}},
            "gh": {"images": ["x/y"], "versionSource": "github-releases:owner/repo.name_x-y"},
        }
    )
    assert cfg.entry("reg") == Entry(
        key="reg",
        source=VersionSource(SourceKind.REGISTRY),
        images=("busybox", "quay.io/x/y"),
        version_constraint=">=1.36.0",
        version_filter=r"^1\.3[6-9]\.[0-9]+$",
        latest=True,
    )
    assert cfg.entry("first").latest_entry is True and cfg.entry("first").latest is False
    assert cfg.entry("falsy").latest is False and cfg.entry("falsy").latest_entry is False
    assert cfg.entry("files").images_file_path == "deploy/longhorn-images.txt"
    helm = cfg.entry("helm")
    assert helm.source == VersionSource(SourceKind.HELM_LATEST, "https://charts.example.com/stable")
    assert helm.image_denylist == ("docker.io/library/nginx", "quay.io/x/y")
    assert helm.additional_version_filter == ("v1.4.*", "~1.2 || ^3")
    assert helm.helm_charts == (
        HelmChart(
            "one",
            devel=True,
            version_filter="v1.4.*",
            chart_configs=(ChartConfig("k8s130", ("a.b=c", "d=e=f"), "1.30.0"), ChartConfig("plain")),
        ),
        HelmChart("two", devel=True),
    )
    assert cfg.entry("oci").source == VersionSource(SourceKind.HELM_OCI)
    assert cfg.entry("oci").helm_charts[0].name == "oci://ghcr.io/org/chart"
    assert cfg.entry("dir").source == VersionSource(SourceKind.HELM_DIRECTORY, "/charts")
    assert cfg.entry("gh").source.target == "owner/repo.name_x-y"


def test_entry_level_version_filter_is_a_regex_even_when_it_looks_like_helm() -> None:
    entry = parse({"t": {**REGISTRY, "versionFilter": "v1.4.*"}}).entry("t")
    assert entry.version_filter == "v1.4.*"


def test_empty_config_is_valid() -> None:
    assert parse({}).entries == ()


# ---- errors name the entry key and the field ------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "field", "fragment"),
    [
        ({**REGISTRY, "versionFilter": "^2\\.(["}, "versionFilter", "regular expression"),
        ({**REGISTRY, "versionFilter": 5}, "versionFilter", "string"),
        ({**REGISTRY, "versionConstraint": ">=one.two"}, "versionConstraint", ">=one.two"),
        ({**REGISTRY, "versionConstraint": ">=1.2 ||"}, "versionConstraint", "constraint"),
        ({**REGISTRY, "latest": "yes"}, "latest", "true or false"),
        ({**REGISTRY, "latest_entry": 1}, "latest_entry", "true or false"),
        ({**REGISTRY, "latest": True, "latest_entry": True}, "latest_entry", "both"),
        ({**REGISTRY, "images": []}, "images", "at least one image"),
        ({**REGISTRY, "images": "library/traefik"}, "images", "list"),
        ({**REGISTRY, "images": ["Library/Traefik"]}, "images", "Library/Traefik"),
        ({**REGISTRY, "imageDenylist": "x"}, "imageDenylist", "list"),
        ({**REGISTRY, "versionfilter": "^2"}, "versionfilter", "unknown field"),
        ({"versionSource": "registry"}, "images", "at least one image"),
        ({"images": ["x/y"], "versionSource": "gitlab:x/y"}, "versionSource", "gitlab"),
        ({"images": ["x/y"], "versionSource": "github-releases"}, "versionSource", "target"),
        ({"images": ["x/y"], "versionSource": "github-releases:"}, "versionSource", "target"),
        ({"images": ["x/y"], "versionSource": "github-latest-release:just-a-repo"}, "versionSource", "OWNER/REPO"),
        ({"images": ["x/y"], "versionSource": "registry:quay.io"}, "versionSource", "no target"),
        ({"images": ["x/y"]}, "versionSource", "required"),
        ({"versionSource": "helm-latest:ftp://x", "helmCharts": {"c": {}}}, "versionSource", "URL"),
        ({"versionSource": "helm-latest:https://x"}, "helmCharts", "at least one chart"),
        (
            {"versionSource": "helm-oci", "helmCharts": {"ghcr.io/org/chart": {}}},
            "helmCharts.ghcr.io/org/chart",
            "oci://",
        ),
        ({"versionSource": "github-tagged-images-file:o/r"}, "imagesFilePath", "imagesFilePath"),
        (
            {"versionSource": "helm-latest:https://x", "helmCharts": {"c": {"versionFilter": "not-a-version"}}},
            "helmCharts.c.versionFilter",
            "not-a-version",
        ),
        (
            {"versionSource": "helm-latest:https://x", "helmCharts": {"c": {"devel": "maybe"}}},
            "helmCharts.c.devel",
            "true or false",
        ),
        (
            {
                "versionSource": "helm-latest:https://x",
                "helmCharts": {"c": {"chartConfig": {"k": {"values": ["novalue"]}}}},
            },
            "helmCharts.c.chartConfig.k.values",
            "key=value",
        ),
        (
            {
                "versionSource": "helm-latest:https://x",
                "helmCharts": {"c": {"chartConfig": {"k": {"kubeVersion": 1.3}}}},
            },
            "helmCharts.c.chartConfig.k.kubeVersion",
            "string",
        ),
        (
            {"versionSource": "helm-latest:https://x", "helmCharts": {"c": {"chartConfig": {"k": {"valeus": []}}}}},
            "helmCharts.c.chartConfig.k.valeus",
            "unknown field",
        ),
        (
            {"versionSource": "helm-latest:https://x", "helmCharts": {"c": {"version": "1.0"}}},
            "helmCharts.c.version",
            "unknown field",
        ),
        (
            {
                "versionSource": "helm-latest:https://x",
                "helmCharts": {"c": {}},
                "additionalVersionFilter": ["~1.2", ">=1.2 <"],
            },
            "additionalVersionFilter",
            ">=1.2 <",
        ),
        (
            {"versionSource": "helm-latest:https://x", "helmCharts": {"c": {}}, "additionalVersionFilter": "v1.4.*"},
            "additionalVersionFilter",
            "list",
        ),
    ],
)
def test_error_names_entry_key_and_field(entry: dict[str, Any], field: str, fragment: str) -> None:
    found = problems({"ok": REGISTRY, "my-entry": entry})
    assert all(p.startswith("cfg.json: entry 'my-entry' ") for p in found), found
    assert any(f"'{field}'" in p and fragment in p for p in found), found


def test_entry_must_be_an_object_and_top_level_too() -> None:
    assert "'e'" in only_problem({"e": ["registry"]})
    assert "top level" in only_problem("[1, 2]")


def test_helm_style_constraint_is_valid_for_charts_but_regex_rules_apply_at_entry_level() -> None:
    # "v1.4.*" is a Helm constraint for the chart and in additionalVersionFilter ...
    parse(
        {
            "h": {
                "versionSource": "helm-latest:https://x",
                "helmCharts": {"c": {"versionFilter": "v1.4.*"}},
                "additionalVersionFilter": ["v1.4.*"],
            }
        }
    )
    # ... while a regex is not a Helm constraint
    problem = only_problem(
        {"h": {"versionSource": "helm-latest:https://x", "helmCharts": {"c": {"versionFilter": "^1\\.4"}}}}
    )
    assert "'h'" in problem and "helmCharts.c.versionFilter" in problem


def test_several_problems_reported_at_once() -> None:
    found = problems(
        {
            "good": REGISTRY,
            "a": {**REGISTRY, "versionFilter": "(", "versionConstraint": ">=x.y", "bogus": 1},
            "b": {"versionSource": "nope"},
            "c": {"versionSource": "registry"},
        }
    )
    assert len(found) == 5
    joined = "\n".join(found)
    for key, field in [
        ("a", "versionFilter"),
        ("a", "versionConstraint"),
        ("a", "bogus"),
        ("b", "versionSource"),
        ("c", "images"),
    ]:
        assert any(f"'{key}'" in p and f"'{field}'" in p for p in found), (key, field, joined)


def test_top_level_key_twice_is_an_error() -> None:
    text = '{\n "longhorn": {"images": ["x/y"], "versionSource": "registry"},\n "longhorn": {"images": ["a/b"], "versionSource": "registry"}\n}'
    problem = only_problem(text)
    assert "'longhorn'" in problem and "more than once" in problem


def test_field_twice_inside_an_entry_names_entry_and_field() -> None:
    text = '{\n "traefik": {\n  "images": ["library/traefik"],\n  "versionSource": "registry",\n  "versionFilter": "^2",\n  "versionFilter": "^3"\n }\n}'
    problem = only_problem(text)
    assert "more than once" in problem
    assert "'versionFilter'" in problem
    assert "'traefik'" in problem  # which of the 22 entries? the user must be told


def test_invalid_json_reports_line_and_column() -> None:
    text = '{\n  "a": {\n    "images": ["x/y"],\n    "versionSource": "registry",\n  }\n}\n'
    problem = only_problem(text)
    assert problem.startswith("cfg.json:5:")
    assert "invalid JSON" in problem


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found") as caught:
        configfile.load(tmp_path / "config.json")
    assert str(tmp_path / "config.json") in str(caught.value)


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"k": {"versionSource": "registry"}}))
    with pytest.raises(ConfigError) as caught:
        configfile.load(path)
    assert caught.value.problems[0].startswith(f"{path}: ")


# ---- hostile input (issue 12) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("deploy/longhorn-images.txt", None),
        ("images.txt", None),
        ("", "must be a file path inside the repository"),
        ("/deploy/images.txt", "must be relative to the repository root, not an absolute path"),
        ("../images.txt", "must not contain '..', '.' or empty path components"),
        ("deploy/../../images.txt", "must not contain '..', '.' or empty path components"),
        ("deploy/./images.txt", "must not contain '..', '.' or empty path components"),
        ("deploy/", "must not contain '..', '.' or empty path components"),
    ],
)
def test_one_rule_for_repository_file_paths(path: str, problem: str | None) -> None:
    assert configfile.repository_path_problem(path) == problem


def test_images_file_path_outside_the_repository_is_one_problem() -> None:
    entry = {"versionSource": "github-tagged-images-file:longhorn/longhorn", "imagesFilePath": "../x"}
    assert only_problem({"lh": entry}) == (
        "cfg.json: entry 'lh' field 'imagesFilePath': '../x' must not contain '..', '.' or empty path components"
    )


def test_forbidden_characters_are_named_by_line_and_column_not_json_position() -> None:
    # The escaped form "\u202e" in a JSON string is plain ASCII text and allowed; the raw
    # character is not, wherever it is (here between two keys).
    text = '{\n  "a": {"versionSource": "registry", "images": ["x/y"], "versionFilter": "\\u202e"}\u202e\n}\n'
    assert only_problem(text).startswith("cfg.json:2:")
    assert "character \\u202e is not allowed" in only_problem(text)
    assert parse('{"a": {"versionSource": "registry", "images": ["x/y"], "versionFilter": "\\u202e"}}')


def test_line_numbers_after_a_form_feed_match_grep() -> None:
    text = '{\n\x0c\n"a": {}}\n'
    assert only_problem(text).startswith("cfg.json:2:1: character \\x0c")


def test_nan_is_named_by_entry_and_field() -> None:
    text = '{"a": {"versionSource": "registry", "images": ["x/y"], "helmCharts": {"c": {"devel": NaN}}}}'
    assert only_problem(text) == (
        "cfg.json: entry 'a' field 'helmCharts.c.devel': NaN is not valid JSON (JSON numbers are finite)"
    )
    assert only_problem("[-Infinity]").startswith("cfg.json: the top level: -Infinity is not valid JSON")


def test_duplicate_keys_inside_lists_are_found() -> None:
    text = '{"a": {"versionSource": "registry", "images": [{"x": 1, "x": 2}]}}'
    assert "cfg.json: entry 'a' field 'images.x': appears more than once" in problems(text)


def test_regex_nesting_bomb_is_a_problem_not_a_recursion_error() -> None:
    problem = only_problem({"a": {**REGISTRY, "versionFilter": "(" * 100_000}})
    assert problem.startswith("cfg.json: entry 'a' field 'versionFilter': invalid regular expression '((((")
    assert problem.endswith("… (100000 bytes)': nested too deeply")


def test_quoted_values_are_escaped_and_cut() -> None:
    problem = only_problem({"a": {"versionSource": "nope\x1b]0;owned\x07" + "x" * 1000, "images": ["x/y"]}})
    assert "\x1b" not in problem and "\\x1b]0;owned\\x07" in problem
    assert "… (1014 bytes)'" in problem
    assert len(problem) < 400


def test_overlong_image_reference_is_quoted_short() -> None:
    problem = only_problem({"a": {"versionSource": "registry", "images": ["a b" * 1_000_000]}})
    assert "longer than 255 characters" in problem and len(problem) < 400


def test_load_reports_a_bad_byte_by_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes('{\n  "kéy": 1,\n  "ü\u2603x'.encode() + b"\xe2\x28" + b'": 2\n}\n')
    with pytest.raises(ConfigError) as caught:
        configfile.load(path)
    assert caught.value.problems == [f"{path}:3:7: not UTF-8 text (byte 0xe2)"]


def test_load_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        configfile.load(tmp_path)  # a directory
    assert caught.value.problems == [f"{tmp_path}: cannot read: Is a directory"]
