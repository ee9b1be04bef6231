"""Fixtures for the registry client's tests against the fake distribution server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from mirror.registry import CredentialStore, RegistryClient, parse_registries
from mirror.transport import RetryPolicy
from tests.fakes.distribution import FakeRegistry, FakeTime

MakeClient = Callable[..., AbstractAsyncContextManager[RegistryClient]]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def fake() -> AsyncIterator[FakeRegistry]:
    async with FakeRegistry() as server:
        yield server


@pytest.fixture
def make_client(fake_time: FakeTime) -> MakeClient:
    """``make_client(registries_dict, credentials=..., retry=..., **client_options)``.

    Time is the fake clock (sleeps recorded, never slept); backoff has no jitter so
    tests can assert the exact waits.
    """

    @asynccontextmanager
    async def make(
        registries: dict[str, Any] | None = None,
        *,
        credentials: CredentialStore | None = None,
        retry: RetryPolicy | None = None,
        **options: Any,
    ) -> AsyncIterator[RegistryClient]:
        async with RegistryClient.open(
            hosts=parse_registries(registries or {}),
            credentials=credentials or CredentialStore(),
            retry=retry or RetryPolicy(jitter=False),
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            **options,
        ) as client:
            yield client

    return make
