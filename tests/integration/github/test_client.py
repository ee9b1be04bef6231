"""GitHubClient details: headers, environment, GitHub Enterprise, files, errors, coalescing."""

from __future__ import annotations

import aiohttp
import anyio
import pytest

from mirror.errors import GitHubError, GitHubNotFound
from mirror.events import Stats
from mirror.github import GitHubClient
from mirror.transport import Transport
from tests.fakes.github import FakeGitHub, FakeTime

from .conftest import TOKEN, ClientFactory
from .dataset import BIG_REPO, FILE_REPO, IMAGES_FILE, MISSING_REPO, populate

pytestmark = pytest.mark.anyio


async def test_sends_githubs_documented_headers(gh: FakeGitHub, make_client: ClientFactory) -> None:
    await make_client().latest_release(BIG_REPO)
    [request] = gh.requests
    assert request.auth_scheme == "Bearer"
    assert request.accept == "application/vnd.github+json"
    assert request.api_version == "2022-11-28"
    assert request.user_agent == "image-mirror"
    assert request.if_none_match is None


async def test_reads_url_and_token_from_the_environment_github_enterprise_style(
    session: aiohttp.ClientSession, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeGitHub(tokens={TOKEN}, prefix="/api/v3", clock=fake_time.time) as ghe:
        populate(ghe)
        monkeypatch.setenv("GITHUB_API_URL", ghe.url + "/")
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        client = GitHubClient(Transport(session))

        releases = await client.releases(BIG_REPO)

    assert client.base_url == ghe.url and ghe.url.endswith("/api/v3")
    assert len(releases) == 250
    assert all(r.path.startswith("/api/v3/") and r.authorized for r in ghe.requests)
    assert len(ghe.requests) == 3


async def test_without_a_token_no_authorization_is_sent_and_drafts_are_hidden(
    gh: FakeGitHub, make_client: ClientFactory
) -> None:
    releases = await make_client(token="").releases(BIG_REPO)
    assert not any(r["draft"] for r in releases)
    assert len(releases) == 250 - 25  # GitHub lists the 25 drafts only to users with push access
    assert not any(r.authorized for r in gh.requests)


async def test_quota_is_tracked_in_the_host_stats(gh: FakeGitHub, make_client: ClientFactory) -> None:
    stats = Stats()
    client = make_client(stats=stats)
    await client.releases(BIG_REPO)
    host = stats.hosts[client.host]
    assert host.quota_remaining == 4997 == client.quota.remaining
    assert host.quota_reset == gh.bucket().reset
    assert host.by_status == {200: 3}
    assert client.quota.limit == 5000 and client.quota.used == 3


async def test_concurrency_is_limited_per_host(gh: FakeGitHub, make_client: ClientFactory) -> None:
    client = make_client(concurrency=1)
    async with anyio.create_task_group() as group:
        for tag in ("v1.4.0", "v1.4.1", "v1.5.0"):
            group.start_soon(client.file_at, FILE_REPO, IMAGES_FILE, tag)
    assert client.stats.peak_in_flight == 1 and client.stats.done == 3


async def test_identical_concurrent_requests_are_sent_once(gh: FakeGitHub, make_client: ClientFactory) -> None:
    client = make_client()
    answers: list[str] = []
    errors: list[Exception] = []

    async def latest(repo: str) -> None:
        try:
            answers.append((await client.latest_release(repo))["tag_name"])
        except GitHubNotFound as exc:
            exc.add_note("a note of one caller")
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for repo in [BIG_REPO] * 3 + [MISSING_REPO] * 2:
            group.start_soon(latest, repo)
    assert answers == ["v3.247.0"] * 3
    assert len(gh.requests) == 2
    assert len(errors) == 2 and errors[0] is not errors[1]
    assert all(MISSING_REPO in str(e) and e.__notes__ == ["a note of one caller"] for e in errors)


async def test_file_over_one_megabyte_is_fetched_with_the_raw_media_type(
    gh: FakeGitHub, make_client: ClientFactory
) -> None:
    gh.large_file_bytes = 64
    text = "".join(f"example/image-{n}:v1.0.{n}\n" for n in range(20))
    gh.repos[FILE_REPO].add_file("v1.5.0", "deploy/big.txt", text)

    assert await make_client().file_at(FILE_REPO, "deploy/big.txt", "v1.5.0") == text
    assert [r.accept for r in gh.requests] == ["application/vnd.github+json", "application/vnd.github.raw+json"]


async def test_file_errors_name_repository_path_and_ref(gh: FakeGitHub, make_client: ClientFactory) -> None:
    client = make_client()
    with pytest.raises(GitHubNotFound) as caught:
        await client.file_at(FILE_REPO, IMAGES_FILE, "v9.9.9")
    message = str(caught.value)
    assert FILE_REPO in message and IMAGES_FILE in message and "'v9.9.9'" in message
    assert "No commit found for the ref v9.9.9" in message
    with pytest.raises(
        GitHubNotFound, match=r"file 'deploy/missing.txt' not found in longhorn/longhorn at ref 'v1.4.0'"
    ):
        await client.file_at(FILE_REPO, "deploy/missing.txt", "v1.4.0")
    with pytest.raises(GitHubError, match="is a directory, not a file"):
        await client.file_at(FILE_REPO, "deploy", "v1.4.0")
    with pytest.raises(GitHubError, match="not a file path"):
        await client.file_at(FILE_REPO, "../secrets", "v1.4.0")
    with pytest.raises(GitHubError, match="not a GitHub OWNER/REPO"):
        await client.releases("owner/repo/extra")


async def test_a_rejected_token_is_reported_without_the_token(gh: FakeGitHub, make_client: ClientFactory) -> None:
    with pytest.raises(GitHubError) as caught:
        await make_client(token="ghp_wrong_but_secret").latest_release(BIG_REPO)
    assert caught.value.status == 401
    assert "Bad credentials" in str(caught.value) and "GITHUB_TOKEN" in str(caught.value)
    assert "ghp_wrong_but_secret" not in str(caught.value)
