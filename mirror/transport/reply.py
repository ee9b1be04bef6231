"""What a request gives back: a :class:`Reply` read in full, and ``Link`` parsing.

A value module beside :mod:`.core` (the request loop): the registry client, the GitHub facade
and the ETag cache all hold replies and their links without needing the loop itself.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Mapping
from dataclasses import field
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy, MultiDictProxy
from yarl import URL

from ..value import frozen

__all__ = ["Body", "Links", "Reply", "parse_links"]

Body = bytes | bytearray | AsyncIterable[bytes] | None
Links = MultiDictProxy[MultiDictProxy[str | URL]]


@frozen
class Reply:
    """A finished response: status, headers, the body read in full, and its ``Link`` header
    parsed when first asked (only paged listings have one; most replies are HEADs)."""

    status: int
    headers: CIMultiDictProxy[str] = field(repr=False)
    body: bytes = field(repr=False)
    url: str = field(repr=False)

    @functools.cached_property
    def links(self) -> Links:
        return parse_links(self.headers, self.url)

    def link(self, rel: str) -> str | None:
        """The absolute URL of ``rel`` in the ``Link`` header (aiohttp resolves relative ones)."""
        found = self.links.get(rel)
        return None if found is None else str(found["url"])


def parse_links(headers: Mapping[str, str], url: str) -> Links:
    """aiohttp's own ``Link`` parsing (``ClientResponse.links``) for headers kept from an earlier
    reply (a page reused from the ETag cache), resolved against that reply's ``url``."""

    class _Stored:  # the two attributes (and the property cache) ClientResponse.links reads
        def __init__(self) -> None:
            self.headers = CIMultiDictProxy(CIMultiDict(headers))
            self.url = URL(url)
            self._cache: dict[str, Any] = {}

    links: Links = aiohttp.ClientResponse.links.__get__(_Stored())
    return links
