"""GitHub REST facade on the transport: releases, the latest release, a file at a ref, and
:meth:`GitHubClient.call` for the Git Data and pull-request calls of :mod:`mirror.github_prs`.

Every request goes through the run's :class:`~mirror.transport.Transport`, so
the registries file applies to the GitHub API host as to any other
(``endpoint``, ``ca_file``, ``insecure``, ``rate``, ``concurrency``; the host is
that of ``GITHUB_API_URL``, ``api.github.com`` by default). What is GitHub's
own lives here:

* :class:`~mirror.github_policy.GitHubPolicy`, the transport policy for the API host. GitHub's
  primary quota is small (60 requests an hour without a token, 5,000 with one;
  1,000 per repository for Actions' ``GITHUB_TOKEN``): the policy reads
  ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` from every reply and, once
  the quota is known to be gone, does not spend requests to learn it again:
  each request either waits for the reset (when it is within ``max_wait``) or
  fails at once with :class:`~mirror.errors.GitHubRateLimited` naming the reset
  time. Secondary limits (403/429 with ``Retry-After``, or GitHub's "secondary
  rate limit" message) pause the whole host; that is the brake on the
  concurrency the host is given. 5xx and connection errors are retried the
  transport's bounded way.
* ``If-None-Match`` with the ``ETag`` stored in the cache (:mod:`mirror.cache`),
  reusing the stored body on ``304``: GitHub does not charge an authorised 304
  to the quota, so a repeated run is free.
* Pagination at the speed of its critical path: the first page of releases
  names the last one (``Link: rel="last"``), so the other pages are asked for
  at once rather than one ``rel="next"`` after another.
* Single flight: concurrent callers asking for one URL share one request.

The token lives in a wrapper whose ``repr`` is masked; it is only ever put in
the ``Authorization`` header (which the transport never sends to another
origin), never in URLs, cache keys, logs, events or error messages.

Time is injected (the transport's ``clock`` and ``sleep``, ``wall_clock`` for
reset times) so tests assert the waits instead of sleeping.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from yarl import URL

from .cache import CachedResponse, NullCache, StateCache
from .config import repository_path_problem
from .errors import GitHubError
from .events import EventSink, HostStats, NullSink
from .flight import SingleFlight, gather
from .github_policy import GitHubPolicy, Quota
from .transport import Transport, parse_links
from .transport.gate import Clock
from .value import frozen

__all__ = [
    "API_VERSION",
    "DEFAULT_API_URL",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_WAIT",
    "GitHubClient",
    "GitHubPolicy",
    "JSONObject",
    "Quota",
    "split_owner_repo",
]

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "image-mirror"
DEFAULT_MAX_WAIT = 60.0
#: Requests in flight to the GitHub API host unless the registries file says otherwise. Chosen by
#: measurement (bench/RESULTS.md, discovery): at 4 the 40 requests of Rancher's config queue; GitHub
#: documents a secondary limit only from 100 concurrent requests, and the policy brakes on it.
DEFAULT_CONCURRENCY = 16
#: GitHub's maximum page size; fewer pages means fewer charged requests.
PER_PAGE = 100
#: A guard against pagination loops: 100 pages of 100 releases is far beyond any real repository.
MAX_PAGES = 100
#: Files at a ref can be large (``encoding: none`` above 1 MB); a bound still keeps memory flat.
BODY_LIMIT = 128 * 1024 * 1024

_JSON_MEDIA = "application/vnd.github+json"
#: Files over 1 MB come back with ``encoding: none``; this media type returns the bytes themselves.
_RAW_MEDIA = "application/vnd.github.raw+json"
_OWNER_REPO = re.compile(r"([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)\Z")
_KEPT_HEADERS = ("Link", "Content-Type")
_SUCCESS = tuple(range(200, 300))

JSONObject = dict[str, Any]


class _Secret:
    """Holds the token; its ``repr``/``str`` never show it (tracebacks, debug dumps)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


@frozen
class _Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]
    from_cache: bool
    next_url: str | None = None
    last_url: str | None = None

    def json(self, what: str) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise GitHubError(f"GitHub sent a response that is not JSON for {what}") from None


def split_owner_repo(owner_repo: str) -> tuple[str, str]:
    """``OWNER/REPO`` → (owner, repo); anything else would let a config value steer the URL path."""
    match = _OWNER_REPO.match(owner_repo)
    if not match or match[1] in (".", "..") or match[2] in (".", ".."):
        raise GitHubError(f"{owner_repo!r} is not a GitHub OWNER/REPO")
    return match[1], match[2]


class GitHubClient:
    """The GitHub REST facade on the run's transport.

    ``base_url`` defaults to ``$GITHUB_API_URL`` or ``https://api.github.com``
    (GitHub Enterprise: ``https://HOST/api/v3``); ``token`` defaults to
    ``$GITHUB_TOKEN`` (pass ``""`` for none). The transport's registries file
    configures the API host; an ``endpoint`` there wins over the URL's host.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        base_url: str | None = None,
        token: str | None = None,
        cache: StateCache | None = None,
        events: EventSink | None = None,
        max_wait: float = DEFAULT_MAX_WAIT,
        timeout: float = 30.0,
        wall_clock: Clock = time.time,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        url = (base_url or env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise GitHubError(f"GitHub API URL {url!r} is not an http(s) URL (GITHUB_API_URL)")
        self.base_url = url
        self._token = _Secret(env.get("GITHUB_TOKEN", "") if token is None else token)
        self._transport = transport
        self.target, self._api = transport.registries.resolve_url(url, default_concurrency=DEFAULT_CONCURRENCY)
        self.host = self.target.host
        self._cache: StateCache = cache if cache is not None else NullCache()
        self._timeout = timeout
        self._wall = wall_clock
        self.stats: HostStats = transport.gate(self.target).stats
        self._policy = GitHubPolicy(
            host=self.host, stats=self.stats, events=events if events is not None else NullSink(),
            retry=transport.retry, max_wait=max_wait, authenticated=bool(self._token), wall_clock=wall_clock,
        )  # fmt: skip
        transport.set_policy(self.host, self._policy)
        self._flights: SingleFlight[_Reply] = SingleFlight(keep_results=False)

    def __repr__(self) -> str:
        auth = "token" if self._token else "anonymous"
        return f"GitHubClient({self.base_url!r}, {auth})"

    @property
    def authenticated(self) -> bool:
        return bool(self._token)

    @property
    def quota(self) -> Quota:
        return self._policy.quota

    @property
    def max_wait(self) -> float:
        return self._policy.max_wait

    # -- public API -------------------------------------------------------------------------

    async def releases(self, owner_repo: str) -> list[JSONObject]:
        """Every release of ``OWNER/REPO``, newest first.

        The first page names the last (``rel="last"``): the pages between are
        fetched concurrently. Without it, ``rel="next"`` is followed. Drafts
        are included only when the token has push access (GitHub's rule);
        callers filter drafts and pre-releases themselves.
        """
        owner, repo = split_owner_repo(owner_repo)
        url: str | None = f"{self._api}/repos/{owner}/{repo}/releases?per_page={PER_PAGE}"
        what = f"the releases of {owner_repo}"
        not_found = self._repo_missing(owner_repo)
        releases: list[JSONObject] = []
        visited: set[str] = set()
        while url is not None:
            if url in visited or len(visited) >= MAX_PAGES:
                raise GitHubError(f"GitHub pagination for {what} did not end after {len(visited)} pages")
            visited.add(url)
            reply = await self._request(url, accept=_JSON_MEDIA, what=what, not_found=not_found)
            releases.extend(_release_page(reply, what))
            rest = self._pages_up_to(reply.last_url, what) if len(visited) == 1 else None
            if rest is not None:
                for page in await self._pages(rest, what, not_found):
                    releases.extend(_release_page(page, what))
                return releases
            url = self._same_origin(reply.next_url, what)
        return releases

    async def latest_release(self, owner_repo: str) -> JSONObject:
        """``/releases/latest``: the newest release that is neither a draft nor a pre-release."""
        owner, repo = split_owner_repo(owner_repo)
        what = f"the latest release of {owner_repo}"
        not_found = (
            f"GitHub has no latest release for {owner_repo}: the repository has no published"
            f" non-prerelease release, does not exist, or {self._invisible_hint()}"
        )
        reply = await self._request(
            f"{self._api}/repos/{owner}/{repo}/releases/latest", accept=_JSON_MEDIA, what=what, not_found=not_found
        )
        data = reply.json(what)
        if not isinstance(data, dict):
            raise GitHubError(f"GitHub sent an unexpected answer for {what}: expected a release object")
        return data

    async def file_at(self, owner_repo: str, path: str, ref: str) -> str:
        """The UTF-8 text of ``path`` in ``OWNER/REPO`` at ``ref`` (tag, branch or commit).

        Uses the contents API (base64 in JSON); for files over 1 MB GitHub sends
        ``encoding: none`` and the client asks again with the raw media type,
        which stays on the API host (``download_url`` would be another host).
        """
        owner, repo = split_owner_repo(owner_repo)
        problem = repository_path_problem(path)  # the rule validate applies to imagesFilePath
        if problem is not None:
            raise GitHubError(f"{path!r} is not a file path inside {owner_repo}: {problem}")
        url = f"{self._api}/repos/{owner}/{repo}/contents/{quote(path, safe='/')}?ref={quote(ref, safe='')}"
        what = f"{path} in {owner_repo} at {ref}"
        not_found = (
            f"GitHub: file {path!r} not found in {owner_repo} at ref {ref!r}"
            f" (or the repository or ref does not exist, or {self._invisible_hint()})"
        )
        reply = await self._request(url, accept=_JSON_MEDIA, what=what, not_found=not_found)
        data = reply.json(what)
        if isinstance(data, list):
            raise GitHubError(f"GitHub: {path!r} in {owner_repo} at ref {ref!r} is a directory, not a file")
        if not isinstance(data, dict) or data.get("type") != "file":
            kind = data.get("type") if isinstance(data, dict) else type(data).__name__
            raise GitHubError(f"GitHub: {path!r} in {owner_repo} at ref {ref!r} is a {kind}, not a file")
        encoding = data.get("encoding")
        content = data.get("content")
        if encoding == "base64" and isinstance(content, str):
            try:
                raw = base64.b64decode(content)
            except (binascii.Error, ValueError):
                raise GitHubError(f"GitHub sent invalid base64 for {what}") from None
        elif encoding == "none" or (content == "" and data.get("size")):
            raw = (await self._request(url, accept=_RAW_MEDIA, what=what, not_found=not_found)).body
        else:
            raise GitHubError(f"GitHub sent {what} with an unknown encoding {encoding!r}")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GitHubError(f"GitHub: {what} is not UTF-8 text") from None

    async def call(
        self, method: str, path: str, *, what: str, body: JSONObject | None = None,
        ok: Sequence[int] = (200, 201), not_found: str | None = None,
    ) -> tuple[int, Any]:
        """One REST call to ``path`` under the API URL, JSON in and out, without the ETag cache.

        For writes (Git Data, pull requests; :mod:`mirror.github_prs`) and for reads that must
        be fresh (refs, pull requests): a cached answer could hide a pull request opened by
        the previous run. ``ok`` may include 404 for lookups that expect absence. A POST is
        sent again only when GitHub says it was not processed (its secondary limit).
        """
        headers = self._headers(_JSON_MEDIA, None)
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        reply = await self._transport.request(
            self.target, method, f"{self._api}{path}", what=what, headers=headers, body=data, ok=ok,
            limit=BODY_LIMIT, authenticate=False, timeout=self._timeout, not_found=not_found,
            authorization=f"Bearer {self._token.reveal()}" if self._token else None,
        )  # fmt: skip
        logger.debug("%s %s -> %d", method, path, reply.status)
        if not reply.body:
            return reply.status, None
        return reply.status, _Reply(reply.status, reply.body, {}, False).json(what)

    # -- pagination ----------------------------------------------------------------------------

    def _pages_up_to(self, last_url: str | None, what: str) -> list[str] | None:
        """Pages 2 … N from the first page's ``rel="last"`` link, or None (then follow ``next``)."""
        if last_url is None:
            return None
        last = URL(self._same_origin(last_url, what) or "")
        try:
            count = int(last.query.get("page", ""))
        except ValueError:
            return None
        if count > MAX_PAGES:
            raise GitHubError(f"GitHub pagination for {what} has {count} pages, more than {MAX_PAGES}")
        return [str(last.update_query(page=page)) for page in range(2, count + 1)]

    async def _pages(self, urls: list[str], what: str, not_found: str) -> list[_Reply]:
        """Every page at once (the host's gate keeps the concurrency); the first error wins."""

        def page(url: str) -> Callable[[], Awaitable[_Reply]]:
            return lambda: self._request(url, accept=_JSON_MEDIA, what=what, not_found=not_found)

        return await gather([page(url) for url in urls])

    def _same_origin(self, url: str | None, what: str) -> str | None:
        if url is not None and (urlsplit(url).scheme, urlsplit(url).netloc.lower()) != self.target.origin:
            raise GitHubError(f"GitHub pagination for {what} points to another host; not following it")
        return url

    # -- requests ------------------------------------------------------------------------------

    def _headers(self, accept: str, cached: CachedResponse | None) -> dict[str, str]:
        headers = {
            "Accept": accept,
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        if cached is not None:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        return headers

    async def _request(self, url: str, *, accept: str, what: str, not_found: str) -> _Reply:
        """GET ``url`` once for all concurrent callers (entries often share a repository:
        three of Rancher's read kubernetes-csi/external-snapshotter), then share the outcome."""
        # The key is the URL and the media type; the token is in a header, never in the URL.
        key = f"GET {url} accept={accept}"
        return await self._flights.run(
            key, lambda: self._fetch(key, url, accept=accept, what=what, not_found=not_found)
        )

    async def _fetch(self, key: str, url: str, *, accept: str, what: str, not_found: str) -> _Reply:
        """GET ``url`` through the transport with the cache's validators; a 304 reuses the stored body."""
        cached = await self._cache.get_response(key)
        reply = await self._transport.request(
            self.target, "GET", url, what=what, headers=self._headers(accept, cached),
            ok=_SUCCESS + ((304,) if cached is not None else ()), limit=BODY_LIMIT, authenticate=False,
            authorization=f"Bearer {self._token.reveal()}" if self._token else None,
            timeout=self._timeout, not_found=not_found,
        )  # fmt: skip
        logger.debug("GET %s -> %d (quota remaining %s)", url, reply.status, reply.headers.get("X-RateLimit-Remaining"))
        if reply.status == 304 and cached is not None:
            links = parse_links(cached.headers, url)
            return _Reply(200, cached.body, dict(cached.headers), True, _rel(links, "next"), _rel(links, "last"))
        kept = {name: ", ".join(reply.headers.getall(name)) for name in _KEPT_HEADERS if name in reply.headers}
        etag, modified = reply.headers.get("ETag"), reply.headers.get("Last-Modified")
        if etag or modified:
            await self._cache.put_response(key, CachedResponse(reply.body, etag, modified, kept, stored_at=self._wall()))
        return _Reply(reply.status, reply.body, kept, False, reply.link("next"), reply.link("last"))

    # -- helpers -------------------------------------------------------------------------------

    def _invisible_hint(self) -> str:
        if self._token:
            return "it is private and the token cannot see it"
        return "it is private (no GITHUB_TOKEN is set)"

    def _repo_missing(self, owner_repo: str) -> str:
        return f"GitHub repository {owner_repo} not found: it does not exist, or {self._invisible_hint()}"


def _rel(links: Any, rel: str) -> str | None:
    found = links.get(rel)
    return None if found is None else str(found["url"])


def _release_page(reply: _Reply, what: str) -> list[JSONObject]:
    page = reply.json(what)
    if not isinstance(page, list):
        raise GitHubError(f"GitHub sent an unexpected answer for {what}: expected a list of releases")
    return [item for item in page if isinstance(item, dict)]
