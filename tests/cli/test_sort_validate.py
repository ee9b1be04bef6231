"""``image-mirror sort`` and ``image-mirror validate`` as a user runs them: exit codes and messages."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mirror.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT.parent / "shared" / "data"
REAL_LIST = DATA / "rancher-images-list-2024-12.txt"
REAL_CONFIG = DATA / "rancher-config-2024-12.json"

HEADER = "# Images to mirror.\n# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>\n"
SORTED_ENTRIES = [
    "busybox rancher/mirrored-library-busybox 1.36.1",
    "flannel/flannel rancher/mirrored-flannel-flannel v0.25.1",
    "flannel/flannel rancher/mirrored-flannel-flannel v0.25.2",
    "quay.io/calico/node rancher/mirrored-calico-node v3.9.0",
    "quay.io/calico/node rancher/mirrored-calico-node v3.29.0",
    "registry.k8s.io/pause rancher/mirrored-pause 3.9",
]
GOOD_CONFIG = {
    "flannel": {"images": ["flannel/flannel"], "versionSource": "github-latest-release:flannel-io/flannel"},
    "pause": {"images": ["registry.k8s.io/pause"], "versionSource": "registry", "versionFilter": "^3\\.[0-9]+$"},
}


def write_list(path: Path, entries: list[str]) -> Path:
    path.write_text(HEADER + "".join(f"{entry}\n" for entry in entries))
    return path


@pytest.fixture
def sorted_list(tmp_path: Path) -> Path:
    return write_list(tmp_path / "sorted-list", SORTED_ENTRIES)


@pytest.fixture
def unsorted_list(tmp_path: Path) -> Path:
    return write_list(tmp_path / "unsorted-list", list(reversed(SORTED_ENTRIES)))


@pytest.fixture
def good_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(GOOD_CONFIG, indent=2))
    return path


# ---- validate ------------------------------------------------------------------------------


def test_validate_real_list_and_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--images-list", str(REAL_LIST), "--config", str(REAL_CONFIG)]) == 0
    captured = capsys.readouterr()
    assert "22 entries OK" in captured.err
    assert "1995 entries OK" in captured.err
    assert captured.out == ""  # status goes to stderr, stdout is for data


def test_validate_small_examples(sorted_list: Path, good_config: Path) -> None:
    assert main(["--images-list", str(sorted_list), "--config", str(good_config), "validate"]) == 0


def test_validate_two_field_line_exits_2_with_line_number(
    tmp_path: Path, good_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = SORTED_ENTRIES[:4] + ["quay.io/calico/node rancher/mirrored-calico-node"] + SORTED_ENTRIES[4:]
    path = write_list(tmp_path / "images-list", entries)  # the bad entry is line 2 + 5 = 7
    assert main(["validate", "--images-list", str(path), "--config", str(good_config)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:7" in err
    assert "3 fields" in err


def test_validate_bad_regex_names_entry_key(
    tmp_path: Path, sorted_list: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                **GOOD_CONFIG,
                "traefik-v2": {
                    "images": ["library/traefik"],
                    "versionSource": "registry",
                    "versionFilter": "^2\\.([0-9]+",
                },
            }
        )
    )
    assert main(["validate", "--config", str(config), "--images-list", str(sorted_list)]) == 2
    err = capsys.readouterr().err
    assert "traefik-v2" in err
    assert "versionFilter" in err
    assert str(config) in err


def test_validate_reports_list_and_config_problems_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "etcd": {
                    "images": ["quay.io/coreos/etcd"],
                    "versionSource": "github-releases:etcd-io/etcd",
                    "versionConstraint": ">3.5.x.y",
                }
            }
        )
    )
    path = write_list(tmp_path / "images-list", ["a/b rancher/b"])
    assert main(["validate", "--config", str(config), "--images-list", str(path)]) == 2
    err = capsys.readouterr().err
    assert "etcd" in err and "versionConstraint" in err
    assert f"{path}:3" in err


def test_validate_duplicate_line_exits_2(tmp_path: Path, good_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_list(
        tmp_path / "images-list",
        SORTED_ENTRIES + ["docker.io/library/busybox rancher/mirrored-library-busybox 1.36.1"],
    )
    assert main(["validate", "--images-list", str(path), "--config", str(good_config)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:9" in err
    assert "duplicate" in err and "line 3" in err


def test_validate_missing_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--images-list", str(tmp_path / "nope"), "--config", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert "nope.json" in err and "not found" in err
    assert str(tmp_path / "nope") in err


def test_validate_through_python_m_mirror(tmp_path: Path, good_config: Path) -> None:
    path = write_list(tmp_path / "images-list", SORTED_ENTRIES[:4] + ["x/y rancher/y"])
    result = subprocess.run(
        [sys.executable, "-m", "mirror", "--images-list", str(path), "--config", str(good_config), "validate"],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{path}:7" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_console_script_is_installed(tmp_path: Path, sorted_list: Path, good_config: Path) -> None:
    script = Path(sys.executable).parent / "image-mirror"
    assert script.exists(), "the image-mirror console script is missing: pip install -e ."
    result = subprocess.run(
        [str(script), "validate", "--images-list", str(sorted_list), "--config", str(good_config)],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# ---- sort ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--images-list", "{path}", "sort", "--check"],
        ["sort", "--check", "--images-list", "{path}"],
        ["sort", "--images-list", "{path}", "--check"],
        ["-v", "--images-list", "{path}", "sort", "--check"],
    ],
)
def test_common_options_before_or_after_subcommand(
    argv: list[str], sorted_list: Path, unsorted_list: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([arg.format(path=sorted_list) for arg in argv]) == 0
    assert main([arg.format(path=unsorted_list) for arg in argv]) == 1
    err = capsys.readouterr().err
    assert "not sorted" in err and str(unsorted_list) in err


def test_sort_check_names_first_line_out_of_place(unsorted_list: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sort", "--check", "--images-list", str(unsorted_list)]) == 1
    assert "line 3" in capsys.readouterr().err


def test_sort_rewrites_file_keeping_header_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "images-list"
    path.write_text(
        HEADER
        + "registry.k8s.io/pause rancher/mirrored-pause 3.9\n"
        + "// v3.29 requested for the 2.10 release\n"
        + "quay.io/calico/node rancher/mirrored-calico-node v3.29.0\n"
        + "busybox rancher/mirrored-library-busybox 1.36.1\n"
        + "# end of list\n"
    )
    assert main(["--images-list", str(path), "sort"]) == 0
    assert path.read_text() == (
        HEADER
        + "busybox rancher/mirrored-library-busybox 1.36.1\n"
        + "// v3.29 requested for the 2.10 release\n"
        + "quay.io/calico/node rancher/mirrored-calico-node v3.29.0\n"
        + "registry.k8s.io/pause rancher/mirrored-pause 3.9\n"
        + "# end of list\n"
    )
    assert main(["--images-list", str(path), "sort", "--check"]) == 0


def test_sort_check_leaves_file_untouched(unsorted_list: Path) -> None:
    before = unsorted_list.read_bytes()
    old = 1_600_000_000_000_000_000
    os.utime(unsorted_list, ns=(old, old))
    assert main(["sort", "--check", "--images-list", str(unsorted_list)]) == 1
    assert unsorted_list.read_bytes() == before
    assert unsorted_list.stat().st_mtime_ns == old


def test_sort_bad_list_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_list(tmp_path / "images-list", ["b/b rancher/b 1", "a/a rancher/a"])
    before = path.read_bytes()
    assert main(["sort", "--images-list", str(path)]) == 2
    assert main(["sort", "--check", "--images-list", str(path)]) == 2
    assert f"{path}:4" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_sort_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sort", "--images-list", str(tmp_path / "images-list")]) == 2
    assert "not found" in capsys.readouterr().err


def test_sort_in_missing_directory_exits_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "typo-dir" / "images-list"
    result = subprocess.run(
        [sys.executable, "-m", "mirror", "sort", "--images-list", str(path)],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert str(path) in result.stderr


# ---- where the images-list comes from: flag > IMAGES_FILE > ./images-list ------------------


def test_images_file_env_is_used_without_flag(
    monkeypatch: pytest.MonkeyPatch, sorted_list: Path, unsorted_list: Path
) -> None:
    monkeypatch.setenv("IMAGES_FILE", str(unsorted_list))
    assert main(["sort", "--check"]) == 1
    monkeypatch.setenv("IMAGES_FILE", str(sorted_list))
    assert main(["sort", "--check"]) == 0


def test_flag_beats_images_file_env(monkeypatch: pytest.MonkeyPatch, sorted_list: Path, unsorted_list: Path) -> None:
    monkeypatch.setenv("IMAGES_FILE", str(unsorted_list))
    assert main(["sort", "--check", "--images-list", str(sorted_list)]) == 0
    assert main(["--images-list", str(sorted_list), "sort", "--check"]) == 0
    monkeypatch.setenv("IMAGES_FILE", str(sorted_list))
    assert main(["--images-list", str(unsorted_list), "sort", "--check"]) == 1


def test_env_with_sort_rewrites_env_file(monkeypatch: pytest.MonkeyPatch, unsorted_list: Path) -> None:
    monkeypatch.setenv("IMAGES_FILE", str(unsorted_list))
    assert main(["sort"]) == 0
    assert unsorted_list.read_text() == HEADER + "".join(f"{entry}\n" for entry in SORTED_ENTRIES)


def test_default_is_images_list_in_current_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, good_config: Path
) -> None:
    write_list(tmp_path / "images-list", list(reversed(SORTED_ENTRIES)))
    monkeypatch.chdir(tmp_path)
    assert main(["sort", "--check"]) == 1
    assert main(["validate"]) == 0  # ./images-list and ./config.json
    assert main(["sort"]) == 0
    assert main(["sort", "--check"]) == 0


def test_env_in_subprocess(tmp_path: Path, unsorted_list: Path) -> None:
    env = {**os.environ, "IMAGES_FILE": str(unsorted_list)}
    result = subprocess.run(
        [sys.executable, "-m", "mirror", "sort", "--check"],
        capture_output=True,
        check=False,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 1
    assert str(unsorted_list) in result.stderr


# ---- help and argument errors ----------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["sort", "--help"], ["validate", "--help"]])
def test_help_exits_0(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "--images-list" in out


def test_top_level_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "sort" in out and "validate" in out


@pytest.mark.parametrize(
    "argv",
    [[], ["no-such-command"], ["sort", "--no-such-option"], ["--log-format", "xml", "sort"]],
)
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    assert main(argv) == 2


def test_shuffled_real_list_sorted_by_cli_is_original(tmp_path: Path) -> None:
    original = REAL_LIST.read_bytes()
    lines = original.decode().splitlines(keepends=True)
    body = lines[5:]
    random.Random(99).shuffle(body)
    path = tmp_path / "images-list"
    path.write_bytes("".join(lines[:5] + body).encode())
    assert main(["sort", "--check", "--images-list", str(path)]) == 1
    assert main(["sort", "--images-list", str(path)]) == 0
    assert path.read_bytes() == original
