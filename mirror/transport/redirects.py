"""Sending a request and following its redirects ourselves, so credentials stay on their origin.

aiohttp would follow a redirect with the same headers; a registry's blob redirect goes to a CDN,
which must never see the registry's ``Authorization``. So redirects are followed here: the header
goes only to the request's own origin, a body is never sent again (only GET and HEAD follow),
a 303 turns into a GET, and the TLS settings are those of the host the redirect goes to.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from ..errors import ProtocolError
from ..events import HostStats
from .call import Call, on_origin
from .status import safe_url

if TYPE_CHECKING:
    from ..registry.hosts import Registries, ResolvedHost

__all__ = ["MAX_REDIRECTS", "REDIRECT_STATUSES", "send"]

log = logging.getLogger("mirror.transport")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10


async def send(session: aiohttp.ClientSession, registries: Registries, call: Call, authorization: str | None,
               stats: HostStats) -> aiohttp.ClientResponse:
    """Send, following redirects ourselves so credentials stay on their origin."""
    url, method = call.url, call.method
    for hop in range(MAX_REDIRECTS + 1):
        headers = dict(call.headers)
        home = on_origin(url, call.target)
        if not home:
            headers.pop("Authorization", None)
        elif authorization:
            headers["Authorization"] = authorization
        data: Any = call.body if hop == 0 else None
        extra: dict[str, Any] = {"timeout": call.timeout} if call.timeout is not None else {}
        response = await session.request(
            method, URL(url, encoded=True), headers=headers, data=data,
            allow_redirects=False, ssl=call.target.ssl if home else _ssl_for(registries, call.target, url), **extra,
        )  # fmt: skip
        location = response.headers.get("Location")
        follow = call.follow_redirects and method in ("GET", "HEAD")  # a body is never re-sent
        if not follow or response.status not in REDIRECT_STATUSES or not location:
            return response
        stats.record_status(response.status)
        response.release()
        target = urljoin(url, location)
        if urlsplit(target).scheme not in ("http", "https"):
            raise ProtocolError(f"{call.what}: redirect to a non-HTTP URL")
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s redirected (%d) to %s", method, safe_url(url), response.status, safe_url(target))
        if response.status == 303 and method != "HEAD":
            method = "GET"
        url = target
    raise ProtocolError(f"{call.what}: more than {MAX_REDIRECTS} redirects from {call.target.netloc}")


def _ssl_for(registries: Registries, target: ResolvedHost, url: str) -> Any:
    netloc = urlsplit(url).netloc.lower()
    if netloc == target.netloc.lower():
        return target.ssl
    other, _ = registries.resolve_url(url)
    return other.ssl
