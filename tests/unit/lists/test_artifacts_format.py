"""Rancher's formatter and regsync generator on small configs: omitempty, order, creds."""

from __future__ import annotations

from mirror.lists.artifacts_format import render_config
from mirror.lists.artifacts_read import parse_artifacts
from mirror.lists.regsync import HEADER, render_regsync

MESSY = """\
# comments do not survive Rancher's formatter
Repositories:
- Registry: b.example.com
  BaseUrl: b.example.com/m
  DefaultTarget: yes
  ReqConcurrent: 2
  RepoAuth: false
- BaseUrl: a.example.com/m
  Registry: a.example.com
  Username: 'user'
  Password: "{{ env \\"A_PASS\\" }}"
  RepoAuth: true
Artifacts:
- SourceArtifact: example/b
  Tags: []
  DoNotMirror: []
- SourceArtifact: example/a
  TargetArtifactName: mirrored-example-a
  Tags: [v10, v9, "1.10", 1.9]
  DoNotMirror: false
- SourceArtifact: example/a
  Tags: [v1]
  TargetArtifactName: a-old
  TargetRepositories: []
"""


def test_render_writes_what_go_writes() -> None:
    assert render_config(parse_artifacts(MESSY)) == (
        "Artifacts:\n"
        "- SourceArtifact: example/a\n"  # (source, effective name): a-old first
        "  Tags:\n"
        "  - v1\n"
        "  TargetArtifactName: a-old\n"  # an empty TargetRepositories is omitted
        "- DoNotMirror: false\n"
        "  SourceArtifact: example/a\n"
        "  Tags:\n"
        '  - "1.10"\n'
        '  - "1.9"\n'
        "  - v10\n"
        "  - v9\n"
        "  TargetArtifactName: mirrored-example-a\n"  # explicit, kept though equal to the default
        "- DoNotMirror: []\n"
        "  SourceArtifact: example/b\n"
        "  Tags: []\n"
        "Repositories:\n"
        "- BaseUrl: a.example.com/m\n"
        "  DefaultTarget: false\n"
        "  Password: '{{ env \"A_PASS\" }}'\n"
        "  Registry: a.example.com\n"
        "  RepoAuth: true\n"
        "  Username: user\n"
        "- BaseUrl: b.example.com/m\n"
        "  DefaultTarget: true\n"
        '  Password: ""\n'
        "  Registry: b.example.com\n"
        "  ReqConcurrent: 2\n"
        '  Username: ""\n'
    )


def test_render_is_idempotent() -> None:
    once = render_config(parse_artifacts(MESSY))
    assert render_config(parse_artifacts(once)) == once


def test_regsync_creds_distinct_sorted_by_registry() -> None:
    text = MESSY.replace("Repositories:\n", """Repositories:
- BaseUrl: a.example.com/other
  Registry: a.example.com
  Username: 'user'
  Password: '{{ env "A_PASS" }}'
  RepoAuth: true
""")
    out = render_regsync(parse_artifacts(text))
    assert out.startswith(HEADER)
    assert out[len(HEADER) :] == (
        "creds:\n"
        "- pass: '{{ env \"A_PASS\" }}'\n"
        "  registry: a.example.com\n"
        "  repoAuth: true\n"
        "  user: user\n"
        '- pass: ""\n'
        "  registry: b.example.com\n"
        "  reqConcurrent: 2\n"
        '  user: ""\n'
        "defaults:\n"
        "  userAgent: rancher-artifact-mirror\n"
        "sync:\n"
        "- source: example/a:v10\n"  # file order: the generator does not sort
        "  target: b.example.com/m/mirrored-example-a:v10\n"
        "  type: image\n"
        "- source: example/a:v9\n"
        "  target: b.example.com/m/mirrored-example-a:v9\n"
        "  type: image\n"
        "- source: example/a:1.10\n"
        "  target: b.example.com/m/mirrored-example-a:1.10\n"
        "  type: image\n"
        "- source: example/a:1.9\n"
        "  target: b.example.com/m/mirrored-example-a:1.9\n"
        "  type: image\n"
        "- source: example/a:v1\n"
        "  target: b.example.com/m/a-old:v1\n"
        "  type: image\n"
    )
