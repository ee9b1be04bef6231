"""Fixtures for the GitHub tests: a fake GitHub on loopback, one shared fake clock, a
session per test and a factory for clients wired to both (so no test ever sleeps)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from mirror.events import ListSink, Stats
from mirror.github import GitHubClient
from mirror.throttle import RetryPolicy
from tests.fakes.github import FakeGitHub, FakeTime

from .dataset import populate

#: A token-shaped secret; tests grep every output for it.
TOKEN = "ghp_SECRETt0ken0123456789abcdefABCDEF"

ClientFactory = Callable[..., GitHubClient]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def gh(fake_time: FakeTime) -> AsyncIterator[FakeGitHub]:
    """The fake GitHub with the dataset's repositories; it accepts only ``TOKEN``."""
    async with FakeGitHub(tokens={TOKEN}, clock=fake_time.time) as server:
        populate(server)
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def events() -> ListSink:
    return ListSink()


@pytest.fixture
def make_client(gh: FakeGitHub, session: aiohttp.ClientSession, fake_time: FakeTime, events: ListSink) -> ClientFactory:
    """``make_client(**overrides)``: a client for the fake with the fake clock and no jitter."""

    def make(**overrides: Any) -> GitHubClient:
        options: dict[str, Any] = {
            "base_url": gh.url,
            "token": TOKEN,
            "stats": Stats(),
            "events": events,
            "retry": RetryPolicy(jitter=False),
            "clock": fake_time.monotonic,
            "wall_clock": fake_time.time,
            "sleep": fake_time.sleep,
        }
        options.update(overrides)
        return GitHubClient(session, **options)

    return make
