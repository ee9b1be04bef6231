"""Primary quota, secondary limits, 5xx and connection errors — with recorded waits, never sleeps."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mirror import config as configmod
from mirror.errors import GitHubError, GitHubRateLimited, RateLimited
from mirror.events import ListSink
from mirror.github import GitHubClient
from mirror.sources import github_latest_release
from mirror.sources.base import Found
from tests.fakes.github import FakeGitHub, FakeTime

from .conftest import ClientFactory
from .dataset import BIG_REPO, CONFIG, EXPECTED_FULL_IMAGES, expected_big_repo_tags
from .runner import run_entries

pytestmark = pytest.mark.anyio

CFG = configmod.parse(json.dumps(CONFIG))
LATEST = CFG.entry("etcd-latest")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_exhausted_quota_with_reset_two_seconds_away_is_waited_out(
    gh: FakeGitHub, make_client: ClientFactory, fake_time: FakeTime, events: ListSink
) -> None:
    gh.exhaust(reset_in=2)
    client = make_client()

    found = await github_latest_release.discover(LATEST, client)

    assert found == Found(tags=("v3.247.0",), seen=1)
    assert fake_time.sleeps == [pytest.approx(2.0)]
    assert [r.status for r in gh.requests] == [403, 200]
    assert client.stats.waits == 1 and client.stats.wait_seconds == pytest.approx(2.0)
    assert client.quota.remaining == 4999  # a new window began at the reset
    [wait] = events.named("github-wait")
    assert wait["reason"] == "quota" and wait["seconds"] == pytest.approx(2.0)
    assert wait["until"] == iso(fake_time.now)


async def test_known_exhausted_quota_is_waited_for_before_sending(
    gh: FakeGitHub, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    gh.exhaust(reset_in=2, remaining=1)
    client = make_client()

    await github_latest_release.discover(LATEST, client)  # spends the last request
    assert client.quota.remaining == 0
    await github_latest_release.discover(LATEST, client)  # waits for the reset, no 403 first

    assert [r.status for r in gh.requests] == [200, 200]
    assert fake_time.sleeps == [pytest.approx(2.0)]


async def test_quota_reset_beyond_max_wait_fails_fast_naming_the_reset_time(
    gh: FakeGitHub, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    gh.exhaust(reset_in=3600, remaining=1)
    reset = int(fake_time.now + 3600)
    client = make_client(max_wait=60)

    assert (await github_latest_release.discover(LATEST, client)).tags == ("v3.247.0",)
    sent = len(gh.requests)
    with pytest.raises(GitHubRateLimited) as caught:
        await client.releases(BIG_REPO)

    message = str(caught.value)
    assert iso(reset) in message and "--max-wait 60" in message and "the releases of etcd-io/etcd" in message
    assert caught.value.reset_at == reset
    assert isinstance(caught.value, RateLimited)
    assert len(gh.requests) == sent  # known exhausted: the server was not asked again
    assert fake_time.sleeps == []


async def test_a_403_with_remaining_zero_beyond_max_wait_fails_at_once(
    gh: FakeGitHub, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    gh.exhaust(reset_in=600)
    with pytest.raises(GitHubRateLimited, match=iso(int(fake_time.now + 600))):
        await github_latest_release.discover(LATEST, make_client(max_wait=60))
    assert [r.status for r in gh.requests] == [403]
    assert fake_time.sleeps == []


async def test_when_quota_runs_out_mid_run_each_entry_ends_on_its_own(
    gh: FakeGitHub, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    gh.exhaust(reset_in=3600, remaining=4)
    keys = ["etcd", "etcd-latest", "longhorn"]  # 3 + 1 + 4 requests wanted, 4 available

    results, errors = await run_entries([CFG.entry(k) for k in keys], make_client())

    assert set(results) | set(errors) == set(keys)
    assert results and errors
    for error in errors.values():
        assert isinstance(error, GitHubRateLimited)
        assert iso(int(fake_time.now + 3600)) in str(error)
    for key, found in results.items():
        expected = {
            "etcd": Found(tags=tuple(expected_big_repo_tags()), seen=250),
            "etcd-latest": Found(tags=("v3.247.0",), seen=1),
            "longhorn": Found(full_images=tuple(EXPECTED_FULL_IMAGES), seen=13),
        }[key]
        assert found == expected
    assert gh.charged == 4
    assert fake_time.sleeps == []


@pytest.mark.parametrize("status", [403, 429])
async def test_secondary_limit_with_retry_after_is_waited_out_and_retried(
    gh: FakeGitHub, make_client: ClientFactory, fake_time: FakeTime, status: int
) -> None:
    gh.secondary_limit(times=2, retry_after=3, status=status)
    client = make_client()

    found = await github_latest_release.discover(LATEST, client)

    assert found.tags == ("v3.247.0",)
    assert [r.status for r in gh.requests] == [status, status, 200]
    assert fake_time.sleeps == [3.0, 3.0]
    assert client.stats.retries == 2


async def test_secondary_limit_is_bounded_by_attempts(
    gh: FakeGitHub, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    gh.secondary_limit(times=10, retry_after=1)
    with pytest.raises(GitHubRateLimited, match="secondary rate limit.*after 4 attempts"):
        await github_latest_release.discover(LATEST, make_client())
    assert len(gh.requests) == 4
    assert fake_time.sleeps == [1.0, 1.0, 1.0]


async def test_secondary_limit_beyond_max_wait_fails(
    gh: FakeGitHub, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    gh.secondary_limit(times=1, retry_after=120)
    with pytest.raises(GitHubRateLimited, match=r"120 s \(beyond --max-wait 60 s\)"):
        await github_latest_release.discover(LATEST, make_client())
    assert fake_time.sleeps == []


async def test_server_errors_are_retried_with_backoff(
    gh: FakeGitHub, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    gh.fail_next(502, times=2)
    found = await github_latest_release.discover(LATEST, make_client())
    assert found.tags == ("v3.247.0",)
    assert [r.status for r in gh.requests] == [502, 502, 200]
    assert fake_time.sleeps == [0.5, 1.0]


async def test_server_errors_give_up_after_the_policy_attempts(
    gh: FakeGitHub, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    gh.fail_next(503, times=10)
    with pytest.raises(GitHubError, match="503 for the latest release of etcd-io/etcd after 4 attempts") as caught:
        await github_latest_release.discover(LATEST, make_client())
    assert caught.value.status == 503
    assert len(gh.requests) == 4


async def test_connection_errors_are_retried_then_reported(make_client: ClientFactory, fake_time: FakeTime) -> None:
    client: GitHubClient = make_client(base_url="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(GitHubError, match=r"cannot reach 127\.0\.0\.1:9 .* after 4 attempts"):
        await client.latest_release(BIG_REPO)
    assert fake_time.sleeps == [0.5, 1.0, 2.0]
