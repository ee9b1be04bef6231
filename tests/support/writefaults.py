"""Failing disks for write tests: tests run as root, where permissions block nothing, so the
failure is injected at :mod:`mirror.safewrite`'s seams, as the kernel would report it."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

__all__ = ["WRITE_FAILURES", "failing"]

#: (seam, errno, strerror): creating the temp file (EACCES), writing it (ENOSPC), moving it (EROFS).
WRITE_FAILURES = [
    ("_create_temp", errno.EACCES, "Permission denied"),
    ("_write_all", errno.ENOSPC, "No space left on device"),
    ("_replace", errno.EROFS, "Read-only file system"),
]


def failing(code: int) -> Callable[..., None]:
    """A stand-in for a write step that fails with ``OSError(code)``."""

    def fail(*args: object) -> None:
        raise OSError(code, os.strerror(code))

    return fail
