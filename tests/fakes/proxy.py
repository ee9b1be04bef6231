"""A counting, gating reverse proxy in front of a real registry (aiohttp, same event loop).

Why: "a warm sync makes at most two requests per line" and "a shared blob is sent
once" are claims about the wire. The proxy forwards every request to a real
``docker-registry`` unchanged and records it as a :class:`Seen` (method, kind,
repository, reference, status), so a test counts exactly what the code under
test sent. Gates make races happen on purpose instead of by luck:

* ``proxy.barrier(predicate, parties)`` holds matching requests until
  ``parties`` of them are waiting, then lets them all go at once (two copies
  start at the same moment);
* ``proxy.hold(predicate)`` holds matching requests until the test calls
  ``gate.release()``; with :meth:`CountingProxy.wait_for` the test waits for a
  condition on what has arrived (never for time).

Use it inside an ``@pytest.mark.anyio`` test::

    async with CountingProxy(registry.url) as proxy:
        ... point the code under test at proxy.host ...
        assert proxy.count(method="PUT", kind="upload", ref=digest) == 1

Code under test that runs its own event loop (the CLI's ``anyio.run``) is
called through ``anyio.to_thread.run_sync`` so the proxy keeps serving.

Kinds: ``ping`` (``/v2/``), ``manifest``, ``blob`` (HEAD/GET of a blob),
``upload`` (POST to start an upload, PATCH/PUT to send it; the final PUT
carries ``ref`` = the digest), ``mount`` (POST with ``mount=``), ``tags``,
``referrers`` (``GET /v2/<name>/referrers/<digest>``, ``ref`` = the digest),
``catalog``, ``token`` (token realms), ``other``. The benchmark's latency proxy reuses
:func:`classify` and :data:`HOP_BY_HOP`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import anyio
from aiohttp import web
from multidict import CIMultiDict

__all__ = ["HOP_BY_HOP", "CountingProxy", "Gate", "Seen", "classify"]

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
     "transfer-encoding", "upgrade", "host", "content-length"}
)
_PATH = re.compile(r"^/v2/(?P<repo>.+?)/(?P<area>manifests|blobs|tags|referrers)/(?P<rest>.*)$")


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it (``status`` is filled in when the answer came back)."""

    number: int
    method: str
    kind: str
    repo: str | None
    ref: str | None
    query: dict[str, str]
    status: int | None = None
    range: str | None = None  # the request's Range header
    content_range: str | None = None  # the request's Content-Range header (PATCH chunks)
    length: int = 0  # request body bytes
    served: int = 0  # response body bytes written (filled in when the answer was sent)


def classify(method: str, path: str, query: dict[str, str]) -> tuple[str, str | None, str | None]:
    """``(kind, repository, reference)`` of a distribution API request."""
    if path.rstrip("/") == "/v2":
        return "ping", None, None
    if path.startswith("/v2/_catalog"):
        return "catalog", None, None
    if path.endswith("/token"):
        return "token", None, None
    match = _PATH.match(path)
    if not match:
        return "other", None, None
    repo, area, rest = match.group("repo"), match.group("area"), match.group("rest")
    if area == "manifests":
        return "manifest", repo, rest
    if area == "tags":
        return "tags", repo, None
    if area == "referrers":
        return "referrers", repo, rest
    if rest.startswith("uploads"):
        if method == "POST" and "mount" in query:
            return "mount", repo, query["mount"]
        return "upload", repo, query.get("digest")
    return "blob", repo, rest


@dataclass
class Gate:
    """Holds matching requests; opens by itself at ``parties`` waiting, or on ``release()``."""

    predicate: Callable[[Seen], bool]
    parties: int | None = None
    waiting: int = 0
    passed: int = 0
    _open: anyio.Event = field(default_factory=anyio.Event)
    once: bool = True  # after opening, later matching requests are not held

    def release(self) -> None:
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def arrive(self) -> None:
        """Count a held request, before anyone watching the proxy is told it arrived."""
        self.waiting += 1
        if self.parties is not None and self.waiting >= self.parties:
            self._open.set()

    async def pass_through(self) -> None:
        await self._open.wait()
        self.passed += 1


class CountingProxy:
    """Reverse proxy to ``upstream`` (``http://127.0.0.1:PORT``) on a free loopback port."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.seen: list[Seen] = []
        self.gates: list[Gate] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._watchers: list[tuple[Callable[[CountingProxy], bool], anyio.Event]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port: int | None = None

    # ---- addresses ---------------------------------------------------------
    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: use it as the registry host in image references."""
        if self._port is None:
            raise RuntimeError("proxy not started")
        return f"127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    # ---- lifecycle ---------------------------------------------------------
    async def __aenter__(self) -> CountingProxy:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession(auto_decompress=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for gate in self.gates:
            gate.release()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- test API ----------------------------------------------------------
    def hold(self, predicate: Callable[[Seen], bool]) -> Gate:
        """Hold matching requests until ``gate.release()``."""
        gate = Gate(predicate)
        self.gates.append(gate)
        return gate

    def barrier(self, predicate: Callable[[Seen], bool], parties: int) -> Gate:
        """Hold matching requests until ``parties`` of them wait, then release them together."""
        gate = Gate(predicate, parties=parties)
        self.gates.append(gate)
        return gate

    def matching(self, method: str | None = None, kind: str | None = None, repo: str | None = None,
                 ref: str | None = None) -> list[Seen]:
        return [
            s for s in self.seen
            if (method is None or s.method == method) and (kind is None or s.kind == kind)
            and (repo is None or s.repo == repo) and (ref is None or s.ref == ref)
        ]

    def count(self, method: str | None = None, kind: str | None = None, repo: str | None = None,
              ref: str | None = None) -> int:
        return len(self.matching(method, kind, repo, ref))

    def summary(self) -> dict[str, int]:
        """``{"HEAD manifest": 4, ...}`` for messages and reports."""
        out: dict[str, int] = {}
        for s in self.seen:
            key = f"{s.method} {s.kind}"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    def reset(self) -> None:
        self.seen.clear()

    async def wait_for(self, condition: Callable[[CountingProxy], bool]) -> None:
        """Return once ``condition(proxy)`` holds (checked on every arrival and answer)."""
        if condition(self):
            return
        event = anyio.Event()
        self._watchers.append((condition, event))
        await event.wait()

    def _notify(self) -> None:
        for condition, event in list(self._watchers):
            if condition(self):
                event.set()
                self._watchers.remove((condition, event))

    # ---- forwarding --------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        query = {k: v[0] for k, v in parse_qs(request.query_string, keep_blank_values=True).items()}
        kind, repo, ref = classify(request.method, request.path, query)
        index = len(self.seen)
        length = int(request.headers.get("Content-Length") or 0)
        seen = Seen(index, request.method, kind, repo, ref, query, None, request.headers.get("Range"),
                    request.headers.get("Content-Range"), length)
        self.seen.append(seen)
        held = [gate for gate in self.gates if gate.predicate(seen) and not (gate.once and gate.is_open)]
        for gate in held:
            gate.arrive()
        self._notify()  # a watcher sees the request already counted by its gates
        for gate in held:
            await gate.pass_through()
        refused = self.refuse(seen)
        if refused is not None:
            self.seen[index] = Seen(index, seen.method, kind, repo, ref, query, refused.status)
            self._notify()
            return refused
        body = await request.read()
        self.received(seen, body)
        answer = self._answer_now(seen)
        if answer is not None:  # a fault: answered here, never forwarded
            self.seen[index] = replace(seen, status=answer)
            self._notify()
            return web.Response(status=answer, text=f"fault injected: {answer}")
        # A multidict: skopeo sends one Accept header per media type, a dict would keep only the last.
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
        self._forward_headers(seen, headers)
        assert self._session is not None
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            async with self._session.request(
                request.method, self.upstream + request.path_qs, headers=headers,
                data=body if body or request.method in ("PUT", "POST", "PATCH") else None,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                status = upstream.status
                out_headers: dict[str, Any] = {}
                for key, value in upstream.headers.items():
                    if key.lower() in HOP_BY_HOP:
                        continue
                    if key.lower() == "location":
                        value = self._rewrite_location(value)
                    out_headers[key] = value
                length = upstream.headers.get("Content-Length")
                out_headers.update(self.extra_headers(seen, status))
        finally:
            self.in_flight -= 1
        seen = self.seen[index] = replace(seen, status=status)
        self._notify()
        response = web.StreamResponse(status=status, headers=out_headers)
        if request.method == "HEAD":
            if length is not None:
                response.headers["Content-Length"] = length
            await response.prepare(request)
            await response.write_eof()
            return response
        response.content_length = len(payload)
        await response.prepare(request)
        served = await self._write_body(seen, request, response, payload)
        self.seen[index] = replace(seen, served=served)
        self._notify()
        self.delivered(self.seen[index])
        return response

    # ---- hooks for the fault proxy (tests/fakes/faults.py) -----------------
    def _answer_now(self, seen: Seen) -> int | None:
        """A status to answer without forwarding, or None."""
        return None

    def _forward_headers(self, seen: Seen, headers: CIMultiDict[str]) -> None:
        """Change the headers sent upstream (in place)."""

    async def _write_body(self, seen: Seen, request: web.Request, response: web.StreamResponse,
                          payload: bytes) -> int:
        """Send the answer's body; return the bytes written."""
        await response.write(payload)
        await response.write_eof()
        return len(payload)

    # ---- hooks for fronts that add a service's own behaviour (tests.fakes.quota) --------------
    def refuse(self, seen: Seen) -> web.Response | None:
        """An answer instead of forwarding ``seen`` (None: forward it)."""
        return None

    def received(self, seen: Seen, body: bytes) -> None:
        """The request body of ``seen`` (read before it is forwarded)."""

    def extra_headers(self, seen: Seen, status: int) -> dict[str, str]:
        """Headers added to the upstream's answer to ``seen``."""
        return {}

    def delivered(self, seen: Seen) -> None:
        """``seen`` (a GET or other request with a body) was answered in full."""

    def _rewrite_location(self, value: str) -> str:
        parts = urlsplit(value)
        if parts.netloc and f"{parts.scheme}://{parts.netloc}" == self.upstream:
            return self.url + value[len(self.upstream):]
        return value
