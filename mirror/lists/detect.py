"""Tell the two list layouts apart by content, so ``--images-list PATH`` takes either.

Cheap and without parsing: the caller reads the file once and hands the text to the right
reader, whose errors then name the real problems (a YAML error in a config.yaml is reported as
one, not as forty bad images-list lines). Pure, no I/O.
"""

from __future__ import annotations

import re

__all__ = ["is_artifacts_text"]

_FIRST_ENTRY = re.compile(r"""(?:---[ \t]*)?(?:\{|(["']?)(?:Artifacts|Repositories)\1[ \t]*:)""")


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
