"""ETag conditional requests through the SQLite cache: a repeated run costs no quota."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirror import config as configmod
from mirror.cache import Cache, NullCache
from mirror.sources import github_latest_release
from tests.fakes.github import FakeGitHub

from .conftest import ClientFactory
from .dataset import BIG_REPO, CONFIG
from .runner import run_entries

pytestmark = pytest.mark.anyio

CFG = configmod.parse(json.dumps(CONFIG))
GOOD = [CFG.entry(k) for k in ("etcd", "etcd-constrained", "etcd-latest", "longhorn")]


async def test_a_second_run_with_the_cache_spends_no_quota(
    gh: FakeGitHub, make_client: ClientFactory, tmp_path: Path
) -> None:
    path = tmp_path / "state.db"
    async with Cache(path) as cache:
        first = make_client(cache=cache)
        results1, errors1 = await run_entries(GOOD, first)
    assert not errors1
    charged = gh.charged
    assert charged > 0 and gh.count(304) == 0
    remaining = first.quota.remaining
    assert remaining == 5000 - charged == gh.bucket().remaining
    sent = len(gh.requests)

    async with Cache(path) as cache:  # a new run: new client, the cache reopened from disk
        second = make_client(cache=cache)
        results2, errors2 = await run_entries(GOOD, second)

    assert not errors2
    assert results2 == results1
    again = gh.requests[sent:]
    assert len(again) == sent == 3 + 1 + 1 + 3  # etcd's pages once for both etcd entries
    assert {r.status for r in again} == {304}
    assert all(r.if_none_match and r.authorized for r in again)
    assert gh.charged == charged  # run 2 spent nothing
    assert second.quota.remaining == remaining  # X-RateLimit-Remaining did not move
    assert second.stats.by_status == {304: len(again)}


async def test_changed_data_is_fetched_again(gh: FakeGitHub, make_client: ClientFactory, tmp_path: Path) -> None:
    entry = CFG.entry("etcd-latest")
    async with Cache(tmp_path / "state.db") as cache:
        assert (await github_latest_release.discover(entry, make_client(cache=cache))).tags == ("v3.247.0",)
        gh.repos[BIG_REPO].add_release("v3.250.0")
        assert (await github_latest_release.discover(entry, make_client(cache=cache))).tags == ("v3.250.0",)
        assert (await github_latest_release.discover(entry, make_client(cache=cache))).tags == ("v3.250.0",)
    assert [r.status for r in gh.requests] == [200, 200, 304]
    assert gh.charged == 2


async def test_without_a_token_a_304_is_still_charged(
    gh: FakeGitHub, make_client: ClientFactory, tmp_path: Path
) -> None:
    """GitHub exempts a 304 from the quota only when the request was authorised."""
    entry = CFG.entry("etcd-latest")
    async with Cache(tmp_path / "state.db") as cache:
        for _ in range(2):
            await github_latest_release.discover(entry, make_client(cache=cache, token=""))
    assert [(r.status, r.authorized, r.charged) for r in gh.requests] == [(200, False, True), (304, False, True)]
    assert gh.bucket(authenticated=False).remaining == 58


async def test_no_cache_sends_no_conditional_requests(gh: FakeGitHub, make_client: ClientFactory) -> None:
    entry = CFG.entry("etcd-latest")
    for _ in range(2):
        await github_latest_release.discover(entry, make_client(cache=NullCache()))
    assert [(r.status, r.if_none_match) for r in gh.requests] == [(200, None), (200, None)]
    assert gh.charged == 2
