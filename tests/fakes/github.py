"""A fake GitHub REST API (aiohttp.web on a free loopback port) that behaves as GitHub documents.

Why a fake here when the rest of the suite uses real components: GitHub cannot be
reached from CI machines, and its behaviour that matters to the client is
documented precisely. What is modelled, and where GitHub says so:

* ``GET /repos/{o}/{r}/releases?per_page=&page=`` — newest first (``created_at``),
  ``per_page`` default 30, max 100 (larger values are clamped), pages past the
  end are ``[]``; ``Link`` with absolute ``rel="prev"``/``"next"``/``"last"``/``"first"``
  URLs which, as on github.com, point at ``/repositories/{id}/releases``
  (that route is served too). Drafts are listed only to a token (GitHub shows
  them to users with push access; a token here stands for one).
* ``GET /repos/{o}/{r}/releases/latest`` — the most recent release that is
  neither a draft nor a pre-release; 404 ``{"message": "Not Found", …}`` if none.
* ``GET /repos/{o}/{r}/contents/{path}?ref=`` — ``type: file``, ``encoding: base64``,
  ``content`` wrapped at 60 characters (Ruby's ``Base64.encode64``), ``sha`` (the git
  blob id), ``download_url``; files above ``large_file_bytes`` (1 MB on GitHub)
  come as ``encoding: none`` with empty content, and the raw media types
  (``application/vnd.github.raw`` …) return the bytes; a directory is a JSON array;
  404 ``Not Found`` for an unknown repo or path, 404 ``No commit found for the ref X``
  for an unknown ref.
* Strong ``ETag`` on every 200; ``If-None-Match`` that matches → ``304`` without a body.
* Rate limits: ``X-RateLimit-Limit/-Remaining/-Reset/-Used/-Resource: core`` on every
  response; one bucket for tokens (5,000) and one for anonymous callers (60).
  200s and 404s are charged; a 304 is free only when the request carried
  ``Authorization`` ("does not count against your primary rate limit if a 304
  response is returned and the request was made while correctly authorized").
  An empty bucket answers 403 with ``X-RateLimit-Remaining: 0`` and GitHub's
  "API rate limit exceeded for …" message; the window resets at ``X-RateLimit-Reset``.
* Git Data and pull requests (:mod:`tests.fakes.github_git`): ``GET /repos/{o}/{r}``, blobs,
  trees, commits, refs, pulls, requested reviewers and labels; ``contents?ref=`` reads the
  git objects when ``ref`` names a commit, branch or tag there (:attr:`FakeRepo.git`), and
  ``files`` otherwise. Writes need a token that may write (``read_only_tokens`` get 403).
* Switches: :meth:`FakeGitHub.secondary_limit` (403/429 with ``Retry-After`` and the
  secondary-limit message), :meth:`FakeGitHub.fail_next` (5xx), :meth:`FakeGitHub.exhaust`.
* Bad credentials → 401 when ``tokens`` is given and the request's token is not one of them.
* ``ssl_context``: serve HTTPS (GitHub Enterprise behind a private CA: a TLS front).
* :meth:`FakeGitHub.hold_until_in_flight` parks requests until that many are in flight at
  once (a barrier, released after a timeout when never reached), so a test can assert
  that the client really sends concurrently: :attr:`FakeGitHub.peak_in_flight`.

Every request is recorded (:class:`RecordedRequest`) without the token itself:
only whether ``Authorization`` was sent.

Time comes from ``clock`` (epoch seconds), so a test can share one :class:`FakeTime`
between this server and the client and never sleep.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import asyncio
import ssl

import anyio
import anyio.lowlevel
from aiohttp import web

from .github_git import GitStore, route as git_route

__all__ = ["FakeGitHub", "FakeRelease", "FakeRepo", "FakeTime", "RecordedRequest"]

#: An aiohttp middleware (``@web.middleware``), e.g. a bench's latency front.
Middleware = Callable[[web.Request, Callable[[web.Request], Awaitable[web.StreamResponse]]], Awaitable[web.StreamResponse]]

_DOCS = "https://docs.github.com/rest"
_RAW_TYPES = ("application/vnd.github.raw", "application/vnd.github.v3.raw", "application/vnd.github.raw+json")
_API_VERSIONS = ("2022-11-28", "2026-03-10")
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_JSON = "application/json; charset=utf-8"


class FakeTime:
    """One fake clock for the client (monotonic and wall) and the fake server, and a sleep
    that records the wait and moves the clock instead of sleeping.

    Concurrent sleepers that start together advance the clock by the longest wait,
    not the sum, as real time would.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self.now + max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()  # let other tasks start their sleeps at the same instant
        self.now = max(self.now, wake)


@dataclass
class FakeRelease:
    id: int
    tag_name: str
    name: str
    draft: bool
    prerelease: bool
    created_at: datetime
    target_commitish: str = "main"
    body: str = ""


@dataclass
class FakeRepo:
    """A repository: releases in creation order and files per ref (branch or tag)."""

    owner: str
    name: str
    id: int
    default_branch: str = "main"
    releases: list[FakeRelease] = field(default_factory=list)
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    git: GitStore = field(default_factory=lambda: GitStore("", ""))
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def __post_init__(self) -> None:
        self.git.owner, self.git.name = self.owner, self.name

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def add_release(
        self, tag: str, *, draft: bool = False, prerelease: bool = False, name: str | None = None
    ) -> FakeRelease:
        """Append a release created after every existing one (one hour later)."""
        release_id = next(self._ids)
        created = _EPOCH + timedelta(hours=len(self.releases) + 1)
        release = FakeRelease(release_id, tag, name if name is not None else tag, draft, prerelease, created)
        self.releases.append(release)
        self.files.setdefault(tag, {})
        return release

    def add_file(self, ref: str, path: str, content: str | bytes) -> None:
        data = content.encode() if isinstance(content, str) else content
        self.files.setdefault(ref, {})[path.strip("/")] = data

    def newest_first(self, *, include_drafts: bool) -> list[FakeRelease]:
        visible = [r for r in self.releases if include_drafts or not r.draft]
        return sorted(visible, key=lambda r: (r.created_at, r.id), reverse=True)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (the token itself is never recorded)."""

    method: str
    path: str
    query: dict[str, str]
    authorized: bool
    auth_scheme: str | None
    if_none_match: str | None
    accept: str | None
    user_agent: str | None
    api_version: str | None
    status: int
    charged: bool


@dataclass
class _Bucket:
    limit: int
    remaining: int
    reset: int
    used: int = 0


class FakeGitHub:
    """The fake API. ``async with FakeGitHub() as gh: gh.url`` (``…/api/v3`` with ``prefix``)."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (),
        read_only_tokens: Iterable[str] = (),
        limit_authenticated: int = 5000,
        limit_anonymous: int = 60,
        clock: Callable[[], float] = time.time,
        prefix: str = "",
        large_file_bytes: int = 1_000_000,
        ssl_context: ssl.SSLContext | None = None,
        pretty: bool = True,
    ) -> None:
        # GitHub indents its JSON; ``pretty=False`` answers compact JSON, which the C encoder
        # writes 10x faster (a bed that stands for remote servers should not spend the machine's CPU).
        self._dumps: Callable[[Any], bytes] = _dumps if pretty else _compact
        self._read_only = frozenset(read_only_tokens)
        self._tokens = frozenset(tokens) | self._read_only
        self._clock = clock
        self.prefix = prefix.rstrip("/")
        self.large_file_bytes = large_file_bytes
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[RecordedRequest] = []
        self._repo_ids = itertools.count(1_300_000)
        self._limits = {True: limit_authenticated, False: limit_anonymous}
        self._buckets: dict[bool, _Bucket] = {}
        self._secondary: list[tuple[int, int]] = []  # (status, retry_after) per coming request
        self._failures: list[int] = []
        self._runner: web.AppRunner | None = None
        self._ssl = ssl_context
        self.url = ""
        self.origin = ""
        self.in_flight = 0
        self.peak_in_flight = 0
        self._hold = 0
        self._skip = 0
        self._held: asyncio.Event | None = None
        self.hold_timed_out = False

    # -- set-up ------------------------------------------------------------------------------

    def add_repo(self, full_name: str) -> FakeRepo:
        owner, name = full_name.split("/")
        repo = FakeRepo(owner, name, next(self._repo_ids))
        self.repos[full_name.lower()] = repo
        return repo

    def bucket(self, *, authenticated: bool = True) -> _Bucket:
        """The quota bucket, starting a new window when the reset time has passed."""
        now = self._clock()
        bucket = self._buckets.get(authenticated)
        if bucket is None or now >= bucket.reset:
            limit = self._limits[authenticated]
            bucket = self._buckets[authenticated] = _Bucket(limit, limit, int(now) + 3600)
        return bucket

    def exhaust(self, *, reset_in: float, authenticated: bool = True, remaining: int = 0) -> None:
        """Leave ``remaining`` requests in the bucket; the window resets ``reset_in`` seconds from now."""
        bucket = self.bucket(authenticated=authenticated)
        bucket.used += bucket.remaining - remaining
        bucket.remaining = remaining
        bucket.reset = int(self._clock() + reset_in)

    def secondary_limit(self, *, times: int = 1, retry_after: int = 1, status: int = 403) -> None:
        """The next ``times`` requests hit a secondary rate limit."""
        self._secondary.extend([(status, retry_after)] * times)

    def fail_next(self, status: int = 502, *, times: int = 1) -> None:
        """The next ``times`` requests fail with ``status`` (a 5xx)."""
        self._failures.extend([status] * times)

    def hold_until_in_flight(self, count: int, *, skip: int = 0) -> None:
        """After ``skip`` more requests, park the coming ones until ``count`` are in flight together."""
        self._hold = count
        self._skip = skip
        self._held = None

    # -- counters ----------------------------------------------------------------------------

    @property
    def charged(self) -> int:
        return sum(1 for r in self.requests if r.charged)

    def count(self, status: int) -> int:
        return sum(1 for r in self.requests if r.status == status)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, middlewares: Sequence[Middleware] = ()) -> Self:
        """Serve on a free loopback port; ``middlewares`` wrap every request (a bench's latency)."""
        app = web.Application(middlewares=list(middlewares))
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, ssl_context=self._ssl).start()
        self.origin = f"{'https' if self._ssl else 'http'}://127.0.0.1:{port}"
        self.url = self.origin + self.prefix
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- request handling --------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await self._barrier()
            body = await request.read() if request.can_read_body else b""
            return self._answer(request, body)
        finally:
            self.in_flight -= 1

    async def _barrier(self, timeout: float = 15.0) -> None:
        """With :meth:`hold_until_in_flight`: wait until enough requests are here (or time out)."""
        if not self._hold:
            return
        if self._skip > 0:
            self._skip -= 1
            return
        if self._held is None:
            self._held = asyncio.Event()
        if self.in_flight >= self._hold:
            self._held.set()
            self._hold = 0
            return
        try:
            await asyncio.wait_for(self._held.wait(), timeout)
        except TimeoutError:
            self.hold_timed_out = True
            self._held.set()
            self._hold = 0

    @property
    def writes(self) -> list[RecordedRequest]:
        """Every request that could change something (POST, PATCH, PUT, DELETE)."""
        return [r for r in self.requests if r.method not in ("GET", "HEAD")]

    def _answer(self, request: web.Request, payload: bytes) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        scheme, _, token = (auth or "").partition(" ")
        authorized = bool(auth)
        query = dict(request.query)

        def finish(response: web.StreamResponse, *, charged: bool) -> web.StreamResponse:
            self.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=query,
                    authorized=authorized,
                    auth_scheme=scheme or None,
                    if_none_match=request.headers.get("If-None-Match"),
                    accept=request.headers.get("Accept"),
                    user_agent=request.headers.get("User-Agent"),
                    api_version=request.headers.get("X-GitHub-Api-Version"),
                    status=response.status,
                    charged=charged,
                )
            )
            return response

        if authorized and (scheme.lower() not in ("bearer", "token") or (self._tokens and token not in self._tokens)):
            return finish(
                self._json(401, {"message": "Bad credentials", "documentation_url": _DOCS}, None), charged=False
            )
        bucket = self.bucket(authenticated=authorized)
        if not request.headers.get("User-Agent"):
            body = {
                "message": "Request forbidden by administrative rules. "
                "Please make sure your request has a User-Agent header"
            }
            return finish(self._json(403, body, bucket), charged=False)
        version = request.headers.get("X-GitHub-Api-Version")
        if version is not None and version not in _API_VERSIONS:
            body = {"message": f"Unsupported 'X-GitHub-Api-Version' header: {version}", "documentation_url": _DOCS}
            return finish(self._json(400, body, bucket), charged=False)
        if self._failures:
            status = self._failures.pop(0)
            return finish(self._json(status, {"message": "Server Error"}, bucket), charged=False)
        if self._secondary:
            status, retry_after = self._secondary.pop(0)
            body = {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": f"{_DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            }
            response = self._json(status, body, bucket)
            response.headers["Retry-After"] = str(retry_after)
            return finish(response, charged=False)
        if bucket.remaining <= 0:
            if authorized:
                message = "API rate limit exceeded for user ID 1."
            else:
                message = (
                    f"API rate limit exceeded for {request.remote}. (But here's the good news: Authenticated"
                    " requests get a higher rate limit. Check out the documentation for more details.)"
                )
            body = {
                "message": message,
                "documentation_url": f"{_DOCS}/overview/rate-limits-for-the-rest-api#about-rate-limits",
            }
            return finish(self._json(403, body, bucket), charged=False)
        if request.method not in ("GET", "HEAD"):
            if not authorized:
                return finish(self._json(401, {"message": "Requires authentication", "documentation_url": _DOCS},
                                         bucket), charged=False)
            if token in self._read_only:
                body = {"message": "Resource not accessible by integration", "documentation_url": _DOCS,
                        "status": "403"}
                return finish(self._json(403, body, bucket), charged=True)
            try:
                sent = json.loads(payload) if payload else None
            except ValueError:
                return finish(self._json(400, {"message": "Problems parsing JSON", "documentation_url": _DOCS},
                                         bucket), charged=True)
            status, answer = self._git(request, sent) or (404, {"message": "Not Found", "documentation_url": _DOCS})
            self._charge(bucket, True)
            return finish(self._json(status, answer, bucket), charged=True)

        status, payload, content_type, link = self._route(request, authorized)
        if status == 200:
            etag = '"' + hashlib.sha256(payload).hexdigest()[:40] + '"'
            if _etag_matches(request.headers.get("If-None-Match"), etag):
                charged = not authorized
                self._charge(bucket, charged)
                response = web.Response(status=304)
                response.headers["ETag"] = etag
                self._rate_headers(response, bucket)
                return finish(response, charged=charged)
            self._charge(bucket, True)
            response = web.Response(status=200, body=payload, content_type=None)
            response.headers["Content-Type"] = content_type
            response.headers["ETag"] = etag
            response.headers["Cache-Control"] = ("private" if authorized else "public") + ", max-age=60, s-maxage=60"
            response.headers["Vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP"
        else:
            self._charge(bucket, True)
            response = web.Response(status=status, body=payload, content_type=None)
            response.headers["Content-Type"] = content_type
        if status == 200 and link is not None:
            response.headers["Link"] = link
        self._rate_headers(response, bucket)
        return finish(response, charged=True)

    def _route(self, request: web.Request, authorized: bool) -> tuple[int, bytes, str, str | None]:
        """(status, body, content type, Link header) for a GET."""
        path = request.path
        if self.prefix:
            if not path.startswith(self.prefix + "/"):
                return self._not_found()
            path = path[len(self.prefix) :]
        if path == "/rate_limit":
            bucket = self.bucket(authenticated=authorized)
            core = {"limit": bucket.limit, "remaining": bucket.remaining, "reset": bucket.reset, "used": bucket.used}
            return 200, self._dumps({"resources": {"core": core}, "rate": core}), _JSON, None
        match = re.fullmatch(r"/repositories/(\d+)/releases", path)
        if match:
            repo = next((r for r in self.repos.values() if r.id == int(match[1])), None)
            return self._list_releases(request, repo, authorized)
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/(releases|releases/latest|contents/(.*))", path)
        if not match:
            found = self._git(request, None)
            if found is None:
                return self._not_found()
            return found[0], self._dumps(found[1]), _JSON, None
        repo = self.repos.get(f"{match[1]}/{match[2]}".lower())
        if match[3] == "releases":
            return self._list_releases(request, repo, authorized)
        if repo is None:
            return self._not_found()
        if match[3] == "releases/latest":
            latest = next((r for r in repo.newest_first(include_drafts=False) if not r.prerelease), None)
            if latest is None:
                return self._not_found(f"{_DOCS}/releases/releases#get-the-latest-release")
            return 200, self._dumps(self._release_json(repo, latest)), _JSON, None
        return self._contents(request, repo, match[4])

    def _git(self, request: web.Request, body: Any) -> tuple[int, Any] | None:
        """``/repos/{o}/{r}`` itself and its Git Data and pull-request routes, or None."""
        path = request.path[len(self.prefix):] if self.prefix else request.path
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(?:/(.*))?", path)
        repo = self.repos.get(f"{match[1]}/{match[2]}".lower()) if match else None
        if match is None or repo is None:
            return None
        if match[3] is None:
            if request.method != "GET":
                return None
            return 200, {"id": repo.id, "name": repo.name, "full_name": repo.full_name, "private": False,
                         "owner": {"login": repo.owner}, "default_branch": repo.default_branch,
                         "html_url": f"https://github.com/{repo.full_name}"}
        return git_route(repo.git, request.method, match[3], dict(request.query), body, self.url)

    def _not_found(self, docs: str = _DOCS) -> tuple[int, bytes, str, None]:
        return 404, self._dumps({"message": "Not Found", "documentation_url": docs, "status": "404"}), _JSON, None

    def _list_releases(
        self, request: web.Request, repo: FakeRepo | None, authorized: bool
    ) -> tuple[int, bytes, str, str | None]:
        if repo is None:
            return self._not_found(f"{_DOCS}/releases/releases#list-releases")
        per_page = min(max(_int(request.query.get("per_page"), 30), 1), 100)
        page = max(_int(request.query.get("page"), 1), 1)
        releases = repo.newest_first(include_drafts=authorized)
        last = max(1, -(-len(releases) // per_page))
        items = releases[(page - 1) * per_page : page * per_page]

        def link(n: int) -> str:
            return f"<{self.url}/repositories/{repo.id}/releases?per_page={per_page}&page={n}>"

        rels = []
        if page > 1:
            rels.append(f'{link(min(page - 1, last))}; rel="prev"')
        if page < last:
            rels.append(f'{link(page + 1)}; rel="next"')
            rels.append(f'{link(last)}; rel="last"')
        if page > 1:
            rels.append(f'{link(1)}; rel="first"')
        body = [self._release_json(repo, r) for r in items]
        return 200, self._dumps(body), _JSON, ", ".join(rels) or None

    def _release_json(self, repo: FakeRepo, r: FakeRelease) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo.full_name}"
        return {
            "url": f"{api}/releases/{r.id}",
            "assets_url": f"{api}/releases/{r.id}/assets",
            "upload_url": f"https://uploads.github.com/repos/{repo.full_name}/releases/{r.id}/assets{{?name,label}}",
            "html_url": f"https://github.com/{repo.full_name}/releases/tag/{r.tag_name}",
            "id": r.id,
            "author": {"login": repo.owner, "id": 1, "type": "User"},
            "node_id": f"RE_kwDO{r.id:08d}",
            "tag_name": r.tag_name,
            "target_commitish": r.target_commitish,
            "name": r.name,
            "draft": r.draft,
            "prerelease": r.prerelease,
            "created_at": _iso(r.created_at),
            "published_at": None if r.draft else _iso(r.created_at + timedelta(minutes=5)),
            "assets": [],
            "tarball_url": f"{api}/tarball/{r.tag_name}",
            "zipball_url": f"{api}/zipball/{r.tag_name}",
            "body": r.body,
        }

    def _contents(self, request: web.Request, repo: FakeRepo, path: str) -> tuple[int, bytes, str, None]:
        ref = request.query.get("ref") or repo.default_branch
        commit = repo.git.resolve(ref)
        if commit is not None:
            return self._file_or_listing(request, repo, path, ref, repo.git.files(commit))
        refs = set(repo.files) | {r.tag_name for r in repo.releases} | {repo.default_branch}
        if ref not in refs:
            body = {
                "message": f"No commit found for the ref {ref}",
                "documentation_url": f"{_DOCS}/repos/contents#get-repository-content",
                "status": "404",
            }
            return 404, self._dumps(body), _JSON, None
        return self._file_or_listing(request, repo, path, ref, repo.files.get(ref, {}))

    def _file_or_listing(
        self, request: web.Request, repo: FakeRepo, path: str, ref: str, files: dict[str, bytes]
    ) -> tuple[int, bytes, str, None]:
        path = path.strip("/")
        api = f"{self.url}/repos/{repo.full_name}/contents"
        if path in files:
            data = files[path]
            accept = request.headers.get("Accept", "")
            if any(media in accept for media in _RAW_TYPES):
                return 200, data, "application/vnd.github.raw; charset=utf-8", None
            large = len(data) > self.large_file_bytes
            sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            encoded = base64.b64encode(data).decode()
            wrapped = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
            file_body: dict[str, Any] = {
                "type": "file",
                "encoding": "none" if large else "base64",
                "size": len(data),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": "" if large else wrapped,
                "sha": sha,
                "url": f"{api}/{quote(path)}?ref={quote(ref, safe='')}",
                "git_url": f"{self.url}/repos/{repo.full_name}/git/blobs/{sha}",
                "html_url": f"https://github.com/{repo.full_name}/blob/{ref}/{path}",
                "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}",
            }
            return 200, self._dumps(file_body), _JSON, None
        prefix = path + "/" if path else ""
        children = sorted({p[len(prefix) :].split("/", 1)[0] for p in files if p.startswith(prefix)})
        if children:
            listing = [
                {"type": "file" if f"{prefix}{c}" in files else "dir", "name": c, "path": f"{prefix}{c}"}
                for c in children
            ]
            return 200, self._dumps(listing), _JSON, None
        return self._not_found(f"{_DOCS}/repos/contents#get-repository-content")

    # -- rate limit helpers -------------------------------------------------------------------

    @staticmethod
    def _charge(bucket: _Bucket, charged: bool) -> None:
        if charged:
            bucket.remaining -= 1
            bucket.used += 1

    @staticmethod
    def _rate_headers(response: web.StreamResponse, bucket: _Bucket | None) -> None:
        if bucket is None:
            return
        response.headers["X-RateLimit-Limit"] = str(bucket.limit)
        response.headers["X-RateLimit-Remaining"] = str(max(bucket.remaining, 0))
        response.headers["X-RateLimit-Reset"] = str(bucket.reset)
        response.headers["X-RateLimit-Used"] = str(bucket.used)
        response.headers["X-RateLimit-Resource"] = "core"
        response.headers["X-GitHub-Api-Version-Selected"] = _API_VERSIONS[0]
        response.headers["X-GitHub-Request-Id"] = (
            hashlib.sha1(str(time.monotonic_ns()).encode()).hexdigest()[:20].upper()
        )

    def _json(self, status: int, body: Any, bucket: _Bucket | None) -> web.Response:
        response = web.Response(status=status, body=self._dumps(body), content_type=None)
        response.headers["Content-Type"] = _JSON
        self._rate_headers(response, bucket)
        return response


def _etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as GitHub accepts ``W/"…"`` and lists."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(candidate.strip().removeprefix("W/") == wanted for candidate in header.split(","))


def _dumps(value: Any) -> bytes:
    return json.dumps(value, indent=2).encode()


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
