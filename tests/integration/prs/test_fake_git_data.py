"""The fake's Git Data and pulls behave as GitHub documents them (the flow's tests rely on it)."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.github import FakeGitHub, FakeRepo

TOKEN = "ghp_fakeGitData0123456789abcdefABCDEFGH"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "tests", "Accept": "application/vnd.github+json"}

pytestmark = pytest.mark.anyio


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeGitHub, FakeRepo, aiohttp.ClientSession]]:
    async with FakeGitHub(tokens={TOKEN}) as gh, aiohttp.ClientSession(headers=HEADERS) as session:
        repo = gh.add_repo("acme/mirror")
        repo.git.commit_files("main", {"images-list": "a b c\n"})
        yield gh, repo, session


async def call(session: aiohttp.ClientSession, gh: FakeGitHub, method: str, path: str,
               body: Any = None) -> tuple[int, Any]:
    async with session.request(method, f"{gh.url}/repos/acme/mirror{path}", json=body) as response:
        return response.status, await response.json()


async def test_objects_have_git_ids_and_build_a_branch(served: tuple[FakeGitHub, FakeRepo, aiohttp.ClientSession]) -> None:
    gh, repo, session = served
    status, blob = await call(session, gh, "POST", "/git/blobs", {"content": "x y z\n", "encoding": "utf-8"})
    assert status == 201
    git = subprocess.run(["git", "hash-object", "--stdin"], input=b"x y z\n", capture_output=True, check=True)
    assert blob["sha"] == git.stdout.decode().strip()
    _, main = await call(session, gh, "GET", "/git/ref/heads/main")
    _, commit = await call(session, gh, "GET", f"/git/commits/{main['object']['sha']}")
    status, tree = await call(session, gh, "POST", "/git/trees", {
        "base_tree": commit["tree"]["sha"], "tree": [{"path": "dir/list", "mode": "100644", "type": "blob",
                                                      "sha": blob["sha"]}]})
    assert status == 201 and [e["path"] for e in tree["tree"]] == ["dir", "images-list"]
    status, new = await call(session, gh, "POST", "/git/commits",
                             {"message": "m", "tree": tree["sha"], "parents": [main["object"]["sha"]]})
    assert status == 201
    assert (await call(session, gh, "POST", "/git/refs", {"ref": "refs/heads/x", "sha": new["sha"]}))[0] == 201
    assert (await call(session, gh, "POST", "/git/refs", {"ref": "refs/heads/x", "sha": new["sha"]}))[1][
        "message"] == "Reference already exists"
    assert (await call(session, gh, "PATCH", "/git/refs/heads/x", {"sha": main["object"]["sha"]}))[1][
        "message"] == "Update is not a fast forward"
    assert (await call(session, gh, "GET", "/git/ref/heads/nope"))[0] == 404
    async with session.get(f"{gh.url}/repos/acme/mirror/contents/dir/list", params={"ref": "x"}) as response:
        assert (await response.json())["content"].replace("\n", "") == "eCB5IHoK"


async def test_a_head_filter_without_the_owner_does_not_filter(
    served: tuple[FakeGitHub, FakeRepo, aiohttp.ClientSession],
) -> None:
    gh, repo, session = served
    for branch in ("one", "two"):
        repo.git.commit_files(branch, {"f": branch})
        status, _ = await call(session, gh, "POST", "/pulls", {"title": branch, "head": branch, "base": "main"})
        assert status == 201
    repo.git.close_pull(1)
    assert [p["number"] for p in (await call(session, gh, "GET", "/pulls?head=one&state=all"))[1]] == [2, 1]
    assert [p["number"] for p in (await call(session, gh, "GET", "/pulls?head=acme:one&state=all"))[1]] == [1]
    assert (await call(session, gh, "GET", "/pulls?head=acme:one"))[1] == []  # state defaults to open
    status, again = await call(session, gh, "POST", "/pulls", {"title": "t", "head": "two", "base": "main"})
    assert status == 422 and "already exists" in again["errors"][0]["message"]
    status, long = await call(session, gh, "POST", "/pulls", {"title": "t" * 257, "head": "one", "base": "main"})
    assert status == 422 and "too long" in long["errors"][0]["message"]
