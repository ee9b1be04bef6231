"""Which discovery config a text is: ``config.json`` (an object) or ``autoupdate.yaml`` (a list).

``--config PATH`` takes either, and a file name says nothing reliable (a repository may call
its file anything), so the first meaningful character decides: ``{`` opens config.json's
object of entries, ``-`` or ``[`` opens autoupdate.yaml's list. YAML comments and blank lines
before it are skipped; a YAML document marker (``---``) is skipped too. Anything else is
neither (an empty file too), and the caller says so rather than guessing.
"""

from __future__ import annotations

import os
import stat
from enum import StrEnum
from pathlib import Path

__all__ = ["ConfigKind", "config_kind", "file_config_kind"]

_HEAD = 65536  # enough for any comment block before the first entry


class ConfigKind(StrEnum):
    CONFIG_JSON = "config.json"
    AUTOUPDATE_YAML = "autoupdate.yaml"


def config_kind(text: str) -> ConfigKind | None:
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


def file_config_kind(path: str | Path) -> ConfigKind | None:
    """:func:`config_kind` of a file's beginning; None when it cannot be read (blocking).

    An unreadable file is left to config.json's reader, whose message says why; so is
    anything but a regular file, whose content reading it here would use up (a pipe).
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            head = handle.read(_HEAD)
    except OSError:
        return None
    return config_kind(head.decode("utf-8", errors="replace"))
