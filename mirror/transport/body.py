"""Request and response bodies: streamed uploads counted, downloads bounded.

A registry that sends more than we asked for (a "manifest" of a gigabyte, an
endless error page) must not exhaust memory: every body read has a limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import aiohttp

from ..errors import ProtocolError
from ..events import HostStats

__all__ = ["counting", "read_limited"]


async def counting(body: AsyncIterable[bytes], stats: HostStats) -> AsyncIterator[bytes]:
    """Pass a streamed request body through, counting its bytes in the host's stats."""
    async for chunk in body:
        stats.bytes_sent += len(chunk)
        yield chunk


async def read_limited(
    response: aiohttp.ClientResponse, limit: int, *, what: str = "", strict: bool = False
) -> bytes:
    """Read at most ``limit`` bytes; with ``strict`` a longer body is a protocol error."""
    declared = response.content_length
    if strict and declared is not None and declared > limit:
        raise ProtocolError(f"{what}: response of {declared} bytes exceeds the limit of {limit}")
    if response.method == "HEAD":
        return b""  # no body follows a HEAD reply (its Content-Length is the GET's)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            if strict:
                raise ProtocolError(f"{what}: response exceeds the limit of {limit} bytes")
            chunks.append(chunk[: limit - (size - len(chunk))])
            break
        chunks.append(chunk)
    return b"".join(chunks)
