"""GitHub REST client: releases, the latest release, a file at a ref.

Why it is more than three GETs: GitHub's primary quota is small (60 requests
an hour without a token, 5,000 with one; 1,000 per repository for Actions'
``GITHUB_TOKEN``) and a discovery run reads many release pages and files. So
this client

* reads ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` from every response
  and, once the quota is known to be gone, does not spend requests to learn it
  again: each request either waits for the reset (when it is within
  ``max_wait``) or fails at once with :class:`~mirror.errors.GitHubRateLimited`
  naming the reset time. Only the affected request fails; the caller's other
  work carries on.
* waits out secondary limits (403/429 with ``Retry-After``, or GitHub's
  "secondary rate limit" message) host-wide through :class:`~mirror.throttle.HostGate`,
  retrying a bounded number of times (:class:`~mirror.throttle.RetryPolicy`),
  and retries 5xx and connection errors the same bounded way;
* sends ``If-None-Match`` with the ``ETag`` stored in the cache
  (:mod:`mirror.cache`) and reuses the stored body on ``304``: GitHub does
  not charge an authorised 304 to the quota, so a repeated run is free.

HTTP status becomes a typed error in exactly one place (:meth:`GitHubClient._request`).
The token lives in a wrapper whose ``repr`` is masked; it is only ever put in
the ``Authorization`` header, never in URLs, cache keys, logs, events or
error messages. aiohttp drops that header on redirects to another origin.

Time is injected (``clock`` monotonic, ``wall_clock`` epoch for reset times,
``sleep``) so tests assert the waits instead of sleeping.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import anyio

from .cache import CachedResponse, NullCache, StateCache
from .errors import GitHubError, GitHubNotFound, GitHubRateLimited
from .events import EventSink, GitHubRetry, GitHubWait, HostStats, NullSink, Stats
from .flight import SingleFlight
from .throttle import (
    Clock,
    HostGate,
    RetryPolicy,
    Sleep,
    parse_link_next,
    parse_retry_after,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_API_URL",
    "DEFAULT_MAX_WAIT",
    "GitHubClient",
    "JSONObject",
    "Quota",
    "split_owner_repo",
]

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "image-mirror"
DEFAULT_MAX_WAIT = 60.0
#: GitHub's maximum page size; fewer pages means fewer charged requests.
PER_PAGE = 100
#: A guard against pagination loops: 100 pages of 100 releases is far beyond any real repository.
MAX_PAGES = 100
#: Attempts to get past a primary (quota) limit for one request before giving up.
MAX_QUOTA_WAITS = 3

_JSON_MEDIA = "application/vnd.github+json"
#: Files over 1 MB come back with ``encoding: none``; this media type returns the bytes themselves.
_RAW_MEDIA = "application/vnd.github.raw+json"
_OWNER_REPO = re.compile(r"([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)\Z")
_KEPT_HEADERS = ("Link", "Content-Type")

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


@dataclass(frozen=True)
class Quota:
    """The primary quota as last reported by GitHub (None until a response said)."""

    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None  # epoch seconds, UTC
    used: int | None = None


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]
    from_cache: bool

    def json(self, what: str) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise GitHubError(f"GitHub sent a response that is not JSON for {what}", status=self.status) from None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _message(body: bytes) -> str:
    """GitHub's ``message`` field from an error body (safe to show: it never echoes headers)."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])[:300]
    return ""


def split_owner_repo(owner_repo: str) -> tuple[str, str]:
    """``OWNER/REPO`` → (owner, repo); anything else would let a config value steer the URL path."""
    match = _OWNER_REPO.match(owner_repo)
    if not match or match[1] in (".", "..") or match[2] in (".", ".."):
        raise GitHubError(f"{owner_repo!r} is not a GitHub OWNER/REPO")
    return match[1], match[2]


class GitHubClient:
    """An async GitHub REST client on the run's shared ``aiohttp.ClientSession``.

    ``base_url`` defaults to ``$GITHUB_API_URL`` or ``https://api.github.com``
    (GitHub Enterprise: ``https://HOST/api/v3``); ``token`` defaults to
    ``$GITHUB_TOKEN`` (pass ``""`` for none). The session belongs to the
    caller, who closes it.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str | None = None,
        token: str | None = None,
        cache: StateCache | None = None,
        stats: Stats | None = None,
        events: EventSink | None = None,
        concurrency: int = 4,
        max_wait: float = DEFAULT_MAX_WAIT,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Sleep = anyio.sleep,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        url = (base_url or env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise GitHubError(f"GitHub API URL {url!r} is not an http(s) URL (GITHUB_API_URL)")
        self.base_url = url
        self._origin = (parts.scheme, parts.netloc.lower())
        self._token = _Secret(env.get("GITHUB_TOKEN", "") if token is None else token)
        self._session = session
        self._cache: StateCache = cache if cache is not None else NullCache()
        self._events: EventSink = events if events is not None else NullSink()
        self.max_wait = max_wait
        self._retry = retry if retry is not None else RetryPolicy()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._wall = wall_clock
        self._sleep = sleep
        self.host = parts.netloc.lower()
        run_stats = stats if stats is not None else Stats()
        self.stats: HostStats = run_stats.host(self.host, concurrency)
        self._gate = HostGate(self.stats, concurrency=concurrency, clock=clock, sleep=sleep)
        self._quota = Quota()
        self._flights: SingleFlight[_Reply] = SingleFlight(keep_results=False)

    def __repr__(self) -> str:
        auth = "token" if self._token else "anonymous"
        return f"GitHubClient({self.base_url!r}, {auth})"

    @property
    def authenticated(self) -> bool:
        return bool(self._token)

    @property
    def quota(self) -> Quota:
        return self._quota

    # -- public API -------------------------------------------------------------------------

    async def releases(self, owner_repo: str) -> list[JSONObject]:
        """Every release of ``OWNER/REPO``, newest first, following ``Link: rel="next"``.

        Drafts are included only when the token has push access (GitHub's rule);
        callers filter drafts and pre-releases themselves.
        """
        owner, repo = split_owner_repo(owner_repo)
        url: str | None = f"{self.base_url}/repos/{owner}/{repo}/releases?per_page={PER_PAGE}"
        what = f"the releases of {owner_repo}"
        releases: list[JSONObject] = []
        visited: set[str] = set()
        while url is not None:
            if url in visited or len(visited) >= MAX_PAGES:
                raise GitHubError(f"GitHub pagination for {what} did not end after {len(visited)} pages")
            visited.add(url)
            reply = await self._request(url, accept=_JSON_MEDIA, what=what, not_found=self._repo_missing(owner_repo))
            page = reply.json(what)
            if not isinstance(page, list):
                raise GitHubError(f"GitHub sent an unexpected answer for {what}: expected a list of releases")
            releases.extend(item for item in page if isinstance(item, dict))
            url = parse_link_next(reply.headers.get("Link"), url)
            if url is not None and not self._same_origin(url):
                raise GitHubError(f"GitHub pagination for {what} points to another host; not following it")
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
            f"{self.base_url}/repos/{owner}/{repo}/releases/latest", accept=_JSON_MEDIA, what=what, not_found=not_found
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
        clean = path.strip("/")
        if not clean or any(part in ("", ".", "..") for part in clean.split("/")):
            raise GitHubError(f"{path!r} is not a file path inside {owner_repo}")
        url = f"{self.base_url}/repos/{owner}/{repo}/contents/{quote(clean, safe='/')}?ref={quote(ref, safe='')}"
        what = f"{clean} in {owner_repo} at {ref}"
        not_found = (
            f"GitHub: file {clean!r} not found in {owner_repo} at ref {ref!r}"
            f" (or the repository or ref does not exist, or {self._invisible_hint()})"
        )
        reply = await self._request(url, accept=_JSON_MEDIA, what=what, not_found=not_found)
        data = reply.json(what)
        if isinstance(data, list):
            raise GitHubError(f"GitHub: {clean!r} in {owner_repo} at ref {ref!r} is a directory, not a file")
        if not isinstance(data, dict) or data.get("type") != "file":
            kind = data.get("type") if isinstance(data, dict) else type(data).__name__
            raise GitHubError(f"GitHub: {clean!r} in {owner_repo} at ref {ref!r} is a {kind}, not a file")
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

    # -- the one place that talks HTTP -------------------------------------------------------

    def _headers(self, accept: str, cached: CachedResponse | None) -> dict[str, str]:
        headers = {
            "Accept": accept,
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token.reveal()}"
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
        """GET ``url`` with quota, retries and the cache; map the outcome to a reply or a typed error."""
        cached = await self._cache.get_response(key)
        started = self._clock()
        attempt = 0
        quota_waits = 0
        while True:
            attempt += 1
            await self._quota_gate(what)
            try:
                status, headers, body = await self._send(url, self._headers(accept, cached))
            except (aiohttp.ClientError, TimeoutError) as exc:
                # Only the type and aiohttp's text (host:port, reason): request_info would hold headers.
                cause = f"{type(exc).__name__}: {exc}".rstrip(": ")
                delay = self._retry.backoff(attempt)
                if self._retry.allows(attempt, started, self._clock(), delay):
                    await self._retry_wait(delay, what, attempt, cause)
                    continue
                raise GitHubError(
                    f"GitHub: cannot reach {self.host} for {what} after {attempt} attempts ({cause})"
                ) from None
            self.stats.record_status(status)
            self._note_quota(headers)
            logger.debug("GET %s -> %d (quota remaining %s)", url, status, headers.get("X-RateLimit-Remaining"))

            if status == 304 and cached is not None:
                return _Reply(200, cached.body, dict(cached.headers), True)
            if 200 <= status < 300:
                reply = _Reply(status, body, {h: headers[h] for h in _KEPT_HEADERS if h in headers}, False)
                etag, modified = headers.get("ETag"), headers.get("Last-Modified")
                if etag or modified:
                    await self._cache.put_response(
                        key, CachedResponse(body, etag, modified, reply.headers, stored_at=self._wall())
                    )
                return reply

            message = _message(body)
            retry_after = parse_retry_after(headers.get("Retry-After"), now=self._wall())
            if status in (403, 429):
                remaining = _int_header(headers, "X-RateLimit-Remaining")
                if remaining == 0:
                    quota_waits += 1
                    reset = _int_header(headers, "X-RateLimit-Reset")
                    # The reset may already be past by our clock (skew): still pause a moment.
                    delay = max((reset - self._wall()) if reset is not None else 60.0, 1.0)
                    if quota_waits > MAX_QUOTA_WAITS or delay > self.max_wait:
                        raise self._exhausted(what, reset, status)
                    await self._wait(delay, "quota", what, reset)
                    continue
                if retry_after is not None or status == 429 or "secondary rate limit" in message.lower():
                    # GitHub: honour Retry-After; without it wait at least a minute, growing.
                    delay = retry_after if retry_after is not None else max(60.0, self._retry.backoff(attempt))
                    if delay > self.max_wait or not self._retry.allows(attempt, started, self._clock(), delay):
                        raise GitHubRateLimited(
                            f"GitHub secondary rate limit for {what}: asked to wait {delay:.0f} s"
                            + (
                                f" (beyond --max-wait {self.max_wait:g} s)"
                                if delay > self.max_wait
                                else f" again after {attempt} attempts"
                            ),
                            status=status,
                        )
                    self.stats.retries += 1
                    self._events.emit(GitHubWait(self.host, "secondary", delay, what))
                    self._gate.pause(delay)  # every request to GitHub waits, not only this one
                    continue
                hint = " (check the token's permissions and SSO authorisation)" if self._token else ""
                raise GitHubError(f"GitHub refused {what} (403{': ' + message if message else ''}){hint}", status=403)
            if status == 401:
                raise GitHubError(
                    f"GitHub rejected the token for {what} (401{': ' + message if message else ''});"
                    " check GITHUB_TOKEN",
                    status=401,
                )
            if status == 404:
                detail = f" (GitHub: {message})" if message and message != "Not Found" else ""
                raise GitHubNotFound(not_found + detail, status=404)
            if status >= 500 or status == 304:
                delay = self._retry.backoff(attempt, retry_after)
                if status >= 500 and self._retry.allows(attempt, started, self._clock(), delay):
                    await self._retry_wait(delay, what, attempt, f"HTTP {status}")
                    continue
                raise GitHubError(f"GitHub answered {status} for {what} after {attempt} attempts", status=status)
            raise GitHubError(f"GitHub answered {status} for {what}{': ' + message if message else ''}", status=status)

    async def _send(self, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """One HTTP exchange inside the host's concurrency limit and pause."""
        async with self._gate.limiter:
            await self._gate.admit()
            with self.stats.request():
                async with self._session.get(url, headers=headers, timeout=self._timeout) as response:
                    body = await response.read()
                    # Case-insensitive lookup wanted below: keep the server's names, first value wins.
                    kept: dict[str, str] = {}
                    for name, value in response.headers.items():
                        kept.setdefault(_canonical(name), value)
                    return response.status, kept, body

    # -- quota ---------------------------------------------------------------------------------

    def _note_quota(self, headers: Mapping[str, str]) -> None:
        """Track the core quota; responses may arrive out of order, so never go back in time."""
        resource = headers.get("X-RateLimit-Resource", "core")
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        if resource != "core" or remaining is None:
            return
        reset = _int_header(headers, "X-RateLimit-Reset")
        current = self._quota
        if current.reset is not None and reset is not None:
            if reset < current.reset:
                return  # a stale response from the previous window
            if reset == current.reset and current.remaining is not None:
                remaining = min(remaining, current.remaining)
        self._quota = Quota(
            limit=_int_header(headers, "X-RateLimit-Limit"),
            remaining=remaining,
            reset=reset,
            used=_int_header(headers, "X-RateLimit-Used"),
        )
        self.stats.quota_remaining = remaining
        self.stats.quota_reset = float(reset) if reset is not None else None

    async def _quota_gate(self, what: str) -> None:
        """Before sending: when the quota is known to be gone, wait for the reset or fail fast."""
        quota = self._quota
        if quota.remaining is None or quota.remaining > 0 or quota.reset is None:
            return
        delay = quota.reset - self._wall()
        if delay <= 0:
            return  # a new window has begun; the next response tells the new numbers
        if delay > self.max_wait:
            raise self._exhausted(what, quota.reset, None)
        await self._wait(delay, "quota", what, quota.reset)

    def _exhausted(self, what: str, reset: int | None, status: int | None) -> GitHubRateLimited:
        auth = "" if self._token else " (unauthenticated: 60 requests an hour; set GITHUB_TOKEN)"
        if reset is None:
            return GitHubRateLimited(f"GitHub API rate limit exhausted{auth}; cannot fetch {what}", status=status)
        seconds = max(0.0, reset - self._wall())
        return GitHubRateLimited(
            f"GitHub API rate limit exhausted{auth}; cannot fetch {what}: the quota resets at {_iso(reset)}"
            f" (in {seconds:.0f} s, more than --max-wait {self.max_wait:g} s)",
            status=status,
            reset_at=float(reset),
        )

    async def _wait(self, seconds: float, reason: str, what: str, reset: int | None) -> None:
        self.stats.waits += 1
        self.stats.wait_seconds += seconds
        self._events.emit(GitHubWait(self.host, reason, round(seconds, 3), what,
                                     _iso(reset) if reset is not None else None))
        logger.debug("waiting %.1f s for the GitHub %s limit (%s)", seconds, reason, what)
        await self._sleep(seconds)

    async def _retry_wait(self, seconds: float, what: str, attempt: int, cause: str) -> None:
        self.stats.retries += 1
        self._events.emit(GitHubRetry(self.host, what, attempt, cause, round(seconds, 3)))
        if seconds > 0:
            self.stats.waits += 1
            self.stats.wait_seconds += seconds
            await self._sleep(seconds)

    # -- helpers -------------------------------------------------------------------------------

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc.lower()) == self._origin

    def _invisible_hint(self) -> str:
        if self._token:
            return "it is private and the token cannot see it"
        return "it is private (no GITHUB_TOKEN is set)"

    def _repo_missing(self, owner_repo: str) -> str:
        return f"GitHub repository {owner_repo} not found: it does not exist, or {self._invisible_hint()}"


_CANONICAL = {
    name.lower(): name
    for name in (
        "ETag",
        "Last-Modified",
        "Link",
        "Content-Type",
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Used",
        "X-RateLimit-Resource",
    )
}


def _canonical(name: str) -> str:
    """One spelling per header we read, whatever case the server (or a proxy) used."""
    return _CANONICAL.get(name.lower(), name)
