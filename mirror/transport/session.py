"""The run's one ``aiohttp.ClientSession``, made here and nowhere else.

One session keeps TCP and TLS connections alive across thousands of requests
to the same hosts. No cookie jar: no cookie may carry state across hosts. No
total timeout: a blob download may take long; connecting and each read are
bounded instead, and the transport's callers set a total where one fits
(GitHub: 30 s a request).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

__all__ = ["open_session"]

TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)


@asynccontextmanager
async def open_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=TIMEOUT, cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session
