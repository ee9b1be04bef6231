"""Rewriting a file the user keeps in git (images-list): locked, atomic, and never outside the tree.

The rules, and why:

* **The lock lives outside the work tree.** A workflow that runs ``git add -A`` after
  ``add-tag`` would otherwise commit the lock file. In a git work tree it is
  ``<git-dir>/image-mirror/<name>.lock`` (``<git-dir>`` is what ``git rev-parse --git-dir``
  prints; linked worktrees and submodules have a ``.git`` *file* saying ``gitdir: …``);
  elsewhere ``<file>.lock`` beside the file. The git dir is found by walking up for ``.git``
  (no git process, so nothing here waits on a child). The lock is an exclusive ``flock``
  around the whole read-modify-write, so writers of one file never lose or duplicate a line.
* **Symlinks are followed only inside the same work tree.** Replacing the link by a plain file
  would leave its target unchanged; following any link would let a change to the repository
  make the tool rewrite a file outside it. So a link whose resolved target is in the link's
  own work tree is written through (temporary file in the target's directory), anything else
  is refused as bad input.
* **Readers see the old file or the new one.** The content goes to ``.<name>.<random>.tmp``
  beside the target, is fsynced, and ``os.replace`` moves it into place. A writer killed in
  between leaves its temporary file; the next writer removes such files while it holds the
  lock (no other writer can own one then).
* **A failed write is one message.** Any ``OSError`` while writing (disk full, read-only file
  system, permission) becomes a :class:`WriteError` naming the file; the file is unchanged.

Blocking, for the CLI's synchronous commands; async code calls it through ``anyio.to_thread``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError, WriteError
from .value import frozen

__all__ = ["Target", "WorkTree", "find_work_tree", "locked", "replace_file", "target_of"]


@frozen
class WorkTree:
    """A git work tree's top directory and its git dir (``git rev-parse --git-dir``)."""

    top: Path
    git_dir: Path


@frozen
class Target:
    """The file a write replaces, how the user named it, and the lock that guards it."""

    shown: str  # the path as given, for messages
    real: Path  # the file actually replaced (a symlink's resolved target)
    lock: Path
    linked: bool = False  # ``shown`` is a symlink to ``real``

    @property
    def label(self) -> str:
        """The file for a message: as given, and where a link leads."""
        return f"{self.shown} (-> {self.real})" if self.linked else self.shown


def find_work_tree(directory: Path) -> WorkTree | None:
    """The git work tree containing ``directory`` (absolute, resolved), found as git finds it."""
    for candidate in (directory, *directory.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return WorkTree(candidate, dot_git)
        if dot_git.is_file():
            git_dir = _gitdir_of_file(dot_git)
            if git_dir is not None:
                return WorkTree(candidate, git_dir)
    return None


def _gitdir_of_file(dot_git: Path) -> Path | None:
    """The git dir a ``.git`` file names (``gitdir: <path>``, relative to the file), or None."""
    try:
        first = dot_git.read_text(encoding="utf-8").split("\n", 1)[0].rstrip("\r")
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith("gitdir:"):
        return None
    git_dir = Path(first[len("gitdir:"):].strip())
    return (dot_git.parent / git_dir).resolve() if not git_dir.is_absolute() else git_dir


def target_of(path: str | Path) -> Target:
    """Where a write of ``path`` goes and which lock guards it; a link leaving its work tree is an InputError."""
    given = Path(path)
    real = given.resolve()
    tree = find_work_tree(real.parent)
    linked = given.is_symlink()
    if linked:
        link_tree = find_work_tree(Path(os.path.abspath(given)).parent.resolve())
        if link_tree is None or tree is None or link_tree.top != tree.top:
            where = f"outside the git work tree {link_tree.top}" if link_tree else "and is not in a git work tree"
            raise InputError(
                f"{path}: is a symbolic link to {real}, {where}; refusing to write through it "
                "(a link is followed only to a file in the same git work tree)"
            )
    if tree is not None:
        lock = tree.git_dir / "image-mirror" / f"{real.name}.lock"
    else:
        lock = real.with_name(f"{real.name}.lock")
    return Target(str(path), real, lock, linked)


@contextmanager
def locked(target: Target) -> Iterator[None]:
    """Hold the exclusive lock of ``target`` (blocking); stale temporary files are removed first."""
    try:
        target.lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise WriteError(f"{target.label}: cannot create the lock file {target.lock}: {_reason(exc)}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise WriteError(f"{target.label}: cannot lock {target.lock}: {_reason(exc)}") from None
        _remove_stale_temps(target.real)
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock


def _temp_pattern(name: str) -> re.Pattern[str]:
    # The random part has no dot, so the temp files of ``a`` never match those of ``a.b``.
    return re.compile(rf"\.{re.escape(name)}\.[A-Za-z0-9_]+\.tmp")


def _remove_stale_temps(real: Path) -> None:
    """Delete ``.<name>.*.tmp`` left by a killed writer (the caller holds the lock)."""
    pattern = _temp_pattern(real.name)
    try:
        entries = list(os.scandir(real.parent))
    except OSError:
        return
    for entry in entries:
        if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
            except OSError:
                pass  # best effort: a directory we cannot clean also fails the write, with a message


# The three steps that touch the disk; tests replace them to inject ENOSPC, EROFS, EACCES.
def _create_temp(directory: Path, name: str) -> tuple[int, str]:
    return tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _replace(source: str, destination: Path) -> None:
    os.replace(source, destination)


def replace_file(target: Target, data: bytes) -> None:
    """Atomically replace ``target.real`` by ``data``, keeping its mode (call under :func:`locked`)."""
    real = target.real
    try:
        mode = real.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    except OSError as exc:
        raise WriteError(_failed(target, exc)) from None
    tmp: str | None = None
    try:
        fd, tmp = _create_temp(real.parent, real.name)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        _replace(tmp, real)
        tmp = None
    except OSError as exc:
        raise WriteError(_failed(target, exc)) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _failed(target: Target, exc: OSError) -> str:
    return f"{target.label}: cannot write: {_reason(exc)}; the file was left as it was"


def _reason(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0)
    reason = exc.strerror or str(exc)
    return f"{reason} ({name})" if name else reason
