"""A hostile or broken images-list, and a disk that refuses the write, as a user sees them:
exit code, the one message on stderr, and the file after the run."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mirror import safewrite
from mirror.cli import main
from tests.support.writefaults import WRITE_FAILURES, failing

HEADER = "# Images to mirror.\n# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>\n"
UNSORTED = HEADER + "quay.io/calico/node rancher/mirrored-calico-node v3.29.0\nbusybox rancher/mirrored-library-busybox 1.36.1\n"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"pause": {"images": ["registry.k8s.io/pause"], "versionSource": "registry"}}))
    return path


def run_mirror(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mirror", "--log-format", "plain", *args], cwd=cwd,
                          capture_output=True, timeout=120, check=False, stdin=subprocess.DEVNULL)


def grep_n(path: Path, needle: str) -> int:
    out = subprocess.run(["grep", "-n", "-F", needle, str(path)], capture_output=True, check=True).stdout
    return int(out.split(b":", 1)[0])


def test_validate_names_line_and_column_of_a_smuggled_entry_and_lines_match_grep(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "images-list"
    path.write_text(HEADER
                    + "# looks like one comment\u2028evil/image rancher/mirrored-evil 1.0\n"
                    + "busybox rancher/mirrored-library-busybox 1.36.1\n"
                    + "# form feed\x0cand NEL\x85 split lines for str.splitlines\n"
                    + "flannel/flannel rancher/mirrored-flannel-flannel\n")
    assert main(["--log-format", "plain", "validate", "--images-list", str(path), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3:25: forbidden character \\u2028" in err
    assert f"{path}:5:12: forbidden character \\x0c" in err
    assert f"{path}:{grep_n(path, 'flannel/flannel')}: expected 3 fields" in err
    assert grep_n(path, "flannel/flannel") == 6
    assert "\u2028" not in err and "\x0c" not in err and "\x85" not in err
    assert "Traceback" not in err


def test_sync_refuses_a_list_with_a_forbidden_character(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """sync skips bad entries, but a smuggled one is an error before anything is copied."""
    path = tmp_path / "images-list"
    path.write_text(HEADER + "# note\u2028evil/image rancher/mirrored-evil 1.0\n")
    assert main(["--log-format", "plain", "sync", "--dry-run", "--images-list", str(path)]) == 2
    assert f"{path}:3:7: forbidden character \\u2028" in capsys.readouterr().err


def test_non_utf8_is_reported_by_line_and_column(tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "images-list"
    path.write_bytes(HEADER.encode() + b"busybox rancher/mirrored-library-busybox 1.36.1\n# na\xefve\n")
    for argv in (["validate", "--config", str(config)], ["sort"], ["sort", "--check"]):
        assert main(["--log-format", "plain", *argv, "--images-list", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{path}:4:5: not valid UTF-8 (byte \\xef)" in err
        assert "position" not in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["validate"], ["sort"], ["sort", "--check"]])
def test_a_10_mb_line_gives_a_short_error(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "images-list"
    huge = "x" * 10_000_000
    path.write_text(HEADER + f"busybox rancher/mirrored-library-busybox {huge}\n# {huge}\u2028\n{huge}\n")
    (tmp_path / "config.json").write_text("{}")
    result = run_mirror(*command, "--images-list", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr) < 4096, result.stderr[:300]
    err = result.stderr.decode()
    assert f"{path}:3: field 3 is 10000000 characters long" in err
    assert f"{path}:4:10000003: forbidden character \\u2028" in err
    assert f"{path}:5: expected 3 fields" in err
    assert "… (10000000 bytes)" in err and "Traceback" not in err


def test_sort_writes_a_crlf_file_back_as_crlf(tmp_path: Path) -> None:
    path = tmp_path / "images-list"
    path.write_bytes(UNSORTED.replace("\n", "\r\n").encode())
    assert main(["sort", "--images-list", str(path)]) == 0
    assert path.read_bytes() == (HEADER + "busybox rancher/mirrored-library-busybox 1.36.1\n"
                                 "quay.io/calico/node rancher/mirrored-calico-node v3.29.0\n").replace("\n", "\r\n").encode()


def test_sort_through_a_symlink_out_of_the_tree_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "elsewhere"
    target.write_text(UNSORTED)
    (tmp_path / "work").mkdir()
    link = tmp_path / "work" / "images-list"
    link.symlink_to(target)
    assert main(["--log-format", "plain", "sort", "--images-list", str(link)]) == 2
    assert "is a symbolic link to" in capsys.readouterr().err
    assert target.read_text() == UNSORTED and link.is_symlink()


@pytest.mark.parametrize(("seam", "code", "reason"), WRITE_FAILURES)
def test_sort_failed_write_is_one_message_exit_1_list_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], seam: str, code: int,
    reason: str,
) -> None:
    path = tmp_path / "images-list"
    path.write_text(UNSORTED)
    monkeypatch.setattr(safewrite, seam, failing(code))
    assert main(["--log-format", "plain", "sort", "--images-list", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {path}: cannot write: {reason} ({errno.errorcode[code]}); "
                                "the file was left as it was"]
    assert path.read_text() == UNSORTED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images-list", "images-list.lock"]
