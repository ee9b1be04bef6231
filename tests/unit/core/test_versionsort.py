"""``version_sorted`` must order lines exactly like ``LC_ALL=C sort -V`` (GNU coreutils)."""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mirror.cli import main
from mirror.versionsort import filevercmp, version_sorted

REPO_ROOT = Path(__file__).resolve().parents[3]
REAL_LIST = REPO_ROOT.parent / "shared" / "data" / "rancher-images-list-2024-12.txt"
SORT = "/usr/bin/sort"
HEADER_LINES = 5


def sort_v(lines: list[str]) -> list[str]:
    """The reference: GNU sort -V in the C locale."""
    assert Path(SORT).exists(), f"{SORT} (GNU coreutils) is needed for this test: apt-get install coreutils"
    env = {**os.environ, "LC_ALL": "C"}
    result = subprocess.run(
        [SORT, "-V"],
        input="".join(f"{line}\n" for line in lines).encode(),
        capture_output=True,
        env=env,
        check=True,
    )
    return result.stdout.decode().split("\n")[:-1]


def assert_same_as_sort(lines: list[str]) -> None:
    expected = sort_v(lines)
    got = version_sorted(lines)
    if got != expected:
        first = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
        pytest.fail(
            f"differs from sort -V at {first}: got {got[first]!r}, sort -V has {expected[first]!r}\ninput={lines!r}"
        )


# ---- property tests against /usr/bin/sort ---------------------------------------------------

ALPHABET = "abcxyzXYZ0123456789.-~_/: "


@pytest.mark.parametrize("seed", range(40))
def test_random_strings_match_sort_v(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(5):  # 200 rounds in all
        lines = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14))) for _ in range(rng.randint(2, 80))]
        assert_same_as_sort(lines)


@pytest.mark.parametrize("seed", range(20))
def test_random_short_strings_small_alphabet_match_sort_v(seed: int) -> None:
    """Few characters and short strings make near-ties (the tricky cases) frequent."""
    rng = random.Random(1000 + seed)
    alphabet = rng.choice(["a0.~", "aZ09.-~", "a1.~ /", "A.0_", ".a~1b:"])
    lines = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7))) for _ in range(300)]
    assert_same_as_sort(lines)


def test_every_short_string_matches_sort_v() -> None:
    alphabet = "a0.~1-"
    lines = ["".join(chars) for n in range(4) for chars in itertools.product(alphabet, repeat=n)]
    random.Random(7).shuffle(lines)
    assert_same_as_sort(lines)


def _random_image_line(rng: random.Random) -> str:
    hosts = ["", "", "quay.io/", "registry.k8s.io/", "gcr.io/", "ghcr.io/", "localhost:5000/", "registry.suse.com/"]
    words = ["calico", "node", "cni", "csi-attacher", "sig-storage", "k8s-dns-node-cache", "pause", "x2", "x10", "etcd"]
    path = "/".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
    source = rng.choice(hosts) + path
    dest = "rancher/mirrored-" + path.replace("/", "-")
    numbers = ".".join(
        str(rng.choice([0, 1, 2, 9, 10, 11, 99, 100, rng.randint(0, 30)])) for _ in range(rng.randint(1, 4))
    )
    tag = (
        rng.choice(["", "", "v"])
        + numbers
        + rng.choice(["", "", "", "-rc1", "-rc.2", "-alpine", "~beta", "-build.20241201", "_linux", ".tar.gz"])
    )
    sep = rng.choice([" ", " ", " ", "  ", "\t"])
    return f"{source}{sep}{dest}{sep}{tag}"


@pytest.mark.parametrize("seed", range(20))
def test_random_image_lines_match_sort_v(seed: int) -> None:
    rng = random.Random(5000 + seed)
    for _ in range(5):  # 100 rounds in all
        lines = [_random_image_line(rng) for _ in range(rng.randint(2, 120))]
        assert_same_as_sort(lines)


def test_real_images_list_entries_match_sort_v() -> None:
    entries = REAL_LIST.read_text().splitlines()[HEADER_LINES:]
    shuffled = entries[:]
    random.Random(2024).shuffle(shuffled)
    assert version_sorted(shuffled) == sort_v(shuffled) == entries


# ---- explicit edge cases ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "ordered",
    [
        ["v1.9", "v1.10"],
        ["x v1.9.0", "x v1.10.0", "x v1.10.1"],
        # the release before its pre-release: sort -V is not semver (end of string < "-")
        ["1.2.3", "1.2.3-rc1"],
        ["a2b", "a10b"],
        ["img:2", "img:10", "img:100"],
        # leading zeros: numerically equal, ties broken bytewise
        ["1.01", "1.1", "1.2"],
        ["1.001", "1.01", "1.1"],
        # "~" sorts before everything, even the end of the string
        ["1.0~rc1", "1.0", "1.0-rc1"],
        ["a~", "a"],
        # file suffixes are compared last
        ["foo-1.2.tar.gz", "foo-1.10.tar.gz"],
        ["a.tar.gz", "a1.tar.gz"],
        # letters before other characters, upper case before lower case
        ["1.0A", "1.0a", "1.0-"],
        ["Zebra", "apple"],
        # empty line first, then dot files
        ["", ".hidden", "a"],
    ],
)
def test_explicit_orders(ordered: list[str]) -> None:
    assert sort_v(list(reversed(ordered))) == ordered  # the reference agrees with the table
    assert version_sorted(list(reversed(ordered))) == ordered
    assert version_sorted(ordered) == ordered


def test_filevercmp_sign() -> None:
    assert filevercmp(b"v1.9", b"v1.10") < 0
    assert filevercmp(b"v1.10", b"v1.9") > 0
    assert filevercmp(b"1.01", b"1.1") == 0  # equal as versions; version_sorted breaks the tie
    assert filevercmp(b"", b"") == 0


def test_version_sorted_keeps_duplicates_and_is_stable_input_independent() -> None:
    lines = ["b 1", "a 2", "b 1", "a 10"]
    assert version_sorted(lines) == ["a 2", "a 10", "b 1", "b 1"]
    assert version_sorted(reversed(lines)) == version_sorted(lines)
    assert version_sorted([]) == []


# ---- the real 1,995-line list through `image-mirror sort` ------------------------------------


def _shuffled_copy(tmp_path: Path, seed: int = 1) -> tuple[Path, bytes]:
    original = REAL_LIST.read_bytes()
    lines = original.decode().splitlines(keepends=True)
    assert len(lines) == HEADER_LINES + 1995
    header, body = lines[:HEADER_LINES], lines[HEADER_LINES:]
    random.Random(seed).shuffle(body)
    path = tmp_path / "images-list"
    path.write_bytes("".join(header + body).encode())
    assert path.read_bytes() != original
    return path, original


def test_cli_sort_restores_real_list_byte_for_byte(tmp_path: Path) -> None:
    path, original = _shuffled_copy(tmp_path)
    assert main(["--images-list", str(path), "sort"]) == 0
    assert path.read_bytes() == original
    assert not list(tmp_path.glob(".images-list.*"))  # no temporary file left behind
    # sorting a sorted list changes nothing
    assert main(["--images-list", str(path), "sort"]) == 0
    assert path.read_bytes() == original


def test_python_m_mirror_sort_restores_real_list(tmp_path: Path) -> None:
    path, original = _shuffled_copy(tmp_path, seed=2)
    result = subprocess.run(
        [sys.executable, "-m", "mirror", "sort", "--images-list", str(path)],
        capture_output=True,
        check=False,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert path.read_bytes() == original


def test_sort_check_exit_codes_and_writes_nothing(tmp_path: Path) -> None:
    sorted_copy = tmp_path / "sorted" / "images-list"
    sorted_copy.parent.mkdir()
    sorted_copy.write_bytes(REAL_LIST.read_bytes())
    shuffled, _ = _shuffled_copy(tmp_path, seed=3)
    old = 1_600_000_000_000_000_000
    for path in (sorted_copy, shuffled):
        os.utime(path, ns=(old, old))
    before = {path: path.read_bytes() for path in (sorted_copy, shuffled)}

    assert main(["--images-list", str(sorted_copy), "sort", "--check"]) == 0
    assert main(["sort", "--check", "--images-list", str(shuffled)]) == 1

    for path in (sorted_copy, shuffled):
        assert path.read_bytes() == before[path]
        assert path.stat().st_mtime_ns == old


def test_sort_check_on_real_list_in_place_is_read_only() -> None:
    """--check never writes, so it works on the shared read-only data file itself."""
    mtime = REAL_LIST.stat().st_mtime_ns
    assert main(["--images-list", str(REAL_LIST), "sort", "--check"]) == 0
    assert REAL_LIST.stat().st_mtime_ns == mtime
