"""``image-mirror sync --report FILE`` when FILE cannot be written: one message naming the
file, exit 1, the run's summary still printed, no traceback.

An empty images-list keeps the run offline. The disk-full case is real (``/dev/full``
answers every write with ENOSPC, even for root); read-only and permission failures are
injected at the write seam, since the tests run as root.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from mirror.cli import main
from mirror.commands import sync as sync_command


@pytest.fixture
def empty_list(tmp_path: Path) -> Path:
    path = tmp_path / "images-list"
    path.write_text("# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>\n")
    return path


def run_sync(empty_list: Path, report: str) -> int:
    return main(["--log-format", "plain", "--no-cache", "sync", "--images-list", str(empty_list), "--report", report])


def test_report_is_written(empty_list: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    assert run_sync(empty_list, str(report)) == 0
    document = json.loads(report.read_text())
    assert document["totals"]["failed"] == 0 and document["results"] == []
    assert "error" not in capsys.readouterr().err


def test_disk_full_report(empty_list: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_sync(empty_list, "/dev/full") == 1
    err = capsys.readouterr().err
    assert "error: cannot write /dev/full: No space left on device" in err
    assert "sync: 0 copied, 0 skipped, 0 failed" in err  # the summary is not lost
    assert err.count("/dev/full") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_failed_report_write_is_one_message_and_exit_1(
    empty_list: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    report = tmp_path / "out" / "report.json"

    def refuse(path: str, text: str) -> None:
        raise OSError(code, os.strerror(code), path)

    monkeypatch.setattr(sync_command, "_write_text", refuse)
    assert run_sync(empty_list, str(report)) == 1
    err = capsys.readouterr().err
    assert f"error: cannot write {report}: {os.strerror(code)}\n" in err
    assert err.count(str(report)) == 1
    assert "Traceback" not in err
    assert not report.exists()
