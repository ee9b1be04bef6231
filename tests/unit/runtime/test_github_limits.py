"""The registries file's ``concurrency`` applies to the GitHub API host too."""

from __future__ import annotations

import pytest

from mirror.registry import parse_registries
from mirror.runtime import _github_limits


def test_default_github_host_takes_its_limit_from_the_registries_file() -> None:
    hosts = parse_registries({"api.github.com": {"concurrency": 2}})
    assert _github_limits(hosts) == {"concurrency": 2}


def test_enterprise_host_from_github_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3")
    hosts = parse_registries({"ghe.example.com": {"concurrency": 1}, "api.github.com": {"concurrency": 9}})
    assert _github_limits(hosts) == {"concurrency": 1}


def test_unconfigured_github_host_keeps_the_client_default() -> None:
    assert _github_limits(parse_registries({"docker.io": {"concurrency": 3}})) == {}
