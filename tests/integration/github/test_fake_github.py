"""The fake itself behaves as GitHub documents (so the client tests mean something)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import aiohttp
import pytest

from tests.fakes.github import FakeGitHub

from .conftest import TOKEN
from .dataset import BIG_REPO, FILE_REPO, IMAGES_FILE

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "test"}


async def get(session: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, Any, Any]:
    async with session.get(url, headers={**AUTH, **headers}) as response:
        body = await response.read()
        return response.status, response.headers, json.loads(body) if body else None


async def test_release_pages_links_and_page_size(gh: FakeGitHub, session: aiohttp.ClientSession) -> None:
    status, headers, page = await get(session, f"{gh.url}/repos/{BIG_REPO}/releases")
    assert status == 200 and len(page) == 30  # GitHub's default page size
    status, headers, page = await get(session, f"{gh.url}/repos/{BIG_REPO}/releases?per_page=500&page=2")
    assert len(page) == 100  # per_page is clamped to 100
    rels = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', headers["Link"]))
    assert set(rels) == {"prev", "next", "last", "first"}
    assert rels["last"].endswith("per_page=100&page=3") and rels["next"].startswith(gh.url + "/repositories/")
    status, headers, page = await get(session, f"{gh.url}/repos/{BIG_REPO}/releases?per_page=100&page=9")
    assert page == [] and "next" not in headers.get("Link", "")
    first = (await get(session, f"{gh.url}/repos/{BIG_REPO}/releases?per_page=1"))[2][0]
    assert {"tag_name", "name", "draft", "prerelease", "id", "created_at", "published_at"} <= set(first)


async def test_errors_rate_headers_and_conditional_requests(gh: FakeGitHub, session: aiohttp.ClientSession) -> None:
    status, headers, body = await get(session, f"{gh.url}/repos/acme/nope/releases/latest")
    assert status == 404 and body["message"] == "Not Found" and "documentation_url" in body
    assert headers["X-RateLimit-Remaining"] == "4999" and headers["X-RateLimit-Resource"] == "core"
    status, headers, _ = await get(session, f"{gh.url}/repos/{BIG_REPO}/releases/latest")
    etag = headers["ETag"]
    assert status == 200 and etag.startswith('"') and headers["X-RateLimit-Used"] == "2"
    async with session.get(f"{gh.url}/repos/{BIG_REPO}/releases/latest", headers={**AUTH, "If-None-Match": etag}) as r:
        assert r.status == 304 and await r.read() == b""
        assert r.headers["X-RateLimit-Remaining"] == "4998"  # authorised 304: free
    gh.exhaust(reset_in=100)
    status, headers, body = await get(session, f"{gh.url}/repos/{BIG_REPO}/releases/latest")
    assert status == 403 and headers["X-RateLimit-Remaining"] == "0"
    assert body["message"].startswith("API rate limit exceeded for ")


async def test_contents_as_github_sends_them(gh: FakeGitHub, session: aiohttp.ClientSession) -> None:
    status, _, body = await get(session, f"{gh.url}/repos/{FILE_REPO}/contents/{IMAGES_FILE}?ref=v1.4.0")
    assert status == 200 and body["type"] == "file" and body["encoding"] == "base64"
    lines = body["content"].split("\n")
    assert all(len(line) == 60 for line in lines[:-2]) and lines[-1] == ""
    assert base64.b64decode(body["content"]).decode().startswith("# Longhorn images for v1.4.0")
    assert re.fullmatch(r"[0-9a-f]{40}", body["sha"]) and body["download_url"].startswith("https://raw.")
    status, _, body = await get(session, f"{gh.url}/repos/{FILE_REPO}/contents/{IMAGES_FILE}?ref=nope")
    assert status == 404 and body["message"] == "No commit found for the ref nope"
    status, _, body = await get(session, f"{gh.url}/repos/{FILE_REPO}/contents/deploy?ref=v1.4.0")
    assert status == 200 and body == [{"type": "file", "name": "longhorn-images.txt", "path": IMAGES_FILE}]
