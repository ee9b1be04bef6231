"""A command's exit code from its items: 1 when some failed, 3 when any failed through a bug.

Every command that works item by item (lines, entries, additions) ends the same way: the
tracebacks of internal errors go to stderr with ``-v`` only (the item's one-line reason was
already reported), and the exit code follows :func:`mirror.exitcodes.worst`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..exitcodes import EXIT_FAILED, EXIT_INTERNAL, EXIT_OK, worst

if TYPE_CHECKING:
    from ..output import Output

__all__ = ["exit_code"]


def exit_code(out: Output, *, failed: bool, tracebacks: Iterable[str] = ()) -> int:
    """``worst`` of 1 (``failed``) and 3 (any traceback); each traceback shown with ``-v``."""
    internal = False
    for text in tracebacks:
        if text:
            internal = True
            out.debug(text.rstrip())
    return worst(EXIT_FAILED if failed else EXIT_OK, EXIT_INTERNAL if internal else EXIT_OK)
