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

:func:`fan_out_blob` is the several-destinations form: the source is read once (a small blob
into memory, a large one into a spool file, either verified), then uploaded to every
destination at the same time; one destination's failure is its own.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import IO, TYPE_CHECKING, TypeVar

import anyio

from ..errors import CopyError
from ..flight import settle
from .download import (READ_SIZE, BufferSource, ByteSource, DigestMismatch, FileSource, Hasher, RemoteBlob,
                       read_verified)
from .upload import BlobUpload

__all__ = ["copy_blob", "fan_out_blob"]

T = TypeVar("T")

if TYPE_CHECKING:
    from .blobs import BlobStore


async def copy_blob(source: BlobStore, destination: BlobStore, digest: str, size: int, *, spool: bool = False) -> int:
    """Copy one blob; return its size. ``spool``: download to a file first, then upload
    (the two sides share a host with one request slot)."""
    limits = destination.target.streams
    deadline = max(source.target.streams.deadline(size), limits.deadline(size))
    await _attempts(source, digest, size, deadline, limits.deadline_base, limits.min_throughput,
                    lambda: _attempt(source, destination, digest, size, spool))
    return size


async def fan_out_blob(source: BlobStore, destinations: Sequence[BlobStore], digest: str,
                       size: int) -> list[Exception | None]:
    """Copy one blob to several repositories reading the source once; per destination, the
    error that made it fail (``None``: stored). For one destination :func:`copy_blob` streams
    without a spool; the caller (:class:`~mirror.copy.blobs.BlobPlacer`) chooses."""
    what = f"blob {digest} from {source.display}"
    streams = source.target.streams
    small = size <= min(d.target.streams.monolithic_max for d in destinations)
    async with AsyncExitStack() as stack:
        download: Callable[[], Awaitable[BufferSource | FileSource]]
        if small:
            await stack.enter_async_context(source.transport.memory.hold(size))
            download = functools.partial(_into_memory, source, digest, size, what)
        else:
            handle = await anyio.to_thread.run_sync(lambda: tempfile.TemporaryFile(prefix="image-mirror-blob-"))
            stack.push_async_callback(anyio.to_thread.run_sync, handle.close)
            download = functools.partial(_into_spool, source, handle, digest, size, what)
        try:
            fetched = await _attempts(source, digest, size, streams.deadline(size), streams.deadline_base,
                                      streams.min_throughput, download)
        except Exception as exc:  # the source failed: every destination fails with it
            return [exc for _ in destinations]

        async def upload(destination: BlobStore) -> None:
            upload = BlobUpload(destination.transport, destination.target, destination.name, destination.display,
                                digest, size)
            limits = destination.target.streams
            with anyio.move_on_after(limits.deadline(size)):
                if isinstance(fetched, BufferSource):
                    await upload.monolithic(fetched.data)
                else:
                    await upload.chunked(fetched.reader())
                return
            raise CopyError(f"{upload.what}: not done within its deadline of {limits.deadline(size):.0f}s")

        return await settle([functools.partial(upload, d) for d in destinations])


async def _into_memory(source: BlobStore, digest: str, size: int, what: str) -> BufferSource | FileSource:
    async with source.remote(digest, size) as remote:
        return BufferSource(await read_verified(remote, digest, what))


async def _into_spool(source: BlobStore, handle: IO[bytes], digest: str, size: int, what: str) -> BufferSource | FileSource:
    await anyio.to_thread.run_sync(handle.truncate, 0)  # a retry after a mismatch starts over
    await anyio.to_thread.run_sync(handle.seek, 0)
    async with source.remote(digest, size) as remote:
        return await _spooled(remote, handle, digest, what)


async def _attempts(source: BlobStore, digest: str, size: int, deadline: float, base: float, throughput: int,
                    attempt: Callable[[], Awaitable[T]]) -> T:
    """``attempt()`` under a deadline each, tried again after a digest mismatch."""
    transport = source.transport
    what = f"blob {digest} from {source.display}"
    count = 1
    while True:
        with anyio.move_on_after(deadline) as scope:
            try:
                return await attempt()
            except DigestMismatch as exc:
                delay = transport.retry.backoff(count, None, transport.rng)
                if count >= transport.retry.attempts:
                    raise CopyError(f"{what}: {_reason(exc)} ({count} attempts)") from None
        if scope.cancelled_caught:
            raise CopyError(f"{what}: not done within its deadline of {deadline:.0f}s (deadline_base "
                            f"{base:g}s + {size} bytes at min_throughput {throughput} B/s)")
        transport.gate(source.target).stats.retries += 1
        await transport.sleep(delay)
        count += 1


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
