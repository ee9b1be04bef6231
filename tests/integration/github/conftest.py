"""Fixtures for the GitHub tests: a fake GitHub on loopback, one shared fake clock, a
session per test and a factory for clients wired to both (so no test ever sleeps)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from mirror.events import ListSink, Stats
from mirror.github import GitHubClient
from mirror.registry import parse_registries
from mirror.transport import RetryPolicy, Transport
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
            "events": events,
            "wall_clock": fake_time.time,
        }
        transport_options: dict[str, Any] = {
            "stats": Stats(),
            "retry": RetryPolicy(jitter=False),
            "clock": fake_time.monotonic,
            "sleep": fake_time.sleep,
        }
        for name in transport_options:
            if name in overrides:
                transport_options[name] = overrides.pop(name)
        concurrency = overrides.pop("concurrency", None)
        options.update(overrides)
        host = options["base_url"].split("://", 1)[1].split("/", 1)[0]
        registries = parse_registries({host: {"concurrency": concurrency}} if concurrency else {})
        return GitHubClient(Transport(session, registries=registries, **transport_options), **options)

    return make
