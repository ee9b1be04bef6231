"""autoupdate.yaml: the real file validates; every rule names line, entry and field."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mirror import autoupdate
from mirror.autoupdate import Artifact, GithubRelease, HelmChart, HelmEnvironment, HelmLatest, RegistryTags
from mirror.errors import AutoupdateError, InputError

REPO_ROOT = Path(__file__).resolve().parents[3]
REAL = REPO_ROOT.parent / "shared" / "data" / "rancher-2026-02" / "autoupdate.yaml"

GOOD = """\
- Name: flannel
  Reviewers: [rancher/k3s-networking, alice]
  GithubRelease:
    Owner: flannel-io
    Repository: flannel
    LatestOnly: true
    VersionRegex: ^v(.*)
    Artifacts:
    - SourceArtifact: flannel/flannel
    - SourceArtifact: flannel/flannel
      TargetArtifactName: flannel-other
- Name: cilium
  Reviewers: [bob]
  HelmLatest:
    HelmRepo: https://helm.cilium.io
    Charts:
      cilium:
        default: []
        aws: [eni.enabled=true]
    Artifacts:
    - SourceArtifact: quay.io/cilium/cilium
    ImageDenylist: [quay.io/cilium/operator]
- Name: traefik
  Reviewers: [rancher/k3s]
  Registry:
    Artifacts:
    - SourceArtifact: library/traefik
    VersionFilter: ^2\\.
    Latest: true
"""


def problems(text: str) -> list[str]:
    with pytest.raises(AutoupdateError) as caught:
        autoupdate.parse(text, path="au.yaml")
    assert isinstance(caught.value, InputError)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def only_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def entry(body: str, name: str = "x") -> str:
    """One entry named ``name`` with reviewer ``alice`` and ``body`` (indented YAML) under it."""
    return f"- Name: {name}\n  Reviewers: [alice]\n" + body


GITHUB = "  GithubRelease:\n    Owner: o\n    Repository: r\n    Artifacts:\n    - SourceArtifact: a/b\n"


# ---- the real file ---------------------------------------------------------------------------


def test_real_autoupdate_yaml_validates() -> None:
    config = autoupdate.load(REAL)
    assert len(config.entries) == 23
    kinds = Counter(type(item.strategy).__name__ for item in config.entries)
    assert kinds == {"GithubRelease": 17, "RegistryTags": 4, "HelmLatest": 2}
    assert config.path == str(REAL)
    cilium = config.entry("cilium").strategy
    assert isinstance(cilium, HelmLatest)
    assert [env.name for env in cilium.charts[0].environments] == ["aws", "azure", "generic"]
    assert "quay.io/cilium/operator" in cilium.image_denylist
    coredns = config.entry("coredns")
    assert coredns.reviewers == ("rancher/k3s-networking",)
    assert isinstance(coredns.strategy, GithubRelease) and coredns.strategy.version_regex == "^v(.*)"
    vsphere = config.entry("vsphere-csi").strategy
    assert vsphere.artifacts[0] == Artifact(
        "registry.k8s.io/csi-vsphere/driver", "mirrored-cloud-provider-vsphere-csi-release-driver"
    )


# ---- the model -------------------------------------------------------------------------------


def test_every_field_is_read() -> None:
    config = autoupdate.parse(GOOD, path="au.yaml")
    flannel, cilium, traefik = config.entries
    assert flannel.name == "flannel" and flannel.line == 1
    assert flannel.reviewers == ("rancher/k3s-networking", "alice")
    assert flannel.strategy == GithubRelease(
        "flannel-io",
        "flannel",
        (Artifact("flannel/flannel"), Artifact("flannel/flannel", "flannel-other")),
        latest_only=True,
        version_regex="^v(.*)",
    )
    assert cilium.strategy == HelmLatest(
        "https://helm.cilium.io",
        (HelmChart("cilium", (HelmEnvironment("default"), HelmEnvironment("aws", ("eni.enabled=true",)))),),
        (Artifact("quay.io/cilium/cilium"),),
        ("quay.io/cilium/operator",),
    )
    assert traefik.strategy == RegistryTags((Artifact("library/traefik"),), "^2\\.", latest=True)
    assert config.entry("traefik") is traefik
    with pytest.raises(KeyError):
        config.entry("nope")


def test_empty_file_has_no_entries() -> None:
    assert autoupdate.parse("# nothing yet\n").entries == ()


# ---- entry rules -----------------------------------------------------------------------------


def test_unknown_keys_at_every_level() -> None:
    text = entry(GITHUB + "    Extra: 1\n    Artifacts2: []\n") + "  Labels: [x]\n"
    found = problems(text.replace("- SourceArtifact: a/b\n", "- SourceArtifact: a/b\n      Tags: [1]\n"))
    assert [message.split(": unknown key")[0] for message in found] == [
        "au.yaml:8: entry 'x' field 'GithubRelease.Artifacts[0].Tags'",
        "au.yaml:9: entry 'x' field 'GithubRelease.Extra'",
        "au.yaml:10: entry 'x' field 'GithubRelease.Artifacts2'",
        "au.yaml:11: entry 'x' field 'Labels'",
    ]
    assert found[-1].endswith("unknown key (known: Name, Reviewers, GithubRelease, HelmLatest, Registry)")


def test_name_required_unique_and_branch_safe() -> None:
    assert only_problem("- Reviewers: [a]\n" + GITHUB) == "au.yaml:1: entry #1 field 'Name': is required"
    twice = entry(GITHUB, "same") + entry(GITHUB, "same")
    assert only_problem(twice) == "au.yaml:8: entry 'same' field 'Name': is used more than once (first on line 1)"
    bad = only_problem(entry(GITHUB, "'a b'"))
    assert bad == (
        "au.yaml:1: entry #1 field 'Name': 'a b' is not a name usable in a branch"
        " (letters, digits, '.', '_', '-', parts joined by '/')"
    )
    for unusable in ("a..b", ".hidden", "x.lock", "a//b", "a/", "a/.b"):
        assert "is not a name usable in a branch" in only_problem(entry(GITHUB, unusable))
    assert autoupdate.parse(entry(GITHUB, "rke2/calico.v3_x-y")).entries[0].name == "rke2/calico.v3_x-y"
    assert "must be a non-empty string" in only_problem(entry(GITHUB, "12"))


@pytest.mark.parametrize("reviewer", ["rancher/", "/team", "a/b/c", "''"])
def test_reviewer_is_user_or_org_team_with_both_parts(reviewer: str) -> None:
    text = f"- Name: x\n  Reviewers: [ok, {reviewer}]\n" + GITHUB
    assert "field 'Reviewers[1]': " in only_problem(text)


def test_reviewers_required_and_non_empty() -> None:
    assert only_problem("- Name: x\n" + GITHUB) == "au.yaml:1: entry 'x' field 'Reviewers': is required (a user, or org/team)"
    assert only_problem("- Name: x\n  Reviewers: []\n" + GITHUB).endswith("field 'Reviewers': must be a non-empty list")


def test_exactly_one_strategy() -> None:
    assert only_problem("- Name: x\n  Reviewers: [a]\n").endswith(
        "entry 'x': needs one strategy: GithubRelease, HelmLatest, Registry"
    )
    two = entry(GITHUB + "  Registry:\n    Artifacts:\n    - SourceArtifact: a/b\n")
    assert only_problem(two) == "au.yaml:8: entry 'x': has 2 strategies (GithubRelease, Registry); exactly one is allowed"


def test_all_problems_at_once_across_entries() -> None:
    text = entry(GITHUB.replace("Owner: o", "Owner: ''"), "one") + "- Name: two\n" + GITHUB
    found = problems(text)
    assert found == [
        "au.yaml:4: entry 'one' field 'GithubRelease.Owner': must be a non-empty string",
        "au.yaml:8: entry 'two' field 'Reviewers': is required (a user, or org/team)",
    ]


def test_key_written_twice_is_an_error() -> None:
    text = entry(GITHUB + "    Owner: other\n")
    assert only_problem(text) == "au.yaml:8: entry 'x' field 'GithubRelease.Owner': appears more than once (first on line 4)"


# ---- strategies ------------------------------------------------------------------------------


def test_latest_only_forbids_version_constraint() -> None:
    text = entry(GITHUB + "    LatestOnly: true\n    VersionConstraint: '>1.0'\n")
    assert only_problem(text) == (
        "au.yaml:9: entry 'x' field 'GithubRelease.VersionConstraint': cannot be used with LatestOnly: true"
    )


def test_regexes_and_constraints_compile_at_validate() -> None:
    assert "invalid version constraint '>>1'" in only_problem(entry(GITHUB + "    VersionConstraint: '>>1'\n"))
    assert "invalid regular expression '(v'" in only_problem(entry(GITHUB + "    VersionRegex: '(v'\n"))
    registry = "  Registry:\n    Artifacts:\n    - SourceArtifact: a/b\n    VersionFilter: '[x'\n"
    assert "field 'Registry.VersionFilter': invalid regular expression" in only_problem(entry(registry))


def test_booleans_must_be_booleans() -> None:
    assert only_problem(entry(GITHUB + "    LatestOnly: 'yes'\n")).endswith(
        "field 'GithubRelease.LatestOnly': must be true or false"
    )


def test_artifacts_rules() -> None:
    def with_artifacts(lines: str) -> str:
        return entry("  Registry:\n    Artifacts:\n" + lines)

    assert only_problem(entry("  Registry:\n    Latest: true\n")).endswith(
        "field 'Registry.Artifacts': is required (a list of SourceArtifact and optional TargetArtifactName)"
    )
    assert "needs at least two parts (library/traefik?)" in only_problem(with_artifacts("    - SourceArtifact: traefik\n"))
    assert "without tag or digest" in only_problem(with_artifacts("    - SourceArtifact: a/b:1\n"))
    assert "must be lower case" in only_problem(with_artifacts("    - SourceArtifact: A/B\n"))
    assert "'Registry.Artifacts[0].SourceArtifact': is required" in only_problem(
        with_artifacts("    - TargetArtifactName: n\n")
    )
    assert "'Registry.Artifacts[0].TargetArtifactName': 'Bad Name' is not a repository name" in only_problem(
        with_artifacts("    - SourceArtifact: a/b\n      TargetArtifactName: Bad Name\n")
    )
    twice = "    - SourceArtifact: a/b\n      TargetArtifactName: n\n" * 2
    assert only_problem(with_artifacts(twice)) == (
        "au.yaml:7: entry 'x' field 'Registry.Artifacts[1]': lists a/b as n twice (first at [0])"
    )


def test_helm_rules() -> None:
    def helm(charts: str, repo: str = "https://c.example") -> str:
        return entry(f"  HelmLatest:\n    HelmRepo: {repo}\n    Charts:{charts}\n    Artifacts:\n    - SourceArtifact: a/b\n")

    assert "'HelmLatest.HelmRepo': 'ftp://x' is not an http(s) URL" in only_problem(helm(" {c: {d: []}}", "ftp://x"))
    assert only_problem(helm(" {}")).endswith("field 'HelmLatest.Charts': must name at least one chart")
    assert only_problem(helm(" {c: {}}")).endswith("field 'HelmLatest.Charts.c': must name at least one environment")
    assert "'HelmLatest.Charts.c.d[0]': 'novalue' is not a --set key=value" in only_problem(helm(" {c: {d: [novalue]}}"))
    assert "'HelmLatest.Charts.c.d': must be a list" in only_problem(helm(" {c: {d: x=1}}"))
    denied = helm(" {c: {d: []}}") + "    ImageDenylist: [a/b:1]\n"
    assert "'HelmLatest.ImageDenylist[0]': 'a/b:1' must name a repository without tag or digest" in only_problem(denied)


# ---- the file as a whole ---------------------------------------------------------------------


def test_forbidden_character_names_line_and_column() -> None:
    text = GOOD.replace("Owner: flannel-io", "Owner: flannel\u202e-io")
    assert only_problem(text) == "au.yaml:4:19: forbidden character \\u202e"


def test_crlf_line_endings_are_fine() -> None:
    assert len(autoupdate.parse(GOOD.replace("\n", "\r\n")).entries) == 3


def test_invalid_yaml_names_line_and_column() -> None:
    assert only_problem("- Name: [x\n").startswith("au.yaml:2:1: invalid YAML: ")


def test_top_level_must_be_a_list() -> None:
    assert only_problem("Name: x\n") == "au.yaml:1: the top level must be a list of entries"
    assert only_problem("- just a string\n") == "au.yaml:1: entry #1: must be a mapping"


def test_two_documents_are_an_error() -> None:
    assert "invalid YAML" in only_problem(GOOD + "---\n" + GOOD)


def test_long_values_are_excerpted() -> None:
    text = entry(GITHUB.replace("Owner: o", "Owner: " + "o" * 500 + "!"))
    message = only_problem(text)
    assert "… (501 bytes)" in message and len(message) < 250


def test_load_missing_and_undecodable(tmp_path: Path) -> None:
    with pytest.raises(AutoupdateError, match="file not found"):
        autoupdate.load(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"- Name: \xff\n")
    with pytest.raises(AutoupdateError, match=r"bad.yaml: not UTF-8 text \(byte 8\)"):
        autoupdate.load(bad)
