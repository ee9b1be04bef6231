"""``image-mirror validate --config autoupdate.yaml``: Rancher's real file passes; a bad one is
refused with every problem named by line, entry and field (exit 2), beside the list's problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirror.cli import main
from tests.support.data import REAL_ARTIFACTS, REAL_AUTOUPDATE

BAD = """\
# told from config.json by content: a list of entries
- Name: calico
  Reviewers: [rancher/k3s-networking]
  GithubRelease:
    Owner: projectcalico
    Repository: calico
    LatestOnly: true
    VersionConstraint: ">=3.28.0"
    Artifacts:
    - SourceArtifact: quay.io/calico/node
- Name: cilium
  Reviewers: [rancher/]
  Registry:
    Artifacts:
    - SourceArtifact: quay.io/cilium/cilium
    Latests: true
"""


def test_the_real_autoupdate_yaml_beside_the_real_config_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--config", str(REAL_AUTOUPDATE), "--list", str(REAL_ARTIFACTS)]) == 0
    err = capsys.readouterr().err
    assert f"{REAL_AUTOUPDATE}: 23 autoupdate entries OK" in err
    assert "262 artifacts" in err


def test_every_problem_is_named_with_line_entry_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "autoupdate.yaml"
    config.write_text(BAD)
    images_list = tmp_path / "images-list"
    images_list.write_text("only-two fields\n")
    assert main(["--log-format", "plain", "validate", "--config", str(config), "--images-list", str(images_list)]) == 2
    err = capsys.readouterr().err
    assert f"{config}:8: entry 'calico' field 'GithubRelease.VersionConstraint': cannot be used with LatestOnly: true" in err
    assert f"{config}:12: entry 'cilium' field 'Reviewers[0]': 'rancher/' is not a user or org/team" in err
    assert f"{config}:16: entry 'cilium' field 'Registry.Latests': unknown key" in err
    assert f"{images_list}:1:" in err  # the list is still checked
    assert "Traceback" not in err
