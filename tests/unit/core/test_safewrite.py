"""mirror.safewrite against real git repositories: where the lock lives, symlinks, stale temp files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mirror import imageslist, safewrite
from mirror.errors import InputError
from mirror.imageslist import Line

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent", "PATH": "/usr/bin:/bin:/usr/local/bin",
}
LIST = "# header\nb/b rancher/b 1\n"


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def make_repo(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "images-list").write_text(LIST)
    git(root, "add", "images-list")
    git(root, "commit", "-q", "-m", "list")
    return root


def add_line(path: Path, tag: str = "1") -> None:
    imageslist.update(path, lambda cur: cur.with_lines([Line.make("a/a", "rancher/a", tag)]))


def test_work_tree_and_git_dir_are_gits_own(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "lists").mkdir()
    worktree = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(worktree))
    (worktree / "lists").mkdir()
    for directory in (repo, repo / "lists", worktree, worktree / "lists"):
        tree = safewrite.find_work_tree(directory.resolve())
        assert tree is not None
        assert tree.top == Path(git(directory, "rev-parse", "--show-toplevel")).resolve()
        assert tree.git_dir.resolve() == (directory / git(directory, "rev-parse", "--git-dir")).resolve()
    assert safewrite.find_work_tree(tmp_path.resolve()) is None


def test_lock_is_in_the_git_dir_and_the_work_tree_stays_clean(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    add_line(repo / "images-list")
    assert (repo / "images-list").read_text() == "# header\na/a rancher/a 1\nb/b rancher/b 1\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored") == "M images-list"
    git_dir = repo / git(repo, "rev-parse", "--git-dir")
    assert (git_dir / "image-mirror" / "images-list.lock").is_file()


def test_lock_of_a_linked_worktree_is_in_its_own_git_dir(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    worktree = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(worktree))
    add_line(worktree / "images-list")
    assert git(worktree, "status", "--porcelain", "--untracked-files=all", "--ignored") == "M images-list"
    git_dir = Path(git(worktree, "rev-parse", "--absolute-git-dir"))
    assert (git_dir / "image-mirror" / "images-list.lock").is_file()


def test_outside_git_the_lock_is_beside_the_list(tmp_path: Path) -> None:
    path = tmp_path / "images-list"
    path.write_text(LIST)
    add_line(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images-list", "images-list.lock"]


def test_symlink_inside_the_work_tree_is_written_through(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "lists").mkdir()
    (repo / "images-list").rename(repo / "lists" / "real-list")
    (repo / "images-list").symlink_to("lists/real-list")
    add_line(repo / "images-list")
    assert (repo / "images-list").is_symlink()
    assert (repo / "lists" / "real-list").read_text() == "# header\na/a rancher/a 1\nb/b rancher/b 1\n"
    assert sorted(p.name for p in (repo / "lists").iterdir()) == ["real-list"]  # the temp file was there


@pytest.mark.parametrize("in_git", [True, False])
def test_symlink_leaving_the_work_tree_is_refused(tmp_path: Path, in_git: bool) -> None:
    outside = tmp_path / "outside-list"
    outside.write_text(LIST)
    directory = make_repo(tmp_path / "repo") if in_git else tmp_path / "plain"
    directory.mkdir(exist_ok=True)
    link = directory / "link-list"
    link.symlink_to(outside)
    with pytest.raises(InputError, match=r"link-list: is a symbolic link to .*outside-list.*refusing to write"):
        add_line(link)
    assert outside.read_text() == LIST
    assert link.is_symlink()


def test_a_killed_writers_temp_files_are_removed_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "images-list"
    path.write_text(LIST)
    stale = [tmp_path / ".images-list.k2j4_x9a.tmp", tmp_path / ".images-list.zz.tmp"]
    others = [tmp_path / ".images-list.b.k2j4_x9a.tmp", tmp_path / ".other.k2j4_x9a.tmp", tmp_path / "images-list.tmp"]
    for leftover in stale + others:
        leftover.write_text("half a list")
    imageslist.update(path, lambda cur: cur)  # even a writer that changes nothing cleans up
    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in others] == [True, True, True]  # another file's temps are not ours
    assert path.read_text() == LIST
