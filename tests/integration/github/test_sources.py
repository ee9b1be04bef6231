"""The three GitHub sources against the fake: exact tags, exact images, per-entry errors."""

from __future__ import annotations

import json

import pytest

from mirror import config as configmod
from mirror.errors import GitHubNotFound
from mirror.sources import github_latest_release, github_releases, github_tagged_images_file
from mirror.sources.base import Found
from tests.fakes.github import FakeGitHub

from .conftest import ClientFactory
from .dataset import (
    BIG_REPO,
    BROKEN_FILE_REPO,
    CONFIG,
    EXPECTED_CONSTRAINED,
    EXPECTED_FULL_IMAGES,
    FILE_REPO,
    MISSING_REPO,
    expected_big_repo_tags,
)
from .runner import run_entries

pytestmark = pytest.mark.anyio

CFG = configmod.parse(json.dumps(CONFIG))


async def test_github_releases_reads_all_three_pages_and_filters(gh: FakeGitHub, make_client: ClientFactory) -> None:
    found = await github_releases.discover(CFG.entry("etcd"), make_client())

    assert found.tags == tuple(expected_big_repo_tags())
    assert len(found.tags) == 188  # 250 - 25 rc - 25 drafts - 10 non-semver, adjusted by the specials
    assert found.tags[:4] == ("v3.247.0", "v3.245.0-beta.1", "v3.244.0+build.7", "v3.242.0")
    assert "3.240.0" in found.tags  # no "v" is fine
    assert not {"v4.0.0", "v4.0.0-rc.1", "v3.0246.0", "v3.11", "release-3.36", "3.86"} & set(found.tags)
    assert found.seen == 250  # drafts are listed to a token
    pages = [r for r in gh.requests if r.path.endswith("/releases")]
    assert [r.query.get("page", "1") for r in pages] == ["1", "2", "3"]
    assert all(r.query["per_page"] == "100" for r in pages)
    # Pages 2 and 3 come from the Link header, which (as on github.com) uses /repositories/ID.
    assert pages[0].path == f"/repos/{BIG_REPO}/releases"
    assert pages[1].path.startswith("/repositories/")


async def test_github_releases_applies_constraint_and_filter(make_client: ClientFactory) -> None:
    found = await github_releases.discover(CFG.entry("etcd-constrained"), make_client())
    assert list(found.tags) == EXPECTED_CONSTRAINED


async def test_github_latest_release_is_newest_published_non_prerelease(
    gh: FakeGitHub, make_client: ClientFactory
) -> None:
    found = await github_latest_release.discover(CFG.entry("etcd-latest"), make_client())
    assert found == Found(tags=("v3.247.0",), seen=1)
    assert [r.path for r in gh.requests] == [f"/repos/{BIG_REPO}/releases/latest"]


async def test_github_tagged_images_file_reads_the_file_at_each_selected_tag(
    gh: FakeGitHub, make_client: ClientFactory
) -> None:
    found = await github_tagged_images_file.discover(CFG.entry("longhorn"), make_client())

    assert list(found.full_images) == EXPECTED_FULL_IMAGES
    assert found.tags == ()
    assert found.seen == 5 + 4 + 4  # candidate lines of the three files, comments and blanks left out
    refs = sorted(r.query["ref"] for r in gh.requests if "/contents/" in r.path)
    assert refs == ["v1.4.0", "v1.4.1", "v1.5.0"]  # not v1.3.2 (constraint), rc, draft, latest-dev
    assert all(
        r.path == f"/repos/{FILE_REPO}/contents/deploy/longhorn-images.txt" for r in gh.requests if r.query.get("ref")
    )


async def test_entries_fail_one_by_one_and_the_others_still_finish(make_client: ClientFactory) -> None:
    keys = ["etcd", "etcd-latest", "longhorn", "missing-repo", "missing-file"]
    results, errors = await run_entries([CFG.entry(k) for k in keys], make_client())

    assert sorted(results) == ["etcd", "etcd-latest", "longhorn"]
    assert results["etcd"].tags == tuple(expected_big_repo_tags())
    assert results["etcd-latest"].tags == ("v3.247.0",)
    assert list(results["longhorn"].full_images) == EXPECTED_FULL_IMAGES

    assert sorted(errors) == ["missing-file", "missing-repo"]
    missing_repo = errors["missing-repo"]
    assert isinstance(missing_repo, GitHubNotFound)
    assert MISSING_REPO in str(missing_repo)
    missing_file = errors["missing-file"]
    assert isinstance(missing_file, GitHubNotFound)
    text = str(missing_file)
    assert BROKEN_FILE_REPO in text and "deploy/images.txt" in text and "'v1.0.0'" in text
    assert "v1.1.0" not in text  # the file exists there


async def test_github_releases_on_a_missing_repository_names_it(make_client: ClientFactory) -> None:
    entry = configmod.parse(
        json.dumps({"x": {"images": ["a/b"], "versionSource": f"github-releases:{MISSING_REPO}"}})
    ).entry("x")
    with pytest.raises(GitHubNotFound, match=f"repository {MISSING_REPO} not found"):
        await github_releases.discover(entry, make_client())
