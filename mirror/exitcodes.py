"""The exit codes of image-mirror, and which one a run that hit several reports.

A run can end with items failed (1), a programming error somewhere (3) and bad input
(2) all at once. It reports the one a user must act on first: bad input, because
nothing is right until it is fixed; then an internal error, because it is a bug to
report and its items were not really tried; then ordinary failures. So the
precedence is 2 > 3 > 1 > 0.

Its own module, imported by the CLI and by the pipelines alike, so a pipeline can
combine the codes of its lines without importing the command line.
"""

from __future__ import annotations

__all__ = ["EXIT_FAILED", "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_OK", "worst"]

EXIT_OK = 0
EXIT_FAILED = 1  # some items failed; the rest completed
EXIT_INPUT = 2  # bad input: arguments, config, images-list, registries file
EXIT_INTERNAL = 3  # an exception that is not a MirrorError: a bug

# Higher is worse. A code outside this table (130: interrupted) outranks them all.
_RANK = {EXIT_OK: 0, EXIT_FAILED: 1, EXIT_INTERNAL: 2, EXIT_INPUT: 3}


def _rank(code: int) -> int:
    return _RANK.get(code, len(_RANK))


def worst(*codes: int) -> int:
    """The code to exit with when parts of a run ended with ``codes`` (0 for none)."""
    return max(codes, key=_rank, default=EXIT_OK)
