"""Golden tests on Rancher's real 2026-02 files (read in place from shared/data, never copied).

The oracle is what Rancher's own Go tools made: ``config.yaml`` as their formatter wrote it and
the ``regsync.yaml`` their generator made from it.
"""

from __future__ import annotations

import random
import re

import pytest
import yaml

from mirror.lists.artifacts import ArtifactsConfig
from mirror.lists.artifacts_format import render_config
from mirror.lists.artifacts_read import parse_artifacts, read_artifacts
from mirror.sniff import is_artifacts_text
from mirror.lists.expand import artifact_lines, copies
from mirror.lists.regsync import render_regsync
from tests.support.data import SHARED_DATA

RANCHER_2026 = SHARED_DATA / "rancher-2026-02"
CONFIG_YAML = RANCHER_2026 / "config.yaml"
REGSYNC_YAML = RANCHER_2026 / "regsync.yaml"
_ENTRY = re.compile(r"^- source: (\S+)\n  target: (\S+)\n  type: image\n", re.MULTILINE)


@pytest.fixture(scope="module")
def real() -> ArtifactsConfig:
    return read_artifacts(CONFIG_YAML)


def test_real_config_validates_and_is_detected(real: ArtifactsConfig) -> None:
    assert is_artifacts_text(CONFIG_YAML.read_text())
    assert (len(real.artifacts), len(real.repositories)) == (262, 7)
    assert sum(len(artifact.tags) for artifact in real.artifacts) == 2645


def test_copies_are_the_7526_regsync_entries(real: ArtifactsConfig) -> None:
    entries = _ENTRY.findall(REGSYNC_YAML.read_text())
    assert len(entries) == 7526
    pairs = copies(real)
    assert set(pairs) == set(entries)
    assert pairs == entries  # and in the generator's order
    lines = artifact_lines(real)
    assert sorted((line.source, t) for line in lines for t in line.targets) == sorted(entries)


def test_regenerated_regsync_yaml_is_byte_for_byte(real: ArtifactsConfig) -> None:
    assert render_regsync(real) == REGSYNC_YAML.read_text()


def test_formatter_reproduces_the_real_file_byte_for_byte(real: ArtifactsConfig) -> None:
    assert render_config(real) == CONFIG_YAML.read_text()


def _shuffled_yaml(config: ArtifactsConfig, seed: int) -> str:
    """The same content in another order and another emitter's style (PyYAML, keys shuffled)."""
    rng = random.Random(seed)

    def shuffled(mapping: dict[str, object]) -> dict[str, object]:
        keys = list(mapping)
        rng.shuffle(keys)
        return {key: mapping[key] for key in keys}

    artifacts = []
    for artifact in config.artifacts:
        tags = list(artifact.tags)
        rng.shuffle(tags)
        entry: dict[str, object] = {"SourceArtifact": artifact.source, "Tags": tags}
        if artifact.target_name:
            entry["TargetArtifactName"] = artifact.target_name
        if artifact.target_repositories:
            entry["TargetRepositories"] = list(artifact.target_repositories)
        if artifact.do_not_mirror is not None:
            dnm = artifact.do_not_mirror
            entry["DoNotMirror"] = dnm if isinstance(dnm, bool) else list(dnm)
        artifacts.append(shuffled(entry))
    rng.shuffle(artifacts)
    repositories = []
    for repo in config.repositories:
        fields: dict[str, object] = {
            "BaseUrl": repo.base_url,
            "Registry": repo.registry,
            "Username": repo.username.text,
            "Password": repo.password.text,
            "DefaultTarget": repo.default_target,
        }
        if repo.repo_auth:
            fields["RepoAuth"] = True
        repositories.append(shuffled(fields))
    rng.shuffle(repositories)
    return yaml.safe_dump({"Repositories": repositories, "Artifacts": artifacts}, sort_keys=False, width=60)


def test_shuffled_copy_sorts_back_byte_for_byte(real: ArtifactsConfig) -> None:
    original = CONFIG_YAML.read_text()
    for seed in (1, 2):
        text = _shuffled_yaml(real, seed)
        assert text != original
        assert render_config(parse_artifacts(text, "shuffled.yaml")) == original


def test_cases_the_issue_names(real: ArtifactsConfig) -> None:
    text = render_config(real)
    # two banzaicloud/logging-operator artifacts: the explicit name sorts first
    assert (
        "- SourceArtifact: banzaicloud/logging-operator\n  Tags:\n  - 3.6.0\n"
        in text
    )
    first = text.index("TargetArtifactName: banzaicloud-logging-operator\n")
    second = text.index("- SourceArtifact: banzaicloud/logging-operator\n  Tags:\n  - 3.10.0\n")
    assert first < second
    # byte order: 3.10.0 before 3.9.0
    assert "  - 3.10.0\n  - 3.12.0\n  - 3.9.0\n" in text
    # strings a YAML 1.1 reader would take for numbers stay quoted
    assert '  - "3.10"\n' in text and '  - "18.09"\n' in text
    assert "  DefaultTarget: false\n" in text
    assert "  Password: '{{ env \"DOCKER_PASSWORD\" }}'\n" in text
    assert '- DoNotMirror:\n  - "1.0"\n  SourceArtifact: ghcr.io/epinio/epinio-unpacker\n' in text
    banzai = [a for a in real.artifacts if a.source == "banzaicloud/logging-operator"]
    assert [a.target_name for a in banzai] == ["banzaicloud-logging-operator", ""]
