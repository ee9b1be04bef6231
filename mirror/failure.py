"""What one failed line or entry says: an expected failure, or an internal error (a bug).

The pipelines catch ``Exception`` around each line and each entry so that one failure never
stops the others. That catch must not make a programming error look like an ordinary
"failed" line: an exception that is not a :class:`~mirror.errors.MirrorError` (the transport
turns every network fault into one) is an *internal error*. It is reported as
``internal error: <type>: <message>``, its traceback travels with the result so the command
can show it with ``-v``, and the command exits 3 (see :mod:`mirror.exitcodes`).

Only the formatted traceback is kept, never the exception: a long run that hits the same bug
on thousands of lines must not keep thousands of frames (and their locals) alive.
"""

from __future__ import annotations

import traceback

from .errors import MirrorError
from .value import frozen

__all__ = ["Failure", "describe"]


@frozen
class Failure:
    """A one-line, secret-free reason; for an internal error also the formatted traceback."""

    reason: str
    internal: bool = False
    traceback: str = ""


def describe(exc: BaseException) -> Failure:
    """Our own errors speak for themselves; anything else is an internal error."""
    if isinstance(exc, MirrorError):
        return Failure(str(exc) or type(exc).__name__)
    text = "".join(traceback.format_exception(exc))
    exc.__traceback__ = None
    message = str(exc)
    reason = f"internal error: {type(exc).__name__}" + (f": {message}" if message else "")
    return Failure(reason, internal=True, traceback=text)
