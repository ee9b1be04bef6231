"""What a file is, told by its content, without importing any of the readers.

``--images-list PATH`` takes the seed's images-list or Rancher's 2026 ``config.yaml``;
``--config PATH`` takes a ``config.json`` or an ``autoupdate.yaml``. A file name says nothing
reliable (a repository may call its file anything), so the first meaningful line decides, and
the caller then imports and runs only the reader it needs, whose errors name the real problems
(a YAML error in a config.yaml is reported as one, not as forty bad images-list lines).

This module is light on purpose: ``discover`` sniffs its ``--config`` before its first request,
and the readers of the other layout (the config.yaml and autoupdate.yaml machinery, about thirty
modules) must not be paid for on that path.
"""

from __future__ import annotations

import os
import re
import stat
from enum import StrEnum
from pathlib import Path

__all__ = ["ConfigKind", "config_kind", "file_config_kind", "is_artifacts_file", "is_artifacts_text"]

_HEAD = 65536  # enough for any comment block before the first entry

_FIRST_ENTRY = re.compile(r"""(?:---[ \t]*)?(?:\{|(["']?)(?:Artifacts|Repositories)\1[ \t]*:)""")


class ConfigKind(StrEnum):
    CONFIG_JSON = "config.json"
    AUTOUPDATE_YAML = "autoupdate.yaml"


def config_kind(text: str) -> ConfigKind | None:
    """``{`` opens config.json's object of entries, ``-`` or ``[`` opens autoupdate.yaml's list.

    YAML comments, blank lines, directives and a document marker (``---``) before it are
    skipped. Anything else is neither (an empty file too), and the caller says so rather than
    guessing.
    """
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line == "---" or line.startswith("%"):
            continue
        if line.startswith("{"):
            return ConfigKind.CONFIG_JSON
        if line.startswith("[") or line == "-" or line.startswith("- "):
            return ConfigKind.AUTOUPDATE_YAML
        return None
    return None


def is_artifacts_text(text: str) -> bool:
    """True when ``text`` is an artifact-mirror ``config.yaml`` rather than an images-list.

    The first line that is not blank or a comment starts the top-level mapping
    (``Artifacts:`` / ``Repositories:``, maybe quoted, or a JSON-style ``{``); no images-list
    line can look like that (a reference has no capitals, no ``{``, no ``:`` before a space).
    """
    for line in text.removeprefix("\ufeff").split("\n"):  # a BOM is the reader's error to report
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            if stripped == "---":
                continue
            return _FIRST_ENTRY.match(line) is not None
    return False


def _head(path: str | Path) -> str | None:
    """The beginning of a regular file as text (blocking); None when it cannot be read, or is
    not a regular file, whose content reading it here would use up (a pipe): the reader then
    reports why."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            return handle.read(_HEAD).decode("utf-8", errors="replace")
    except OSError:
        return None


def file_config_kind(path: str | Path) -> ConfigKind | None:
    """:func:`config_kind` of a file's beginning; None when it cannot be read (blocking)."""
    head = _head(path)
    return None if head is None else config_kind(head)


def is_artifacts_file(path: str | Path) -> bool:
    """Whether ``path`` holds a ``config.yaml`` (blocking; a file that cannot be read is the
    images-list reader's to report)."""
    head = _head(path)
    return head is not None and is_artifacts_text(head)
