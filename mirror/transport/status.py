"""Replies and exceptions → typed errors and safe text, in one module.

:func:`status_error` is the one place that turns an HTTP status into a
:mod:`mirror.errors` type, for every API the transport speaks (the wording
differs: a registry's error body has ``errors[].code``, GitHub's a
``message``; the types differ: ``RegistryError`` or ``GitHubError``).
:func:`unreachable_error` does the same for a request that never got a reply.

The helpers here also decide what may be *shown*: URLs without user info or
query (signed CDN URLs carry credentials in their query), exception text
without URLs, error codes and messages from the body but never headers.
"""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp

from ..errors import (
    AuthError,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    MirrorError,
    NotFound,
    RateLimited,
    RegistryError,
)
from ..value import frozen

__all__ = [
    "Api",
    "Failure",
    "Limit",
    "describe",
    "github_message",
    "iso",
    "origin",
    "retryable",
    "quota_exhausted",
    "safe_url",
    "status_error",
    "tls_error",
    "unreachable_error",
]

NEVER_RETRY_5XX = frozenset({501, 505})


class Api(enum.Enum):
    """Whose words an error uses: the OCI distribution API (and plain HTTP) or GitHub's REST API."""

    REGISTRY = "registry"
    GITHUB = "github"
    TOKEN = "token"  # a registry's token server (``what`` names the registry)


@frozen
class Limit:
    """A rate limit that outlasted our patience (GitHub's primary quota or a secondary limit)."""

    kind: str  # "quota" or "secondary"
    delay: float  # seconds the server asked us to wait
    max_wait: float
    reset: int | None = None  # quota: epoch second of the reset


@frozen
class Failure:
    """Everything :func:`status_error` may say about a final reply."""

    status: int
    body: bytes
    what: str
    host: str
    api: Api = Api.REGISTRY
    attempts: int = 1  # more than one: retries ran out
    limit: Limit | None = None
    not_found: str | None = None  # the caller's words for a 404 (GitHub: names repo, path, ref)
    authenticated: bool = False  # a credential was sent (GitHub: hints differ)
    who: str = ""  # token server: whose credentials were refused


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path``: no user info, no query, no fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _registry_error_detail(body: bytes) -> str:
    """``CODE: message`` from a distribution error body, or ''."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return ""
    code = str(errors[0].get("code", "")).strip()
    message = str(errors[0].get("message", "")).strip()
    text = f"{code}: {message}" if code and message else code or message
    return text[:200]


def github_message(body: bytes) -> str:
    """GitHub's ``message`` field from an error body (safe to show: it never echoes headers)."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])[:300]
    return ""


def _tries(attempts: int) -> str:
    return f"after {attempts} attempt{'s' if attempts > 1 else ''}"


def status_error(failure: Failure) -> MirrorError:
    """The one place that turns an HTTP status into a typed error."""
    if failure.api is Api.GITHUB:
        return _github_error(failure)
    status, what, host = failure.status, failure.what, failure.host
    if failure.api is Api.TOKEN:
        if status in (401, 403):
            return AuthError(f"{what}: the token server for {host} refused {failure.who} ({status})", status=status)
        return AuthError(f"{what}: the token server for {host} answered {status}", status=status)
    if failure.attempts > 1:
        if status == 429:
            return RateLimited(f"{what}: rate limited by {host} {_tries(failure.attempts)}", status=status)
        return RegistryError(f"{what}: {host} answered HTTP {status} {_tries(failure.attempts)}", status=status)
    detail = _registry_error_detail(failure.body)
    suffix = f" ({detail})" if detail else ""
    if status == 401:
        return AuthError(f"{what}: {host} requires authentication{suffix}", status=status)
    if status == 403:
        return AuthError(f"{what}: access denied by {host}{suffix}", status=status)
    if status == 404:
        return NotFound(f"{what}: not found on {host}{suffix}", status=status)
    if status == 429:
        return RateLimited(f"{what}: rate limited by {host}{suffix}", status=status)
    return RegistryError(f"{what}: {host} answered HTTP {status}{suffix}", status=status)


def quota_exhausted(what: str, reset: int | None, max_wait: float, *, authenticated: bool, now: float,
                    status: int | None = None) -> GitHubRateLimited:
    """GitHub's primary quota is gone until ``reset`` (also used before sending, without a reply)."""
    auth = "" if authenticated else " (unauthenticated: 60 requests an hour; set GITHUB_TOKEN)"
    if reset is None:
        return GitHubRateLimited(f"GitHub API rate limit exhausted{auth}; cannot fetch {what}", status=status)
    seconds = max(0.0, reset - now)
    return GitHubRateLimited(
        f"GitHub API rate limit exhausted{auth}; cannot fetch {what}: the quota resets at {iso(reset)}"
        f" (in {seconds:.0f} s, more than --max-wait {max_wait:g} s)",
        status=status,
        reset_at=float(reset),
    )


def _github_error(failure: Failure) -> GitHubError:
    status, what = failure.status, failure.what
    limit = failure.limit
    if limit is not None and limit.kind == "quota":
        now = (limit.reset - limit.delay) if limit.reset is not None else 0.0
        return quota_exhausted(what, limit.reset, limit.max_wait, authenticated=failure.authenticated, now=now,
                               status=status)
    if limit is not None:
        beyond = limit.delay > limit.max_wait
        return GitHubRateLimited(
            f"GitHub secondary rate limit for {what}: asked to wait {limit.delay:.0f} s"
            + (f" (beyond --max-wait {limit.max_wait:g} s)" if beyond else f" again {_tries(failure.attempts)}"),
            status=status,
        )
    if failure.attempts > 1 or status == 304:
        return GitHubError(f"GitHub answered {status} for {what} {_tries(failure.attempts)}", status=status)
    message = github_message(failure.body)
    if status == 401:
        return GitHubError(
            f"GitHub rejected the token for {what} (401{': ' + message if message else ''}); check GITHUB_TOKEN",
            status=401,
        )
    if status == 403:
        hint = " (check the token's permissions and SSO authorisation)" if failure.authenticated else ""
        return GitHubError(f"GitHub refused {what} (403{': ' + message if message else ''}){hint}", status=403)
    if status == 404:
        detail = f" (GitHub: {message})" if message and message != "Not Found" else ""
        return GitHubNotFound((failure.not_found or f"GitHub: {what} not found") + detail, status=404)
    return GitHubError(f"GitHub answered {status} for {what}{': ' + message if message else ''}", status=status)


def unreachable_error(api: Api, *, what: str, host: str, attempts: int, cause: str) -> MirrorError:
    """No reply after ``attempts``: connection refused, reset, timed out."""
    if api is Api.GITHUB:
        return GitHubError(f"GitHub: cannot reach {host} for {what} {_tries(attempts)} ({cause})")
    return RegistryError(f"{what}: cannot reach {host} {_tries(attempts)}: {cause}")


def tls_error(api: Api, *, what: str, netloc: str, host: str, detail: str, handshake: bool) -> MirrorError:
    """The TLS certificate is not trusted, or the handshake failed (never retried: it fails the same way)."""
    if handshake:
        text = (f"{what}: TLS handshake with {netloc} failed ({detail}); if it speaks "
                f"plain HTTP, write endpoint: http://{netloc} for {host}")
    else:
        text = (f"{what}: TLS certificate of {netloc} not trusted ({detail}); "
                f"set ca_file or insecure for {host} in the registries file")
    return GitHubError(f"GitHub: {text}") if api is Api.GITHUB else RegistryError(text)


def retryable(status: int) -> bool:
    """408, 429 and server errors, except those that will never change (501, 505)."""
    return status in (408, 429) or (status >= 500 and status not in NEVER_RETRY_5XX)


def describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientResponseError):  # its text embeds the full URL
        return type(exc).__name__
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
