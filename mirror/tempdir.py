"""A private temporary directory that is gone when the block ends, cancelled or not.

Copiers and the helm renderer write files that may hold credentials (skopeo's ``auth.json``)
or a user's chart values into a temporary directory. Creation and removal both run in a
worker thread (no blocking I/O on the event loop) and both are shielded from cancellation:
a Ctrl-C or a run deadline that lands while the directory is being made or removed would
otherwise leave it behind — with the credentials in it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

__all__ = ["private_tempdir"]


@asynccontextmanager
async def private_tempdir(prefix: str = "image-mirror-", parent: Path | None = None) -> AsyncIterator[Path]:
    """Yield a new directory (mode 0700, ``mkdtemp``'s default) and remove it afterwards."""
    # Shielded: a cancellation delivered while the thread runs would lose the path, not the directory.
    with anyio.CancelScope(shield=True):
        path = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix=prefix, dir=parent)))
    try:
        yield path
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))
