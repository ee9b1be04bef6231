"""Release pages after ``rel="last"`` are asked for at once, each exactly once.

The fake parks page requests until two are in flight together (a barrier that
times out, failing the test, when the client sends one page after another).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mirror.cache import Cache
from tests.fakes.github import FakeGitHub

from .conftest import ClientFactory
from .dataset import BIG_REPO

pytestmark = pytest.mark.anyio


def pages(gh: FakeGitHub) -> list[int]:
    return sorted(int(r.query.get("page", "1")) for r in gh.requests)


async def test_pages_after_the_last_link_are_fetched_concurrently(gh: FakeGitHub, make_client: ClientFactory) -> None:
    gh.hold_until_in_flight(2, skip=1)  # the first page names the last one; pages 2 and 3 go together

    releases = await make_client().releases(BIG_REPO)

    assert not gh.hold_timed_out
    assert gh.peak_in_flight > 1
    assert pages(gh) == [1, 2, 3]
    ids = [r["id"] for r in releases]
    assert len(ids) == 250 == len(set(ids))
    created = [r["created_at"] for r in releases]
    assert created == sorted(created, reverse=True)  # pages in order: still newest first


async def test_pages_reused_from_the_cache_still_name_the_last(
    gh: FakeGitHub, make_client: ClientFactory, tmp_path: Path
) -> None:
    async with Cache(tmp_path / "state.db") as cache:
        cold = await make_client(cache=cache).releases(BIG_REPO)
    gh.requests.clear()
    gh.hold_until_in_flight(2, skip=1)
    async with Cache(tmp_path / "state.db") as cache:
        warm = await make_client(cache=cache).releases(BIG_REPO)

    assert warm == cold
    assert [r.status for r in gh.requests] == [304, 304, 304]
    assert pages(gh) == [1, 2, 3] and not gh.hold_timed_out
