"""One blob from a source repository into a destination repository, verified before commit.

Each attempt has a deadline — ``deadline_base + size / min_throughput`` of whichever of
the two hosts allows more — that covers its resumed reads and retried upload steps; an
attempt past it is given up (a server that slow will be as slow again) and the upload
session cancelled. Bytes that do not match the digest are never committed: a small blob
(up to the destination's ``monolithic_max``) is read whole, under the process's memory
budget, and checked before its ``POST``; a larger one travels in chunks hashed as they pass
and is committed only on a match (:mod:`.upload`). A mismatch is tried again, from the
start, within the retry policy's attempts; then the line fails with
``digest mismatch <digest>``.
"""

from __future__ import annotations

import tempfile
from contextlib import AsyncExitStack
from typing import IO, TYPE_CHECKING

import anyio

from ..errors import CopyError
from .download import READ_SIZE, ByteSource, DigestMismatch, FileSource, Hasher, RemoteBlob, read_verified
from .upload import BlobUpload

__all__ = ["copy_blob"]

if TYPE_CHECKING:
    from .blobs import BlobStore


async def copy_blob(source: BlobStore, destination: BlobStore, digest: str, size: int, *, spool: bool = False) -> int:
    """Copy one blob; return its size. ``spool``: download to a file first, then upload
    (the two sides share a host with one request slot)."""
    transport = destination.transport
    limits = destination.target.streams
    deadline = max(source.target.streams.deadline(size), limits.deadline(size))
    what = f"blob {digest} from {source.display}"
    attempt = 1
    while True:
        with anyio.move_on_after(deadline) as scope:
            try:
                await _attempt(source, destination, digest, size, spool)
                return size
            except DigestMismatch as exc:
                delay = transport.retry.backoff(attempt, None, transport.rng)
                if attempt >= transport.retry.attempts:
                    raise CopyError(f"{what}: {_reason(exc)} ({attempt} attempts)") from None
        if scope.cancelled_caught:
            raise CopyError(f"{what}: not done within its deadline of {deadline:.0f}s (deadline_base "
                            f"{limits.deadline_base:g}s + {size} bytes at min_throughput {limits.min_throughput} B/s)")
        transport.gate(source.target).stats.retries += 1
        await transport.sleep(delay)
        attempt += 1


def _reason(exc: DigestMismatch) -> str:
    text = str(exc)
    return text[text.index("digest mismatch"):] if "digest mismatch" in text else text


async def _attempt(source: BlobStore, destination: BlobStore, digest: str, size: int, spool: bool) -> None:
    upload = BlobUpload(destination.transport, destination.target, destination.name, destination.display, digest,
                        size)
    what = f"blob {digest} from {source.display}"
    if size <= destination.target.streams.monolithic_max:
        async with destination.transport.memory.hold(size):
            async with source.remote(digest, size) as remote:
                data = await read_verified(remote, digest, what)
            await upload.monolithic(data)
        return
    async with AsyncExitStack() as stack:
        remote = await stack.enter_async_context(source.remote(digest, size))
        chunks: ByteSource = remote
        if spool:
            handle = await anyio.to_thread.run_sync(lambda: tempfile.TemporaryFile(prefix="image-mirror-blob-"))
            stack.push_async_callback(anyio.to_thread.run_sync, handle.close)
            chunks = await _spooled(remote, handle, digest, what)
            await remote.close()  # the source's request slot is free before the upload takes one
        await upload.chunked(chunks)


async def _spooled(remote: RemoteBlob, handle: IO[bytes], digest: str, what: str) -> FileSource:
    hasher = Hasher(digest)
    while True:
        data = await remote.read(READ_SIZE)
        if not data:
            break
        hasher.update(data)
        await anyio.to_thread.run_sync(handle.write, data)
    hasher.check(what)
    return FileSource(handle, remote.size)
