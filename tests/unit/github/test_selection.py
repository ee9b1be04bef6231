"""Pure parts of the GitHub sources and client: release selection, image lines, helpers."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from mirror import config as configmod
from mirror.errors import GitHubError
from mirror.transport import Transport
from mirror.github import GitHubClient, split_owner_repo
from mirror.sources.github_releases import is_strict_semver, select_release_tags
from mirror.sources.github_tagged_images_file import image_lines


def entry(**fields: Any) -> configmod.Entry:
    raw = {"images": ["a/b"], "versionSource": "github-releases:o/r", **fields}
    return configmod.parse(json.dumps({"e": raw})).entry("e")


def rel(tag: Any, *, draft: bool = False, prerelease: bool = False) -> dict[str, Any]:
    return {"tag_name": tag, "draft": draft, "prerelease": prerelease}


@pytest.mark.parametrize(
    ("tag", "ok"),
    [
        ("v1.2.3", True),
        ("1.2.3", True),
        ("v1.2.3-rc.1", True),
        ("v1.2.3+meta", True),
        ("vv1.2.3", False),
        ("v1.2", False),
        ("1", False),
        ("v01.2.3", False),
        ("release-1.2.3", False),
        ("V1.2.3", False),
        ("", False),
    ],
)
def test_strict_semver_after_one_leading_v(tag: str, ok: bool) -> None:
    assert is_strict_semver(tag) is ok


def test_selection_keeps_order_and_applies_every_rule() -> None:
    releases = [
        rel("v2.0.0", draft=True),
        rel("v2.0.0-rc.1", prerelease=True),
        rel("v1.10.0"),
        rel("nightly"),
        rel("1.9.0"),
        rel("v1.9.0-beta.1"),
        rel(None),
        rel("v1.8.0"),
        rel("v1.8.0"),
        rel("v1.2"),
        rel("v0.9.0"),
    ]
    assert select_release_tags(releases, entry()) == ["v1.10.0", "1.9.0", "v1.9.0-beta.1", "v1.8.0", "v0.9.0"]
    assert select_release_tags(releases, entry(versionFilter="^v1\\.")) == ["v1.10.0", "v1.9.0-beta.1", "v1.8.0"]
    assert select_release_tags(releases, entry(versionConstraint=">=1.9.0")) == ["v1.10.0", "1.9.0"]
    assert select_release_tags(releases, entry(versionConstraint=">=1.8.0,<1.10.0", versionFilter="^v")) == [
        "v1.9.0-beta.1",
        "v1.8.0",
    ]


def test_latest_and_latest_entry_pick_one_tag() -> None:
    releases = [rel("v1.9.1"), rel("v2.0.0"), rel("v1.10.0"), rel("v2.0.0-rc.1", prerelease=True)]
    assert select_release_tags(releases, entry(latest=True)) == ["v2.0.0"]
    assert select_release_tags(releases, entry(latest_entry=True)) == ["v1.9.1"]  # newest created
    assert select_release_tags(releases, entry(latest=True, versionConstraint="<2")) == ["v1.10.0"]


def test_image_lines_skip_blanks_and_comments() -> None:
    text = "# header\n\n  a/b:1  \r\n\t# indented\nc/d:2\n   \n"
    assert image_lines(text) == ["a/b:1", "c/d:2"]


@pytest.mark.parametrize("bad", ["owner", "o/r/x", "../r", "o/..", "o r/x", "o/r?x=1", ""])
def test_owner_repo_is_validated(bad: str) -> None:
    with pytest.raises(GitHubError, match="not a GitHub OWNER/REPO"):
        split_owner_repo(bad)


def test_owner_repo_accepts_githubs_characters() -> None:
    assert split_owner_repo("kubernetes-sigs/vsphere-csi_driver.go") == ("kubernetes-sigs", "vsphere-csi_driver.go")


@pytest.mark.anyio
async def test_client_configuration_from_environment_and_repr() -> None:
    async with aiohttp.ClientSession() as session:
        client = GitHubClient(Transport(session), environ={"GITHUB_TOKEN": "ghp_unit_secret"})
        assert client.base_url == "https://api.github.com" and client.host == "api.github.com"
        assert client.authenticated and "ghp_unit_secret" not in repr(client) + repr(vars(client))
        ghe = GitHubClient(Transport(session), environ={"GITHUB_API_URL": "https://ghe.example.com/api/v3/"})
        assert ghe.base_url == "https://ghe.example.com/api/v3" and not ghe.authenticated
        assert "anonymous" in repr(ghe)
        assert not GitHubClient(Transport(session), token="", environ={"GITHUB_TOKEN": "x"}).authenticated
        with pytest.raises(GitHubError, match="GITHUB_API_URL"):
            GitHubClient(Transport(session), environ={"GITHUB_API_URL": "api.github.com"})


@pytest.mark.anyio
async def test_quota_tracking_never_goes_back_in_time() -> None:
    async with aiohttp.ClientSession() as session:
        client = GitHubClient(Transport(session), token="")

        def note(remaining: int, reset: int, resource: str = "core") -> None:
            client._policy._note_quota(
                {
                    "X-RateLimit-Remaining": str(remaining),
                    "X-RateLimit-Reset": str(reset),
                    "X-RateLimit-Resource": resource,
                }
            )

        note(10, 1000)
        note(12, 1000)  # an older response of the same window arrived late
        assert client.quota.remaining == 10
        note(3, 900)  # from the previous window
        assert (client.quota.remaining, client.quota.reset) == (10, 1000)
        note(59, 2000)  # a new window
        assert (client.quota.remaining, client.quota.reset) == (59, 2000)
        note(0, 3000, "search")  # other resources have their own quota
        assert client.quota.remaining == 59
        assert client.stats.quota_remaining == 59 and client.stats.quota_reset == 2000.0


def test_image_lines_end_at_newline_only() -> None:
    # U+2028, U+0085 and form feed are not line ends: a comment holding one stays a comment,
    # and only ASCII blanks are stripped.
    text = "# note\u2028evil/x:1\n# a\x85evil/y:2\n# b\x0cevil/z:3\n\u00a0a/b:1\n"
    assert image_lines(text) == ["\u00a0a/b:1"]
