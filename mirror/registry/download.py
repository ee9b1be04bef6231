"""Blob bytes read in order from a source that may be cut: resumed with ``Range``.

A download cut by a reset or a short read is opened again with ``Range: bytes=N-``
(N = bytes received so far). A server that answers ``206`` sends the rest; one that
answers ``200`` sends everything again and the first N bytes are skipped — either way
the caller sees each byte once, in order, and the digest is checked over the whole blob
by whoever hashes them (:class:`Hasher`). Cuts are retried within the transport's
:class:`~mirror.transport.RetryPolicy`; a cut after progress starts the count again (the
blob attempt's deadline bounds the total).

Three sources share one small interface (:class:`ByteSource`): the registry
(:class:`RemoteBlob`), bytes in memory (:class:`BufferSource`, a small blob resent in
chunks after a 413) and a spool file (:class:`FileSource`).
"""

from __future__ import annotations

import hashlib
import os
import re
from contextlib import AsyncExitStack
from typing import IO, Protocol

import aiohttp
import anyio

from ..errors import ProtocolError, RegistryError
from ..transport import Transport
from ..transport.status import describe
from .hosts import ResolvedHost

__all__ = ["READ_SIZE", "BufferSource", "ByteSource", "DigestMismatch", "FileSource", "Hasher", "RemoteBlob",
           "read_verified"]

READ_SIZE = 1024 * 1024
_CUT = (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, TimeoutError)
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class DigestMismatch(ProtocolError):
    """The bytes do not hash to the digest that names them: nothing may be committed."""


class _Cut(Exception):
    """The stream ended before the blob did."""


class Hasher:
    """The running digest of a blob's bytes; :meth:`copy` snapshots it (chunk retries)."""

    def __init__(self, digest: str, state: hashlib._Hash | None = None) -> None:
        self.digest = digest
        self.algorithm = digest.split(":", 1)[0]
        if self.algorithm not in ("sha256", "sha512"):
            raise ProtocolError(f"unsupported digest algorithm {self.algorithm!r} in {digest}")
        self._state = state if state is not None else hashlib.new(self.algorithm)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._state.update(data)

    def copy(self) -> Hasher:
        return Hasher(self.digest, self._state.copy())

    def check(self, what: str) -> None:
        actual = f"{self.algorithm}:{self._state.hexdigest()}"
        if actual != self.digest:
            raise DigestMismatch(f"{what}: digest mismatch {self.digest} (the bytes hash to {actual})")


class ByteSource(Protocol):
    """A blob's bytes from ``position`` on; :meth:`seek` goes back (a chunk sent again)."""

    size: int
    position: int

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer at the end; ``b""`` once ``position == size``)."""
        ...

    async def seek(self, offset: int) -> None: ...


class RemoteBlob:
    """One blob's ``GET``, resumed with ``Range`` after a cut. Use as an async context manager."""

    def __init__(self, transport: Transport, target: ResolvedHost, url: str, *, size: int, what: str,
                 scopes: list[str]) -> None:
        self.transport = transport
        self.target = target
        self.url = url
        self.size = size
        self.what = what
        self.scopes = scopes
        self.position = 0
        self._stack: AsyncExitStack | None = None
        self._response: aiohttp.ClientResponse | None = None
        self._cuts = 0  # consecutive cuts without progress
        self._first_cut = 0.0

    async def __aenter__(self) -> RemoteBlob:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def seek(self, offset: int) -> None:
        if offset != self.position:
            await self.close()
            self.position = offset

    async def read(self, n: int) -> bytes:
        while self.position < self.size:
            try:
                if self._response is None:
                    await self._open()
                assert self._response is not None
                data = await self._response.content.read(min(n, self.size - self.position))
                if not data:
                    raise _Cut("the stream ended early")
            except (*_CUT, _Cut) as exc:
                await self.close()
                await self._after_cut(exc)
                continue
            self.position += len(data)
            self._cuts = 0
            return data
        return b""

    async def _open(self) -> None:
        stack = AsyncExitStack()
        headers = {"Range": f"bytes={self.position}-"} if self.position else {}
        try:
            response = await stack.enter_async_context(self.transport.stream(
                self.target, "GET", self.url, what=self.what, scopes=self.scopes, headers=headers, ok=(200, 206),
            ))  # fmt: skip
            if response.status == 206:
                start = _range_start(response.headers.get("Content-Range"))
                if start != self.position:
                    raise ProtocolError(f"{self.what}: asked for bytes from {self.position}, got a range from {start}")
            else:
                await _skip(response, self.position)  # Range ignored: the blob again from 0
        except BaseException:
            await stack.aclose()
            raise
        self._stack, self._response = stack, response

    async def close(self) -> None:
        """Release the open response (and with it the source host's request slot)."""
        stack, self._stack, self._response = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def _after_cut(self, exc: BaseException) -> None:
        transport = self.transport
        self._cuts += 1
        if self._cuts == 1:
            self._first_cut = transport.clock()
        delay = transport.retry.backoff(self._cuts, None, transport.rng)
        if not transport.retry.allows(self._cuts, self._first_cut, transport.clock(), delay):
            raise RegistryError(f"{self.what}: connection lost while reading, {self._cuts} time(s) at byte "
                                f"{self.position} of {self.size} ({describe(exc)})") from None
        stats = transport.gate(self.target).stats
        stats.retries += 1
        if delay > 0:
            stats.waits += 1
            stats.wait_seconds += delay
            await transport.sleep(delay)


def _range_start(value: str | None) -> int | None:
    match = _CONTENT_RANGE.match((value or "").strip())
    return int(match.group(1)) if match else None


async def _skip(response: aiohttp.ClientResponse, count: int) -> None:
    while count:
        data = await response.content.read(min(count, READ_SIZE))
        if not data:
            raise _Cut("the stream ended early")
        count -= len(data)


class BufferSource:
    """Bytes already in memory (verified), read as a source."""

    def __init__(self, data: bytes | bytearray) -> None:
        self.data = data
        self._view = memoryview(data)
        self.size = len(data)
        self.position = 0

    async def read(self, n: int) -> bytes:
        data = bytes(self._view[self.position : self.position + n])
        self.position += len(data)
        return data

    async def seek(self, offset: int) -> None:
        self.position = offset


class FileSource:
    """A spooled blob in a temporary file (reads in a worker thread). Reads are positional
    (``pread``), so several readers of one spool -- one per destination -- never race."""

    def __init__(self, handle: IO[bytes], size: int) -> None:
        self._handle = handle
        self.size = size
        self.position = 0

    def reader(self) -> FileSource:
        """Another reader of the same spool, from the start."""
        return FileSource(self._handle, self.size)

    async def read(self, n: int) -> bytes:
        fd, count = self._handle.fileno(), min(n, self.size - self.position)
        data = await anyio.to_thread.run_sync(os.pread, fd, count, self.position)
        self.position += len(data)
        return data

    async def seek(self, offset: int) -> None:
        self.position = offset


async def read_verified(source: ByteSource, digest: str, what: str) -> bytearray:
    """All of ``source`` in memory, its digest checked (the caller holds the memory budget)."""
    hasher = Hasher(digest)
    buffer = bytearray(source.size)
    with memoryview(buffer) as view:
        while source.position < source.size:
            start = source.position
            data = await source.read(READ_SIZE)
            view[start : start + len(data)] = data
    hasher.update(buffer)
    hasher.check(what)
    return buffer
