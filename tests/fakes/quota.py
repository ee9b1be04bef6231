"""Docker Hub's pull quota in front of a real registry, as Docker documents it.

Manifest GET and HEAD answers carry ``ratelimit-limit: 100;w=21600`` and
``ratelimit-remaining: 37;w=21600`` (the window in seconds; no reset header). A manifest
GET counts as a pull, a HEAD does not. Past the limit the answer is 429 with
``TOOMANYREQUESTS`` (and ``ratelimit-remaining: 0``). Everything else is forwarded to the
real ``docker-registry`` behind it by :class:`~tests.fakes.proxy.CountingProxy`, which also
counts what arrived::

    async with QuotaFront(registry.url, remaining=12) as front:
        ... sync from front.host ...
        assert front.refused == 0 and front.pulls == <2xx manifest GETs>

Tests change ``front.remaining`` to open a new window.
"""

from __future__ import annotations

import json

from aiohttp import web

from .proxy import CountingProxy, Seen

__all__ = ["QuotaFront"]


class QuotaFront(CountingProxy):
    """A counting proxy that keeps a pull quota of ``limit`` per ``window`` seconds."""

    def __init__(self, upstream: str, *, remaining: int, limit: int = 100, window: int = 21600) -> None:
        super().__init__(upstream)
        self.limit = limit
        self.window = window
        self.remaining = remaining
        self.pulls = 0  # manifest GETs answered 2xx and received
        self.refused = 0  # manifest GETs answered 429

    def _quota_headers(self) -> dict[str, str]:
        return {"ratelimit-limit": f"{self.limit};w={self.window}",
                "ratelimit-remaining": f"{self.remaining};w={self.window}"}

    def refuse(self, seen: Seen) -> web.Response | None:
        if seen.kind != "manifest" or seen.method != "GET":
            return None
        if self.remaining > 0:
            self.remaining -= 1  # taken when it arrives, so concurrent GETs cannot overspend
            return None
        self.refused += 1
        body = {"errors": [{"code": "TOOMANYREQUESTS", "message": "You have reached your pull rate limit.",
                            "detail": None}]}
        return web.Response(status=429, text=json.dumps(body), content_type="application/json",
                            headers=self._quota_headers())

    def extra_headers(self, seen: Seen, status: int) -> dict[str, str]:
        if seen.kind != "manifest" or seen.method not in ("GET", "HEAD"):
            return {}
        if seen.method == "GET" and not 200 <= status < 300:
            self.remaining += 1  # no manifest, no pull
        return self._quota_headers()

    def delivered(self, seen: Seen) -> None:
        if seen.kind == "manifest" and seen.method == "GET" and seen.status is not None and 200 <= seen.status < 300:
            self.pulls += 1  # a pull the client received (one it hung up on is spent all the same)
