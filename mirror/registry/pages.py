"""Following ``Link: rel="next"`` pages of a distribution API listing (tags, referrers).

One loop for every paginated listing, so the safety rules are written once: a next link
must stay on the endpoint's origin (a registry must not send our credentials elsewhere), a
repeated link is a :class:`ProtocolError` rather than a loop, and more than ``max_pages``
pages is one too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..errors import ProtocolError
from ..transport import Reply, Transport, origin, safe_url
from .hosts import ResolvedHost

__all__ = ["json_object", "pages"]


async def pages(
    transport: Transport,
    target: ResolvedHost,
    url: str,
    *,
    what: str,
    scopes: Sequence[str],
    max_pages: int,
    limit: int,
    headers: Mapping[str, str] | None = None,
    noun: str = "pages",
) -> AsyncIterator[Reply]:
    """Each page's reply, the first at ``url``; errors of the first page raise as usual."""
    seen_urls = {url}
    for _ in range(max_pages):
        reply = await transport.request(target, "GET", url, what=what, scopes=scopes, headers=headers, limit=limit)
        yield reply
        next_url = reply.link("next")
        if next_url is None:
            return
        if origin(next_url) != target.origin:
            raise ProtocolError(f"{what}: next page link leaves {target.netloc} (to {urlsplit(next_url).netloc})")
        if next_url in seen_urls:
            raise ProtocolError(f"{what}: pagination loops (link to {safe_url(next_url)} repeated)")
        seen_urls.add(next_url)
        url = next_url
    raise ProtocolError(f"{what}: more than {max_pages} {noun}")


def json_object(body: bytes, what: str, noun: str) -> dict[str, Any]:
    """A page's JSON object; a :class:`ProtocolError` naming ``what`` and ``noun`` otherwise."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ProtocolError(f"{what}: {noun} is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{what}: {noun} is not a JSON object")
    return data
