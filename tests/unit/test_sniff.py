"""--config takes config.json or autoupdate.yaml, --images-list an images-list or a config.yaml: told apart by content, not by name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mirror.sniff import ConfigKind, config_kind, file_config_kind, is_artifacts_file

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared" / "data"


def test_the_real_files() -> None:
    assert config_kind((SHARED / "rancher-2026-02" / "autoupdate.yaml").read_text()) is ConfigKind.AUTOUPDATE_YAML
    assert config_kind((SHARED / "rancher-config-2024-12.json").read_text()) is ConfigKind.CONFIG_JSON
    assert config_kind((REPO_ROOT / "config.json").read_text()) is ConfigKind.CONFIG_JSON


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('  \n{"flannel": {}}', ConfigKind.CONFIG_JSON),
        ("{}", ConfigKind.CONFIG_JSON),
        ("# autoupdate\n\n---\n- Name: x\n", ConfigKind.AUTOUPDATE_YAML),
        ("-\n  Name: x\n", ConfigKind.AUTOUPDATE_YAML),
        ("[]\n", ConfigKind.AUTOUPDATE_YAML),
        ("", None),
        ("# only a comment\n", None),
        ("Artifacts:\n- SourceArtifact: a/b\n", None),  # a config.yaml list, not a discovery config
        ("-not-a-list-item\n", None),
    ],
)
def test_first_meaningful_character_decides(text: str, kind: ConfigKind | None) -> None:
    assert config_kind(text) is kind


def test_a_file_is_told_by_its_beginning_and_only_a_regular_one_is_read(tmp_path: Path) -> None:
    (tmp_path / "any-name.json").write_text("# Rancher's\n- Name: x\n")
    assert file_config_kind(tmp_path / "any-name.json") is ConfigKind.AUTOUPDATE_YAML
    (tmp_path / "c").write_text('{"a": {}}')
    assert file_config_kind(tmp_path / "c") is ConfigKind.CONFIG_JSON
    # Left to config.json's reader, which says what is wrong: missing, a directory, a pipe
    # (reading a pipe here would leave nothing for the reader).
    assert file_config_kind(tmp_path / "missing") is None
    assert file_config_kind(tmp_path) is None
    os.mkfifo(tmp_path / "pipe")
    assert file_config_kind(tmp_path / "pipe") is None


def test_a_list_file_is_told_by_its_beginning(tmp_path: Path) -> None:
    (tmp_path / "images-list").write_text("# header\nbusybox rancher/mirrored-library-busybox 1.36.1\n")
    assert not is_artifacts_file(tmp_path / "images-list")
    # A long comment block first (Rancher's files open with a licence header) still decides by
    # the first entry.
    (tmp_path / "config.yaml").write_text("# licence\n" * 2000 + "Repositories:\n- BaseUrl: docker.io/rancher\n")
    assert is_artifacts_file(tmp_path / "config.yaml")
    # Missing, a directory, a pipe: the images-list reader reports what is wrong.
    assert not is_artifacts_file(tmp_path / "missing")
    assert not is_artifacts_file(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    assert not is_artifacts_file(tmp_path / "pipe")
