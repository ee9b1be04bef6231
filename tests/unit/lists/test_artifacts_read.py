"""Reading an artifact-mirror config.yaml: values as written, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirror.errors import ArtifactsFileError, InputError
from mirror.lists.artifacts import Artifact, Credential
from mirror.lists.artifacts_read import parse_artifacts, read_artifacts
from mirror.sniff import is_artifacts_text

GOOD = """\
# our mirror
Artifacts:
- SourceArtifact: example/app
  Tags:
  - 3.10
  - "3.9"
  - v1.0.0
  - 1.20
  - yes
- DoNotMirror:
  - v2
  SourceArtifact: quay.io/org/tool
  Tags: [v1, v2]
  TargetArtifactName: tool
  TargetRepositories:
  - registry.example.com/mirror
- DoNotMirror: yes
  SourceArtifact: dp.apps.rancher.io/containers/grafana
  Tags:
  - 12.1.1-2.2
Repositories:
- BaseUrl: docker.io/rancher
  DefaultTarget: true
  Password: '{{ env "HUB_PASSWORD" }}'
  Registry: docker.io
  RepoAuth: true
  Username: '{{ env "HUB_USERNAME" }}'
- BaseUrl: registry.example.com/mirror
  DefaultTarget: no
  Password: ""
  Registry: registry.example.com
  ReqConcurrent: 4
  Username: ""
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ArtifactsFileError) as caught:
        parse_artifacts(text, "c.yaml")
    assert isinstance(caught.value, InputError)
    return caught.value.problems


def test_reads_values_as_written() -> None:
    config = parse_artifacts(GOOD, "c.yaml")
    app, tool, grafana = config.artifacts
    assert app.tags == ("3.10", "3.9", "v1.0.0", "1.20", "yes")  # unquoted 3.10 stays 3.10
    assert (app.target_name, app.name, app.line) == ("", "mirrored-example-app", 3)
    assert tool == Artifact(
        "quay.io/org/tool", ("v1", "v2"), "tool", ("registry.example.com/mirror",), ("v2",)
    )
    assert grafana.do_not_mirror is True and grafana.name == "appco-grafana"
    hub, mirror = config.repositories
    assert (hub.default_target, hub.repo_auth, hub.req_concurrent) == (True, True, 0)
    assert hub.password == Credential('{{ env "HUB_PASSWORD" }}')
    assert hub.password.env_name == "HUB_PASSWORD"
    assert (mirror.default_target, mirror.req_concurrent, mirror.password.text) == (False, 4, "")


def test_credentials_never_in_repr() -> None:
    text = GOOD.replace('"{{ env "HUB_PASSWORD" }}"', "").replace(
        "'{{ env \"HUB_PASSWORD\" }}'", "s3cr3t-value"
    )
    config = parse_artifacts(text, "c.yaml")
    shown = repr(config) + str(config.repositories[0].password)
    assert "s3cr3t-value" not in shown
    assert "Credential(literal)" in shown and "Credential(env='HUB_USERNAME')" in shown


def test_every_rule_reported_at_once_with_file_line_and_field() -> None:
    text = """\
Artifacts:
- SourceArtifact: busybox
  Tags: [v1]
- SourceArtifact: example/app
  Tags: [v1, v1, "bad tag"]
  TargetRepositories: [nowhere.example.com/x]
  DoNotMirror: [v1, v1]
  TargetRepository: [docker.io/rancher]
- SourceArtifact: docker.io/example/app
  Tags: [v2]
- SourceArtifact: example/other:v1
  Tags: [v1]
  TargetArtifactName: Bad_Name
  DoNotMirror: maybe
Repositories:
- BaseUrl: docker.io/rancher
  Registry: quay.io
  Username: '{{ .Env.USER }}'
  Password: '{{ env "P1" }}'
- BaseUrl: quay.io/one
  Registry: quay.io
  Password: '{{ env "P2" }}'
  DefaultTarget: "true"
  ReqConcurrent: -1
  baseurl: x
"""
    problems = problems_of(text)
    expected = [
        "c.yaml:2: artifact busybox: SourceArtifact: 'busybox' has fewer than two /-separated parts",
        "c.yaml:4: artifact example/app: TargetRepositories: 'nowhere.example.com/x' is the BaseUrl of no repository",
        "c.yaml:5: artifact example/app: Tags: tag 'v1' listed twice",
        "c.yaml:5: artifact example/app: Tags: invalid tag 'bad tag'",
        "c.yaml:7: artifact example/app: DoNotMirror: tag 'v1' listed twice",
        "c.yaml:8: artifact example/app: unknown key TargetRepository (did you mean TargetRepositories?)",
        "c.yaml:9: artifact docker.io/example/app: same SourceArtifact and target name "
        "'mirrored-example-app' as the artifact on line 4",
        "c.yaml:11: artifact example/other:v1: SourceArtifact: a source takes no tag or digest",
        "c.yaml:13: artifact example/other:v1: TargetArtifactName: 'Bad_Name' is not a repository name",
        "c.yaml:14: artifact example/other:v1: DoNotMirror: must be true, false or a list of tags",
        "c.yaml:16: repository docker.io/rancher: Registry: 'quay.io' is not the host of BaseUrl ('docker.io')",
        'c.yaml:18: repository docker.io/rancher: Username: a template must be exactly {{ env "NAME" }}',
        "c.yaml:20: repository quay.io/one: Username/Password: differ from those of repository "
        "docker.io/rancher (line 16) for the same registry quay.io",
        "c.yaml:23: repository quay.io/one: DefaultTarget: must be true or false",
        "c.yaml:24: repository quay.io/one: ReqConcurrent: must be a whole number",
        "c.yaml:25: repository quay.io/one: unknown key baseurl (did you mean BaseUrl?)",
    ]
    assert len(problems) == len(expected), "\n".join(problems)
    for problem, start in zip(problems, expected):
        assert problem.startswith(start), problem
    assert "P1" not in "\n".join(problems) and "P2" not in "\n".join(problems)


def test_same_source_with_two_names_is_fine() -> None:
    text = GOOD.replace("Artifacts:\n", "Artifacts:\n- SourceArtifact: example/app\n  Tags: [v9]\n  TargetArtifactName: app\n")
    assert len(parse_artifacts(text).artifacts) == 4


def test_forbidden_character_names_line_and_column() -> None:
    text = GOOD.replace("  - v1.0.0", "  - v1.0.0 # \u202e hidden")
    assert problems_of(text) == ["c.yaml:7:14: forbidden character \\u202e"]


def test_escaped_forbidden_character_in_a_quoted_value() -> None:
    text = GOOD.replace('"3.9"', '"3.9\\e[2J"')
    assert problems_of(text) == ["c.yaml:6: artifact example/app: Tags: forbidden character \\x1b in '3.9\\x1b[2J'"]


def test_invalid_yaml_names_line_and_column() -> None:
    (problem,) = problems_of("Artifacts:\n- SourceArtifact: [a\n")
    assert problem.startswith("c.yaml:3:1: invalid YAML:")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "c.yaml: empty; expected Artifacts and Repositories"),
        ("Artifacts: {}\n", "c.yaml:1: Artifacts: must be a list, not a mapping"),
        ("Artifacts:\n- Tags: [v1]\n", "c.yaml:2: artifact: SourceArtifact: missing"),
        ("Repositories:\n- BaseUrl: docker.io/x\n", "c.yaml:2: repository docker.io/x: Registry: missing"),
        ("Repositories:\n- BaseUrl: rancher\n  Registry: docker.io\n",
         "c.yaml:2: repository rancher: BaseUrl: must start with the registry host"),
        ("Artifacts: []\nArtifacts: []\n", "c.yaml:2: Artifacts: given twice"),
    ],
)  # fmt: skip
def test_shape_problems(text: str, problem: str) -> None:
    assert problems_of(text)[0].startswith(problem)


def test_read_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ArtifactsFileError, match="file not found"):
        read_artifacts(tmp_path / "missing.yaml")
    bad = tmp_path / "c.yaml"
    bad.write_bytes(b"Artifacts:\n- SourceArtifact: a/\xff\n")
    with pytest.raises(ArtifactsFileError, match=r"c.yaml:2:21: not UTF-8 text \(byte 0xff\)"):
        read_artifacts(bad)
    bad.write_text(GOOD.replace("\n", "\r\n"))
    assert len(read_artifacts(bad).artifacts) == 3


@pytest.mark.parametrize(
    ("text", "is_config"),
    [
        (GOOD, True),
        ("---\nRepositories: []\n", True),
        ('# c\n\n"Artifacts": []\n', True),
        ('{"Artifacts": []}', True),
        ("# header\nflannel/flannel rancher/mirrored-flannel-flannel v0.25.1\n", False),
        ("", False),
        ("Other: 1\n", False),
        ("\ufeffArtifacts: []\n", True),
    ],
)
def test_layout_detected_by_content(text: str, is_config: bool) -> None:
    assert is_artifacts_text(text) is is_config


def test_package_exports() -> None:
    import mirror.lists as lists

    assert lists.__all__ == sorted(set(lists.__all__))
    for name in lists.__all__:
        assert getattr(lists, name) is not None


def test_huge_values_give_short_messages() -> None:
    huge = "a" * 1_000_000
    text = f"Artifacts:\n- SourceArtifact: example/{huge}\n  Tags: [{huge}]\n  {huge[:1000]}: 1\n"
    problems = problems_of(text)
    assert len(problems) == 3, problems
    assert all(len(problem) < 600 for problem in problems)
    assert "(1000008 bytes)" in problems[0]
