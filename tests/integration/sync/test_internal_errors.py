"""A bug during one line's copy is an internal error: the line says so, the others complete, exit 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirror.copy import native
from tests.integration.sync.helpers import cli, events, mirrored, write_list
from tests.support.registry import RegistryServer
from tests.support.seed import SeededRegistry

REPOS = [("flannel/flannel", "v0.25.1"), ("library/alpine", "3.20.0")]


def test_a_programming_error_in_a_copy_exits_3_and_the_other_lines_are_copied(
    source_registry: SeededRegistry, dest_registry: RegistryServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    real_copy = native.NativeCopier.copy

    async def buggy(self: native.NativeCopier, source: object, destination: object, item: object) -> object:
        if "alpine" in str(source):
            raise AttributeError("'NoneType' object has no attribute 'digest'")
        return await real_copy(self, source, destination, item)  # type: ignore[arg-type]

    monkeypatch.setattr(native.NativeCopier, "copy", buggy)
    images_list = write_list(tmp_path, [f"{source_registry.host}/{r} {dest_registry.host}/{mirrored(r)} {t}"
                                        for r, t in REPOS])
    report_path = tmp_path / "report.json"
    assert cli(images_list, "sync", "--report", str(report_path)) == 3
    err = capsys.readouterr().err
    failed = [e for e in events(err) if e["event"] == "sync.copy.failed"]
    assert [f["reason"] for f in failed] == ["internal error: AttributeError: 'NoneType' object has no attribute 'digest'"]
    assert "Traceback" not in err
    report = json.loads(report_path.read_text())
    outcomes = {r["source"].rsplit("/", 1)[-1]: (r["outcome"], r["internal"]) for r in report["results"]}
    assert outcomes == {"flannel": ("copied", False), "alpine": ("failed", True)}

    # -v shows where the bug is; the run still goes on and exits 3.
    assert cli(images_list, "-v", "sync") == 3
    assert "Traceback (most recent call last)" in capsys.readouterr().err
