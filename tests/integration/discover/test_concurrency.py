"""Discovery is really concurrent, and the per-host limit from the registries file really holds.

Twenty ``registry`` entries on one host with ``concurrency: 10``. The fake distribution
server holds every tag-list request until ten are in flight at once (a barrier), then keeps
them a moment longer so that an eleventh would show up if the client let it through, then
releases them. The assertion is on the peak the server saw, never on wall time: with a
working limit it is exactly 10; serial discovery would time the barrier out at a peak of 1,
an ignored limit would show the default of 8 or all 20.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakes.distribution import FakeRegistry

from .helpers import LoopThread, run_cli, write_registries

HOST = "slow.example.com"
LIMIT = 10
ENTRIES = 20
BARRIER_TIMEOUT = 15.0  # only reached when the peak never gets to LIMIT (a failure)
GRACE = 0.3  # how long the full barrier stays closed for a request beyond the limit to show up


class HeldTags:
    """A tags/list route that parks requests until LIMIT are in flight."""

    def __init__(self, fake: FakeRegistry) -> None:
        self.fake = fake
        self.full = asyncio.Event()
        self.released = asyncio.Event()
        self.timed_out = False
        self._releaser: asyncio.Task[None] | None = None

    async def _release_after_grace(self) -> None:
        await asyncio.sleep(GRACE)
        self.released.set()

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        name = request.path.removeprefix("/v2/").removesuffix("/tags/list")
        if self.fake.in_flight >= LIMIT and not self.full.is_set():
            self.full.set()
            self._releaser = asyncio.get_running_loop().create_task(self._release_after_grace())
        if not self.released.is_set():
            try:
                await asyncio.wait_for(self.released.wait(), BARRIER_TIMEOUT)
            except TimeoutError:
                self.timed_out = True
                self.released.set()
        return await self.fake._tags(request, name)


@pytest.fixture
def slow_registry() -> Iterator[tuple[FakeRegistry, HeldTags]]:
    with LoopThread() as thread:

        async def start() -> tuple[FakeRegistry, HeldTags]:
            fake = FakeRegistry()
            await fake.__aenter__()
            held = HeldTags(fake)
            fake.routes.append((r"/tags/list\Z", held))
            for index in range(ENTRIES):
                fake.add_tags(f"team/app-{index:02d}", ["v1", "v2"])
            return fake, held

        fake, held = thread.call(start())
        try:
            yield fake, held
        finally:
            thread.call(fake.__aexit__(None, None, None))


def test_twenty_entries_reach_exactly_the_host_limit(tmp_path: Path, slow_registry: tuple[FakeRegistry, HeldTags]) -> None:
    fake, held = slow_registry
    config = {f"app-{i:02d}": {"images": [f"{HOST}/team/app-{i:02d}"], "versionSource": "registry"}
              for i in range(ENTRIES)}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "images-list").write_text(f"{HOST}/team/app-00 mirror/app-00 v1\n")
    registries = write_registries(tmp_path / "registries.yaml",
                                  {HOST: {"endpoint": fake.url, "concurrency": LIMIT}})

    result = run_cli(["--images-list", str(tmp_path / "images-list"), "--config", str(tmp_path / "config.json"),
                      "--registries", str(registries), "--no-cache", "--log-format", "json", "discover"])

    assert result.returncode == 0, result.stderr
    expected = {key: {"images": [f"{HOST}/team/{key}"], "tags": ["v1", "v2"]} for key in config}
    expected["app-00"] = {"images": [f"{HOST}/team/app-00"], "tags": ["v2"]}
    assert json.loads(result.stdout) == expected
    assert not held.timed_out, f"the barrier never saw {LIMIT} requests in flight (peak {fake.peak_in_flight})"
    assert fake.peak_in_flight == LIMIT
    assert fake.count("GET", r"/tags/list\Z") == ENTRIES
    assert [r.path for r in fake.requests if not r.path.endswith("/tags/list")] == []
