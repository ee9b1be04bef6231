"""Which requests the transport sends again: a POST only when it was not sent or not processed.

A small aiohttp server answers each request with the next status of a script (or hangs, to
make the client's deadline expire) and counts what it received; time is the fake clock.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from mirror.errors import MirrorError, RateLimited, RegistryError
from mirror.registry import parse_registries
from mirror.transport import RetryPolicy, Transport
from tests.fakes.distribution import FakeTime

pytestmark = pytest.mark.anyio

HANG = 0  # a "status" that never answers


class Scripted:
    def __init__(self) -> None:
        self.script: list[int] = []
        self.received: list[str] = []
        self.url = ""
        self._never = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(request.method)
        status = self.script.pop(0) if self.script else 202
        if status == HANG:
            await self._never.wait()
        return web.Response(status=status, headers={"Retry-After": "1"} if status == 429 else {})


@pytest.fixture
async def server() -> AsyncIterator[Scripted]:
    scripted = Scripted()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", scripted.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    scripted.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield scripted
    finally:
        scripted._never.set()
        await runner.cleanup()


async def send(server: Scripted, method: str, *, unprocessed: tuple[int, ...] = (), timeout: float | None = None,
               ) -> list[float]:
    time = FakeTime()
    async with Transport.open(registries=parse_registries({}), retry=RetryPolicy(jitter=False), clock=time.clock,
                              sleep=time.sleep) as transport:
        target, url = transport.registries.resolve_url(server.url + "/v2/app/blobs/uploads/")
        await transport.request(target, method, url, what="the upload", body=b"x", ok=(202,),
                                unprocessed=unprocessed, timeout=timeout)
    return time.sleeps


async def test_a_get_is_retried_after_a_server_error(server: Scripted) -> None:
    server.script = [500, 202]
    assert await send(server, "GET") == [0.5]
    assert server.received == ["GET", "GET"]


async def test_a_post_is_not_resent_after_a_server_error(server: Scripted) -> None:
    server.script = [500, 202]
    with pytest.raises(RegistryError, match="answered HTTP 500"):
        await send(server, "POST")
    assert server.received == ["POST"]


async def test_a_post_is_resent_after_429_which_says_it_was_not_processed(server: Scripted) -> None:
    server.script = [429, 202]
    assert await send(server, "POST") == [1.0]  # Retry-After pauses the host
    assert server.received == ["POST", "POST"]
    server.script, server.received = [429] * 4, []
    with pytest.raises(RateLimited, match="after 4 attempts"):
        await send(server, "POST")


async def test_a_503_on_a_blob_upload_post_is_resent_when_the_caller_says_so(server: Scripted) -> None:
    server.script = [503, 202]
    await send(server, "POST", unprocessed=(503,))
    assert server.received == ["POST", "POST"]
    server.script, server.received = [503, 202], []
    with pytest.raises(RegistryError, match="503"):
        await send(server, "POST")
    assert server.received == ["POST"]


async def test_a_post_whose_reply_timed_out_is_never_resent(server: Scripted) -> None:
    server.script = [HANG, 202]
    with pytest.raises(MirrorError, match="not sent again: it may have been processed"):
        await send(server, "POST", timeout=0.2)
    assert server.received == ["POST"]


async def test_a_post_that_could_not_connect_is_resent() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens: the request was never sent
    unreachable = Scripted()
    unreachable.url = f"http://127.0.0.1:{port}"
    with pytest.raises(RegistryError, match="cannot reach .* after 4 attempts"):
        await send(unreachable, "POST")
