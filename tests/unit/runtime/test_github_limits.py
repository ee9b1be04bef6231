"""The registries file applies to the GitHub API host too: concurrency, rate, TLS, endpoint."""

from __future__ import annotations

import pytest

from mirror.github import DEFAULT_CONCURRENCY, GitHubClient
from mirror.registry import parse_registries
from mirror.transport import Transport

pytestmark = pytest.mark.anyio


async def client_for(hosts: dict[str, object], environ: dict[str, str] | None = None) -> GitHubClient:
    async with Transport.open(registries=parse_registries(hosts)) as transport:
        return GitHubClient(transport, environ=environ or {})


async def test_default_github_host_takes_its_limit_from_the_registries_file() -> None:
    client = await client_for({"api.github.com": {"concurrency": 2, "rate": 5}})
    assert (client.target.concurrency, client.target.rate) == (2, 5.0)
    assert client.stats.limit == 2


async def test_enterprise_host_from_github_api_url() -> None:
    hosts = {"ghe.example.com": {"concurrency": 1}, "api.github.com": {"concurrency": 9}}
    client = await client_for(hosts, {"GITHUB_API_URL": "https://ghe.example.com/api/v3"})
    assert client.target.concurrency == 1 and client.host == "ghe.example.com"


async def test_unconfigured_github_host_keeps_the_client_default() -> None:
    client = await client_for({"docker.io": {"concurrency": 3}})
    assert client.target.concurrency == DEFAULT_CONCURRENCY
    other = await client_for({"api.github.com": {"insecure": True}})  # other fields leave the default alone
    assert other.target.concurrency == DEFAULT_CONCURRENCY and other.target.ssl is False


async def test_an_endpoint_for_the_github_host_wins() -> None:
    hosts = {"ghe.example.com": {"endpoint": "http://127.0.0.1:8080/proxy"}}
    client = await client_for(hosts, {"GITHUB_API_URL": "https://ghe.example.com/api/v3"})
    assert client.base_url == "https://ghe.example.com/api/v3"
    assert client._api == "http://127.0.0.1:8080/proxy/api/v3"
    assert client.target.origin == ("http", "127.0.0.1:8080")
