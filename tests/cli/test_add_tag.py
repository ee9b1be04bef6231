"""``image-mirror add-tag`` and ``add-full-image`` as a user runs them: the four checks, their
messages and exit codes, against the session's real source registry (check 4 is a HEAD there).

``docker.io`` is pointed at the source registry with a registries file, so ``busybox`` is
read from ``<source>/library/busybox`` (1.36.0, 1.36.1, 1.37.0 exist; nothing else does).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mirror import imageslist, safewrite
from mirror.cli import main
from tests.integration.discover.helpers import cli_env, run_cli, write_registries
from tests.support.images import push_image, push_manifest
from tests.support.registry import RegistryServer
from tests.support.seed import SeededRegistry
from tests.support.writefaults import WRITE_FAILURES, failing

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADER = "# Images to mirror.\n# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>\n"


def write_list(path: Path, entries: list[str]) -> Path:
    path.write_text(HEADER + "".join(f"{entry}\n" for entry in entries))
    return path


def entries_of(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


@pytest.fixture
def registries(tmp_path: Path, source_registry: SeededRegistry) -> Path:
    return write_registries(tmp_path / "registries.yaml", {"docker.io": {"endpoint": source_registry.url}})


def add_tag(images_list: Path, registries: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(["--images-list", str(images_list), "--registries", str(registries), "--no-cache",
                    "add-tag", *args], env=env)


# ---- check 1: the image has an entry ---------------------------------------------------------


def test_no_existing_entry_exits_1_and_writes_nothing(tmp_path: Path, registries: Path) -> None:
    path = write_list(tmp_path / "images-list", ["alpine rancher/mirrored-library-alpine 3.19.1"])
    before = path.read_bytes()
    result = add_tag(path, registries, "--images", "busybox", "--tags", "1.37.0")
    assert result.returncode == 1, result.stderr
    assert "Unable to automatically add tag(s) for image busybox, no existing entries found" in result.stderr
    assert path.read_bytes() == before
    assert result.stdout == ""


# ---- check 2: exactly one mapping, or exactly one /mirrored- ----------------------------------


def test_two_mappings_without_a_mirrored_one_exit_1_listing_them(tmp_path: Path, registries: Path) -> None:
    path = write_list(tmp_path / "images-list", [
        "busybox rancher/busybox 1.36.0",
        "busybox rancher/library-busybox 1.36.1",
    ])
    before = path.read_bytes()
    result = add_tag(path, registries, "--images", "busybox", "--tags", "1.37.0")
    assert result.returncode == 1, result.stderr
    assert "more than one mapping found" in result.stderr
    assert "rancher/busybox" in result.stderr and "rancher/library-busybox" in result.stderr
    assert path.read_bytes() == before


def test_two_mirrored_mappings_are_still_ambiguous(tmp_path: Path, registries: Path) -> None:
    path = write_list(tmp_path / "images-list", [
        "busybox rancher/mirrored-busybox 1.36.0",
        "busybox rancher/mirrored-library-busybox 1.36.1",
    ])
    before = path.read_bytes()
    result = add_tag(path, registries, "--images", "busybox", "--tags", "1.37.0")
    assert result.returncode == 1, result.stderr
    assert "rancher/mirrored-busybox, rancher/mirrored-library-busybox" in result.stderr
    assert path.read_bytes() == before


def test_the_single_mirrored_mapping_wins_the_tie(tmp_path: Path, registries: Path) -> None:
    path = write_list(tmp_path / "images-list", [
        "busybox rancher/busybox 1.36.0",
        "busybox rancher/mirrored-library-busybox 1.36.0",
    ])
    result = add_tag(path, registries, "--images", "busybox", "--tags", "1.37.0")
    assert result.returncode == 0, result.stderr
    assert entries_of(path) == [
        "busybox rancher/busybox 1.36.0",
        "busybox rancher/mirrored-library-busybox 1.36.0",
        "busybox rancher/mirrored-library-busybox 1.37.0",
    ]


# ---- check 3: the tag is new -----------------------------------------------------------------


def test_a_listed_tag_is_skipped_and_the_file_is_unchanged(tmp_path: Path, registries: Path) -> None:
    path = write_list(tmp_path / "images-list", ["busybox rancher/mirrored-library-busybox 1.36.0"])
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    result = add_tag(path, registries, "--images", "busybox", "--tags", "1.36.0")
    assert result.returncode == 0, result.stderr
    assert "Found existing tag 1.36.0 for image busybox, skipping" in result.stderr
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == mtime  # not even rewritten


# ---- check 4: the tag exists upstream --------------------------------------------------------


def test_a_tag_missing_upstream_fails_the_whole_call(tmp_path: Path, registries: Path) -> None:
    path = write_list(tmp_path / "images-list", ["busybox rancher/mirrored-library-busybox 1.36.0"])
    before = path.read_bytes()
    result = add_tag(path, registries, "--images", "busybox", "--tags", "1.37.0,9.9.9")
    assert result.returncode == 1, result.stderr
    assert "Image busybox:9.9.9 does not exist" in result.stderr
    assert path.read_bytes() == before  # 1.37.0 was fine, but nothing is written


# ---- success ---------------------------------------------------------------------------------


def test_success_appends_and_sorts(tmp_path: Path, registries: Path) -> None:
    # Deliberately unsorted: the whole file ends sorted, the new lines in their places.
    path = write_list(tmp_path / "images-list", [
        "flannel/flannel rancher/mirrored-flannel-flannel v0.25.1",
        "busybox rancher/mirrored-library-busybox 1.36.0",
        "alpine rancher/mirrored-library-alpine 3.19.1",
    ])
    result = add_tag(path, registries, "--images", "busybox", "--tags", "1.37.0,1.36.1")
    assert result.returncode == 0, result.stderr
    assert path.read_text() == HEADER + "".join(f"{line}\n" for line in [
        "alpine rancher/mirrored-library-alpine 3.19.1",
        "busybox rancher/mirrored-library-busybox 1.36.0",
        "busybox rancher/mirrored-library-busybox 1.36.1",
        "busybox rancher/mirrored-library-busybox 1.37.0",
        "flannel/flannel rancher/mirrored-flannel-flannel v0.25.1",
    ])
    assert result.stdout == ""


def test_env_images_and_tags_are_trimmed(tmp_path: Path, registries: Path) -> None:
    path = write_list(tmp_path / "images-list", [
        "alpine rancher/mirrored-library-alpine 3.19.1",
        "busybox rancher/mirrored-library-busybox 1.36.0",
    ])
    result = add_tag(path, registries, env={"IMAGES": " busybox ,  ", "TAGS": " 1.36.1 , 1.37.0 "})
    assert result.returncode == 0, result.stderr
    assert entries_of(path) == [
        "alpine rancher/mirrored-library-alpine 3.19.1",
        "busybox rancher/mirrored-library-busybox 1.36.0",
        "busybox rancher/mirrored-library-busybox 1.36.1",
        "busybox rancher/mirrored-library-busybox 1.37.0",
    ]


def test_mappings_are_found_by_normalised_source_name(tmp_path: Path, registries: Path) -> None:
    path = write_list(tmp_path / "images-list", [
        "busybox rancher/mirrored-library-busybox 1.36.0",
        "docker.io/library/busybox rancher/mirrored-busybox-copy 1.36.0",
    ])
    before = path.read_bytes()
    # Two spellings of one source: check 2 sees both mappings, whichever spelling is asked for.
    result = add_tag(path, registries, env={"IMAGES": " library/busybox ", "TAGS": "1.37.0"})
    assert result.returncode == 1
    assert "more than one mapping found and 2 of them contain '/mirrored-'" in result.stderr
    assert path.read_bytes() == before


def test_no_images_exits_2(tmp_path: Path, registries: Path) -> None:
    path = write_list(tmp_path / "images-list", ["busybox rancher/mirrored-library-busybox 1.36.0"])
    before = path.read_bytes()
    result = add_tag(path, registries, "--tags", "1.37.0")
    assert result.returncode == 2
    assert "IMAGES" in result.stderr
    result = add_tag(path, registries, env={"IMAGES": " , ", "TAGS": "1.37.0"})
    assert result.returncode == 2
    assert path.read_bytes() == before


def test_no_tags_exits_2(tmp_path: Path, registries: Path) -> None:
    path = write_list(tmp_path / "images-list", ["busybox rancher/mirrored-library-busybox 1.36.0"])
    result = add_tag(path, registries, "--images", "busybox")
    assert result.returncode == 2
    assert "TAGS" in result.stderr


# ---- add-full-image --------------------------------------------------------------------------


def test_add_full_image_with_a_port_in_the_registry(tmp_path: Path, source_registry: SeededRegistry) -> None:
    """The source registry's own host as the image host: ``127.0.0.1:PORT/library/busybox:1.37.0``
    splits at the last colon after the last slash; loopback needs no registries file."""
    host = source_registry.host
    path = write_list(tmp_path / "images-list", [f"{host}/library/busybox rancher/mirrored-library-busybox 1.36.0"])
    result = run_cli(["--images-list", str(path), "--no-cache", "add-full-image",
                      "--full-images", f"{host}/library/busybox:1.37.0"])
    assert result.returncode == 0, result.stderr
    assert entries_of(path) == [
        f"{host}/library/busybox rancher/mirrored-library-busybox 1.36.0",
        f"{host}/library/busybox rancher/mirrored-library-busybox 1.37.0",
    ]


def test_add_full_image_from_env_runs_every_check(tmp_path: Path, source_registry: SeededRegistry) -> None:
    host = source_registry.host
    path = write_list(tmp_path / "images-list", [f"{host}/library/busybox rancher/mirrored-library-busybox 1.36.0"])
    before = path.read_bytes()
    result = run_cli(["--images-list", str(path), "--no-cache", "add-full-image"],
                     env={"FULL_IMAGES": f" {host}/library/busybox:1.36.1 , {host}/library/busybox:0.0.404 "})
    assert result.returncode == 1, result.stderr
    assert f"Image {host}/library/busybox:0.0.404 does not exist" in result.stderr
    assert path.read_bytes() == before


def test_add_full_image_without_a_tag_exits_2(tmp_path: Path) -> None:
    path = write_list(tmp_path / "images-list", ["busybox rancher/mirrored-library-busybox 1.36.0"])
    before = path.read_bytes()
    result = run_cli(["--images-list", str(path), "--no-cache", "add-full-image", "--full-images", "host:5000/x"])
    assert result.returncode == 2
    assert "host:5000/x" in result.stderr
    assert path.read_bytes() == before


# ---- the seed's entry point: make add-tag-to-existing-image.sh ---------------------------------


def test_make_target_runs_add_tag_with_env(tmp_path: Path, registries: Path) -> None:
    make = shutil.which("make")
    assert make, "make is not installed (Debian package make)"
    path = write_list(tmp_path / "images-list", ["busybox rancher/mirrored-library-busybox 1.36.0"])
    env = {
        "IMAGES": "busybox",
        "TAGS": "1.37.0, 1.36.1",
        "IMAGE_MIRROR_REGISTRIES": str(registries),
        # The console script installed next to this interpreter comes first on PATH.
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    }
    if not os.access(os.path.join(os.path.dirname(sys.executable), "image-mirror"), os.X_OK):
        env["IMAGE_MIRROR"] = f"{sys.executable} -m mirror"
    result = subprocess.run([make, "--no-print-directory", "-f", str(REPO_ROOT / "Makefile"),
                             "add-tag-to-existing-image.sh"], cwd=tmp_path, env=cli_env(env),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert entries_of(path) == [
        "busybox rancher/mirrored-library-busybox 1.36.0",
        "busybox rancher/mirrored-library-busybox 1.36.1",
        "busybox rancher/mirrored-library-busybox 1.37.0",
    ]

    # A failing check fails make too.
    env["TAGS"] = "9.9.9"
    result = subprocess.run([make, "--no-print-directory", "-f", str(REPO_ROOT / "Makefile"),
                             "add-tag-to-existing-image.sh"], cwd=tmp_path, env=cli_env(env),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "Image busybox:9.9.9 does not exist" in result.stderr


# ---- a refused write, and many writers at once -----------------------------------------------


@pytest.mark.parametrize(("seam", "code", "reason"), WRITE_FAILURES)
@pytest.mark.parametrize("command", ["add-tag", "add-full-image"])
def test_a_failed_write_is_one_message_exit_1_and_the_list_intact(
    tmp_path: Path, registries: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    command: str, seam: str, code: int, reason: str,
) -> None:
    path = write_list(tmp_path / "images-list", ["busybox rancher/mirrored-library-busybox 1.36.0"])
    before = path.read_bytes()
    monkeypatch.setattr(safewrite, seam, failing(code))
    what = ["--images", "busybox", "--tags", "1.37.0"] if command == "add-tag" else ["--full-images", "busybox:1.37.0"]
    exit_code = main(["--log-format", "plain", "--images-list", str(path), "--registries", str(registries), "--no-cache",
                      command, *what])
    err = capsys.readouterr().err
    assert exit_code == 1, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {path}: cannot write: {reason} ({errno.errorcode[code]}); the file was left as it was"]
    assert "Traceback" not in err
    assert path.read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


WRITERS = 20


def test_concurrent_add_tag_processes_lose_and_duplicate_nothing(tmp_path: Path, dest_registry: RegistryServer) -> None:
    """20 ``add-tag`` processes at once on a list in a git work tree: every line lands once, and
    the work tree holds nothing but the changed list (the lock lives in the git dir)."""
    tags = [f"1.0.{i}" for i in range(WRITERS)]
    image = push_image(dest_registry.url, "library/busybox", tags[0], kind="oci-manifest")
    for tag in tags[1:]:
        push_manifest(dest_registry.url, "library/busybox", tag, image.manifest, image.media_type)
    registries = write_registries(tmp_path / "registries.yaml", {"docker.io": {"endpoint": dest_registry.url}})
    repo = tmp_path / "repo"
    repo.mkdir()
    git_env = cli_env({"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "T",
                       "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1"})
    path = write_list(repo / "images-list", ["busybox rancher/mirrored-library-busybox 1.36.0"])
    for args in (["init", "-q"], ["add", "images-list"], ["commit", "-q", "-m", "list"]):
        subprocess.run(["git", *args], cwd=repo, env=git_env, check=True, capture_output=True, timeout=60)

    writers = [
        subprocess.Popen([sys.executable, "-m", "mirror", "--images-list", str(path), "--registries", str(registries),
                          "--no-cache", "add-tag", "--images", "busybox", "--tags", tag],
                         env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        for tag in tags
    ]
    errors = [writer.communicate(timeout=300)[1].decode() for writer in writers]
    results = list(zip([writer.returncode for writer in writers], errors))
    assert [code for code, _ in results] == [0] * WRITERS, [err for code, err in results if code]

    expected = ["busybox rancher/mirrored-library-busybox 1.36.0"] + [
        f"busybox rancher/mirrored-library-busybox {tag}" for tag in tags]
    assert sorted(entries_of(path)) == sorted(expected)
    assert len(entries_of(path)) == len(expected)
    assert imageslist.load(path).is_sorted()
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--ignored"], cwd=repo,
                            env=git_env, check=True, capture_output=True, text=True, timeout=60).stdout
    assert status == " M images-list\n"
