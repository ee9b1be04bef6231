"""A latency proxy: a fixed delay per request, and a count of what passed through it.

Every benchmark request goes through one of these (aiohttp, bound to 127.0.0.1
only). It stands for the network between a mirror job and a registry: each
request waits ``delay`` seconds before it is forwarded, so a tool that makes
fewer requests, or makes them concurrently, is faster here as it would be on a
real network. The count is the truth about the wire: "two requests per line"
is checked here, not in the tool's own statistics.

Kinds (``Counter`` keys are ``"<METHOD> <kind>"``):

* ``manifest``  ``/v2/<repo>/manifests/<ref>`` (HEAD, GET, PUT)
* ``blob``      ``/v2/<repo>/blobs/<digest>`` (HEAD, GET)
* ``upload``    ``/v2/<repo>/blobs/uploads/…`` (POST to start, PUT/PATCH to send)
* ``mount``     ``POST …/blobs/uploads/?mount=…&from=…``
* ``tags``      ``/v2/<repo>/tags/list``
* ``token``     any path ending in ``/token`` (token realms)
* ``ping``      ``/v2/``
* ``other``     everything else (GitHub API, chart repositories)

Blob uploads are also recorded per ``(repository, digest)`` so the benchmark can
check that every distinct blob is sent once per destination repository.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.proxy import HOP_BY_HOP, classify

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ["LatencyFront", "LatencyProxy", "ProxyCounters", "classify"]

@dataclass(frozen=True)
class _Seen:
    at: float  # time.time() on arrival
    method: str
    kind: str
    repo: str | None
    ref: str | None


@dataclass
class ProxyCounters:
    """What one proxy saw since the last :meth:`reset`."""

    by_kind: Counter[str] = field(default_factory=Counter)
    #: per upstream "host" (the first path component after /v2/, i.e. repository_prefix)
    by_prefix: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    #: final blob upload PUTs per (repository, digest)
    blob_puts: Counter[tuple[str, str]] = field(default_factory=Counter)
    mounts: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: answered blob GETs per digest (a source read once per blob has every count at 1)
    blob_gets: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    peak_in_flight: int = 0
    #: with ``LatencyProxy(timeline=True)``: (arrived, answered, method, path, status), wall-clock
    #: seconds (``time.time()``, comparable with the tool's event timestamps)
    timeline: list[tuple[float, float, str, str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def count(self, method: str | None = None, kind: str | None = None) -> int:
        total = 0
        for key, value in self.by_kind.items():
            m, k = key.split(" ", 1)
            if (method is None or m == method) and (kind is None or k == kind):
                total += value
        return total

    def arrived(self, request: web.Request) -> _Seen:
        """Count a request as it arrives (kind, host, in flight)."""
        query = {k: v[0] for k, v in parse_qs(request.query_string, keep_blank_values=True).items()}
        kind, repo, ref = classify(request.method, request.path, query)
        self.by_kind[f"{request.method} {kind}"] += 1
        if repo:
            self.by_prefix[repo.split("/", 1)[0]] += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return _Seen(time.time(), request.method, kind, repo, ref)

    def answered(self, seen: _Seen, status: int) -> None:
        """Count the answer (the caller has taken the request out of ``in_flight``)."""
        self.by_status[status] += 1
        if seen.kind == "upload" and seen.method == "PUT" and seen.ref and status in (201, 204):
            self.blob_puts[(seen.repo or "", seen.ref)] += 1
        if seen.kind == "blob" and seen.method == "GET" and seen.ref and status in (200, 206):
            self.blob_gets[seen.ref] += 1
        if seen.kind == "mount" and status == 201:
            self.mounts[(seen.repo or "", seen.ref or "")] += 1

    def snapshot(self) -> dict[str, object]:
        return {
            "total": self.total,
            "by_kind": dict(sorted(self.by_kind.items())),
            "by_prefix": dict(sorted(self.by_prefix.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "blob_puts": sum(self.blob_puts.values()),
            "blob_put_pairs": len(self.blob_puts),
            "blob_put_duplicates": sum(v - 1 for v in self.blob_puts.values() if v > 1),
            "mounts": sum(self.mounts.values()),
            "blob_gets": sum(self.blob_gets.values()),
            "blob_get_digests": len(self.blob_gets),
            "peak_in_flight": self.peak_in_flight,
        }


class LatencyProxy:
    """Reverse proxy to ``upstream`` on a free 127.0.0.1 port, ``delay`` seconds per request.

    ``upstream`` may also be an aiohttp ``web.Application`` (a fake served in this
    process); it then runs on its own loopback port behind the proxy.
    """

    def __init__(self, upstream: str, *, delay: float = 0.020, name: str = "proxy", timeline: bool = False) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.name = name
        self.record_timeline = timeline
        self.counters = ProxyCounters()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port: int | None = None

    @property
    def host(self) -> str:
        if self._port is None:
            raise RuntimeError("proxy not started")
        return f"127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def reset(self) -> ProxyCounters:
        """Start counting afresh; return what was counted so far."""
        old, self.counters = self.counters, ProxyCounters()
        return old

    async def start(self) -> LatencyProxy:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = int(sock.getsockname()[1])
        await web.SockSite(self._runner, sock, backlog=1024).start()
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=256)
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=600),
        )
        return self

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LatencyProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        counters = self.counters
        seen = counters.arrived(request)
        try:
            if self.delay > 0:
                await asyncio.sleep(self.delay)
            body = await request.read()
            # A list, not a dict: clients repeat headers (skopeo sends one Accept per media type).
            headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
            assert self._session is not None
            async with self._session.request(
                request.method, self.upstream + request.path_qs, headers=headers,
                data=body if body or request.method in ("PUT", "POST", "PATCH") else None,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                status = upstream.status
                out_headers = CIMultiDict[str]()
                for key, value in upstream.headers.items():
                    if key.lower() in HOP_BY_HOP:
                        continue
                    if key.lower() == "location":
                        value = self._rewrite_location(value)
                    elif key.lower() == "link":
                        value = value.replace(self.upstream, self.url)
                    out_headers.add(key, value)
                length = upstream.headers.get("Content-Length")
        finally:
            counters.in_flight -= 1
        counters.answered(seen, status)
        response = web.StreamResponse(status=status, headers=out_headers)
        if request.method == "HEAD":
            if length is not None:
                response.headers["Content-Length"] = length
            await response.prepare(request)
            await response.write_eof()
        else:
            response.content_length = len(payload)
            await response.prepare(request)
            if payload:
                await response.write(payload)
            await response.write_eof()
        if self.record_timeline:
            counters.timeline.append((seen.at, time.time(), request.method, request.path_qs, status))
        return response

    def _rewrite_location(self, value: str) -> str:
        parts = urlsplit(value)
        if parts.netloc and f"{parts.scheme}://{parts.netloc}" == self.upstream:
            return self.url + value[len(self.upstream):]
        return value


class LatencyFront:
    """The proxy's delay and counts without the proxy: a middleware of a fake served in this
    process, for beds whose fakes are all in-process (discovery).

    Behind a :class:`LatencyProxy`, each request crosses two servers and a client in one Python
    process, and a burst of 20 requests (discover's first) was answered in 32-38 ms instead of
    the nominal 20: the bed, not the network it stands for, set the time of the run's longest
    chain. The front keeps the same delay (before the fake handles the request) and the same
    :class:`ProxyCounters`, timeline included; ``url`` is where the fake was served.
    """

    def __init__(self, *, delay: float = 0.020, name: str = "front", timeline: bool = False) -> None:
        self.delay = delay
        self.name = name
        self.record_timeline = timeline
        self.counters = ProxyCounters()
        self.url = "http://unset"

    def reset(self) -> ProxyCounters:
        """Start counting afresh; return what was counted so far."""
        old, self.counters = self.counters, ProxyCounters()
        return old

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        counters = self.counters
        seen = counters.arrived(request)
        status = 500
        try:
            if self.delay > 0:
                await asyncio.sleep(self.delay)
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:  # a fake's 404 and the like, raised rather than returned
            status = exc.status
            raise
        finally:
            counters.in_flight -= 1
            counters.answered(seen, status)
            if self.record_timeline:
                counters.timeline.append((seen.at, time.time(), request.method, request.path_qs, status))


async def serve_app(app: web.Application) -> tuple[web.AppRunner, str]:
    """Run an aiohttp application (a fake) on a free 127.0.0.1 port; return its runner and URL."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    await web.SockSite(runner, sock, backlog=1024).start()
    return runner, f"http://127.0.0.1:{port}"
