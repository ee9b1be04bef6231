"""Status codes, registry error bodies and exceptions → typed errors and safe text.

:func:`status_error` is the one place that turns an HTTP status into a
:mod:`mirror.errors` type. The helpers here also decide what may be *shown*:
URLs without user info or query (signed CDN URLs carry credentials in their
query), exception text without URLs, registry error codes but no headers.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import aiohttp

from ..errors import AuthError, NotFound, RateLimited, RegistryError

__all__ = ["describe", "origin", "retryable", "safe_url", "status_error"]

NEVER_RETRY_5XX = frozenset({501, 505})


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


def status_error(status: int, body: bytes, *, what: str, host: str) -> RegistryError:
    """The one place that turns an HTTP status into a typed error."""
    detail = _registry_error_detail(body)
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


def retryable(status: int) -> bool:
    """408, 429 and server errors, except those that will never change (501, 505)."""
    return status in (408, 429) or (status >= 500 and status not in NEVER_RETRY_5XX)


def describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientResponseError):  # its text embeds the full URL
        return type(exc).__name__
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
