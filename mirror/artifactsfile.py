"""Rewriting an artifact-mirror ``config.yaml`` (and the ``regsync.yaml`` beside it) safely.

The same rules as images-list writes (:mod:`mirror.safewrite`): the read-modify-write runs
under the file's lock in the git dir, the new text replaces the file atomically, a symlink is
followed only inside its work tree. Two more:

* **the result is read back before it is written**: the new text must parse and validate
  (:func:`mirror.lists.parse_artifacts`), so an edit can never leave a file Rancher's tools
  refuse;
* **regsync.yaml follows**: when a ``regsync.yaml`` sits beside ``config.yaml``, it is
  regenerated from the new content (sorted first, as Rancher's CI does before generating)
  and replaced under the same lock whenever its bytes differ, so a repository that still
  runs regsync stays consistent.

Blocking, for the CLI's synchronous commands; async code calls it through ``anyio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import safewrite
from .errors import ArtifactsFileError
from .lists import ArtifactsConfig, parse_artifacts, read_artifacts, render_regsync, sort_config
from .value import frozen

__all__ = ["REGSYNC_NAME", "Written", "load", "regsync_path", "update"]

REGSYNC_NAME = "regsync.yaml"


@frozen
class Written:
    """What :func:`update` did: the config before and after, and which files it replaced."""

    before: ArtifactsConfig
    after: ArtifactsConfig
    config_changed: bool
    regsync_changed: bool


def load(path: str | Path) -> ArtifactsConfig:
    return read_artifacts(path)


def regsync_path(path: str | Path) -> Path:
    return Path(path).with_name(REGSYNC_NAME)


def update(path: str | Path, change: Callable[[str, ArtifactsConfig], str]) -> Written:
    """Read ``path`` under its lock, replace its text by ``change(text, config)``, keep regsync.yaml in step.

    Nothing is replaced whose bytes would stay the same.
    """
    if not Path(path).is_file():
        raise ArtifactsFileError([f"{path}: file not found"])
    target = safewrite.target_of(path)
    with safewrite.locked(target):
        before = read_artifacts(path)  # every problem reported, with the path as the user gave it
        text = target.real.read_bytes().decode("utf-8")
        new_text = change(text, before)
        after = parse_artifacts(new_text, str(path))
        config_changed = new_text != text
        if config_changed:
            safewrite.replace_file(target, new_text.encode("utf-8"))
        regsync_changed = _keep_regsync(path, after)
        return Written(before, after, config_changed, regsync_changed)


def _keep_regsync(path: str | Path, config: ArtifactsConfig) -> bool:
    beside = regsync_path(path)
    if not beside.is_file():
        return False
    regsync = safewrite.target_of(beside)
    wanted = render_regsync(sort_config(config)).encode("utf-8")
    try:
        current = regsync.real.read_bytes()
    except OSError:
        current = b""
    if current == wanted:
        return False
    safewrite.replace_file(regsync, wanted)
    return True
