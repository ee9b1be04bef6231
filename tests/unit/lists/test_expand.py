"""The copies a config.yaml asks for: default names, targets, DoNotMirror, self-copies."""

from __future__ import annotations

import pytest

from mirror.lists.artifacts import default_target_name
from mirror.lists.artifacts_read import parse_artifacts
from mirror.lists.expand import artifact_lines, copies, target_repositories

CONFIG = """\
Artifacts:
- SourceArtifact: quay.io/calico/node
  Tags: [v3.1, v3.2]
- SourceArtifact: quay.io/calico/node
  Tags: [v3.1]
  TargetArtifactName: calico-node
- SourceArtifact: example/only-extra
  Tags: [v1]
  TargetRepositories: [extra.example.com/m, hub.example.com/rancher]
- SourceArtifact: example/skip-some
  Tags: [v1, v2, v3]
  DoNotMirror: [v2]
- SourceArtifact: example/kept-record
  Tags: [v1]
  DoNotMirror: true
- SourceArtifact: example/not-skipped
  Tags: [v1]
  DoNotMirror: false
- SourceArtifact: dp.apps.rancher.io/charts/cluster-autoscaler
  Tags: [9.50.1]
  TargetRepositories: [extra.example.com/m]
- SourceArtifact: hub.example.com/rancher/mirrored-example-self
  Tags: [v1]
  TargetArtifactName: mirrored-example-self
Repositories:
- BaseUrl: hub.example.com/rancher
  DefaultTarget: true
  Registry: hub.example.com
- BaseUrl: extra.example.com/m
  DefaultTarget: false
  Registry: extra.example.com
- BaseUrl: suse.example.com/rancher
  DefaultTarget: true
  Registry: suse.example.com
"""


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("quay.io/calico/node", "mirrored-calico-node"),
        ("flannel/flannel", "mirrored-flannel-flannel"),
        ("gcr.io/a/b/c/d", "mirrored-c-d"),
        ("dp.apps.rancher.io/containers/grafana", "appco-grafana"),
        ("dp.apps.rancher.io/charts/x", "appco-x"),
    ],
)
def test_default_target_name(source: str, name: str) -> None:
    assert default_target_name(source) == name


def test_copies_in_regsync_order() -> None:
    pairs = copies(parse_artifacts(CONFIG))
    assert pairs == [
        ("quay.io/calico/node:v3.1", "hub.example.com/rancher/mirrored-calico-node:v3.1"),
        ("quay.io/calico/node:v3.2", "hub.example.com/rancher/mirrored-calico-node:v3.2"),
        ("quay.io/calico/node:v3.1", "suse.example.com/rancher/mirrored-calico-node:v3.1"),
        ("quay.io/calico/node:v3.2", "suse.example.com/rancher/mirrored-calico-node:v3.2"),
        ("quay.io/calico/node:v3.1", "hub.example.com/rancher/calico-node:v3.1"),
        ("quay.io/calico/node:v3.1", "suse.example.com/rancher/calico-node:v3.1"),
        # Repositories order, not TargetRepositories order
        ("example/only-extra:v1", "hub.example.com/rancher/mirrored-example-only-extra:v1"),
        ("example/only-extra:v1", "extra.example.com/m/mirrored-example-only-extra:v1"),
        ("example/skip-some:v1", "hub.example.com/rancher/mirrored-example-skip-some:v1"),
        ("example/skip-some:v3", "hub.example.com/rancher/mirrored-example-skip-some:v3"),
        ("example/skip-some:v1", "suse.example.com/rancher/mirrored-example-skip-some:v1"),
        ("example/skip-some:v3", "suse.example.com/rancher/mirrored-example-skip-some:v3"),
        ("example/not-skipped:v1", "hub.example.com/rancher/mirrored-example-not-skipped:v1"),
        ("example/not-skipped:v1", "suse.example.com/rancher/mirrored-example-not-skipped:v1"),
        ("dp.apps.rancher.io/charts/cluster-autoscaler:9.50.1",
         "extra.example.com/m/appco-cluster-autoscaler:9.50.1"),
        # the source's own repository is skipped, the other default target kept
        ("hub.example.com/rancher/mirrored-example-self:v1",
         "suse.example.com/rancher/mirrored-example-self:v1"),
    ]  # fmt: skip


def test_lines_group_destinations_per_artifact_and_tag() -> None:
    config = parse_artifacts(CONFIG)
    lines = artifact_lines(config)
    assert [(line.source, line.targets) for line in lines[:3]] == [
        ("quay.io/calico/node:v3.1",
         ("hub.example.com/rancher/mirrored-calico-node:v3.1", "suse.example.com/rancher/mirrored-calico-node:v3.1")),
        ("quay.io/calico/node:v3.2",
         ("hub.example.com/rancher/mirrored-calico-node:v3.2", "suse.example.com/rancher/mirrored-calico-node:v3.2")),
        ("quay.io/calico/node:v3.1",
         ("hub.example.com/rancher/calico-node:v3.1", "suse.example.com/rancher/calico-node:v3.1")),
    ]  # fmt: skip
    assert lines[2].artifact.target_name == "calico-node"
    assert {(line.source, target) for line in lines for target in line.targets} == set(copies(config))
    assert not [line for line in lines if line.artifact.source == "example/kept-record"]


def test_a_kept_record_still_has_targets() -> None:
    config = parse_artifacts(CONFIG)
    kept = next(a for a in config.artifacts if a.source == "example/kept-record")
    assert [r.base_url for r in target_repositories(config, kept)] == [
        "hub.example.com/rancher",
        "suse.example.com/rancher",
    ]
    assert kept.mirrored_tags == ()


def test_docker_hub_self_copy_is_skipped_after_normalising() -> None:
    text = """\
Artifacts:
- SourceArtifact: rancher/mirrored-library-x
  Tags: [v1]
  TargetArtifactName: mirrored-library-x
Repositories:
- BaseUrl: docker.io/rancher
  DefaultTarget: true
  Registry: docker.io
- BaseUrl: index.docker.io/rancher
  DefaultTarget: true
  Registry: index.docker.io
"""
    assert copies(parse_artifacts(text)) == []
