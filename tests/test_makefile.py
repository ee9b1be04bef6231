"""The Makefile: bare ``make`` lists the targets and runs nothing.

This deliberately differs from the seed, whose first target made bare ``make`` run add-tag
(exit 2 without IMAGES and TAGS). ``image-mirror`` is replaced on PATH by a recorder, so
the tests see every call a target makes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

#: What a user sees, in the Makefile's order: the seed's five entry points and ours.
TARGETS = [
    "help",
    "add-tag-to-existing-image.sh",
    "add-full-image-wrapper.sh",
    "check-new-images-exist.sh",
    "sort-images-list.sh",
    "image-mirror.sh",
    "test",
    "demo",
    "bench",
]


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH starts with a fake ``image-mirror`` that appends its arguments to the returned file."""
    record = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "image-mirror"
    fake.write_text('#!/bin/sh\nprintf \'%s\\n\' "$*" >> "$IMAGE_MIRROR_CALLS"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("IMAGE_MIRROR_CALLS", str(record))
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "IMAGE_MIRROR"):  # pytest started from make
        monkeypatch.delenv(name, raising=False)
    return record


def make(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("make")
    assert binary, "make is not installed (Debian package make)"
    return subprocess.run([binary, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


def test_bare_make_lists_every_target_with_one_line_and_runs_nothing(recorded: Path) -> None:
    result = make()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    header, *lines = result.stdout.splitlines()
    assert header == "Targets (make TARGET):"
    assert [line.split()[0] for line in lines] == TARGETS
    for line in lines:
        assert len(line.split(maxsplit=1)) == 2, f"no description: {line!r}"
    assert not recorded.exists(), recorded.read_text()


def test_make_help_is_the_same_as_bare_make(recorded: Path) -> None:
    assert make("help").stdout == make().stdout
    assert not recorded.exists()


def test_a_seed_target_still_runs_its_command(recorded: Path) -> None:
    # The recorder sees calls: so "nothing recorded" above means nothing ran.
    result = make("sort-images-list.sh")
    assert result.returncode == 0, result.stderr
    assert recorded.read_text() == "sort\n"
