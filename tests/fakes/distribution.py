"""A fake OCI distribution registry (aiohttp.web) for what the real one cannot show.

docker-registry 2.8 does not paginate ``tags/list``, never rate limits, never
redirects blobs and never fails on purpose. This fake follows the distribution
spec for the parts the client uses and adds hooks:

* ``/v2/`` 200; ``tags/list`` with ``n``/``last`` and a ``Link`` next header
  (``link_style`` relative, absolute or alternating; ``max_page`` clamps ``n``;
  ``link_hook`` rewrites the link to build loops or foreign hosts);
* 404 ``{"errors":[{"code":"NAME_UNKNOWN",...}]}`` for unknown repositories,
  ``MANIFEST_UNKNOWN`` / ``BLOB_UNKNOWN`` likewise;
* manifests by tag or digest, answered only when the stored media type is in
  ``Accept`` (as distribution does for OCI indexes); ``omit_digest_header``;
* blob uploads (POST, monolithic PUT to ``Location`` with a query, cross-repo
  mount 201/202, DELETE to cancel), blob GET/HEAD, ``redirect_blobs_to`` another
  server's ``/cdn/<digest>`` (which also serves blobs);
* Basic auth (``basic=(user, password)``) or Bearer auth with a token endpoint
  on ``/token`` (``bearer_users``, ``token_expires_in``);
* faults: :meth:`FakeRegistry.fail` answers matching requests with a status
  (and headers) or resets the connection, a number of times;
* bookkeeping: every request (method, path, query, headers), the number in
  flight and its peak; ``latency`` holds each request so concurrent ones overlap.

Runs in the test's own event loop on a free loopback port::

    async with FakeRegistry() as fake:
        fake.add_tags("team/app", ["v1", "v2"])
        fake.url, fake.host
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import socket
import struct
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qs, urlencode

import anyio
from aiohttp import web

__all__ = ["FakeRegistry", "FakeTime", "Fault", "RecordedRequest", "make_image", "sha256"]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeTime:
    """An injectable clock and sleep: sleeping advances the clock and is recorded, instantly."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Fault:
    """Answer requests matching ``method`` and ``path`` (a regex searched in the path)."""

    path: str
    method: str | None = None
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    times: int = 1
    reset: bool = False
    hits: int = 0

    def matches(self, request: web.Request) -> bool:
        if self.hits >= self.times:
            return False
        if self.method is not None and request.method != self.method:
            return False
        return re.search(self.path, request.path) is not None


@dataclass
class _Repo:
    tags: dict[str, str] = field(default_factory=dict)  # tag -> digest
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # digest -> (type, data)
    blobs: dict[str, bytes] = field(default_factory=dict)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]})
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def make_image(
    created: str = "2024-01-01T00:00:00Z",
    *,
    layer: bytes = b"layer",
    platforms: Iterable[str] | None = None,
) -> tuple[bytes, str, dict[str, bytes], dict[str, tuple[str, bytes]]]:
    """An OCI image (or an OCI index when ``platforms``): (data, media type, blobs, child manifests)."""

    def single(platform: str) -> tuple[bytes, dict[str, bytes]]:
        os_, arch = platform.split("/")[:2]
        config = json.dumps({"created": created, "os": os_, "architecture": arch,
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        layer_data = layer + platform.encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer_data), "size": len(layer_data)}],
        }).encode()
        return manifest, {sha256(config): config, sha256(layer_data): layer_data}

    if platforms is None:
        data, blobs = single("linux/amd64")
        return data, OCI_MANIFEST, blobs, {}
    children: dict[str, tuple[str, bytes]] = {}
    all_blobs: dict[str, bytes] = {}
    entries = []
    for platform in platforms:
        data, blobs = single(platform)
        all_blobs.update(blobs)
        children[sha256(data)] = (OCI_MANIFEST, data)
        os_, arch = platform.split("/")[:2]
        entries.append({"mediaType": OCI_MANIFEST, "digest": sha256(data), "size": len(data),
                        "platform": {"os": os_, "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    return index, OCI_INDEX, all_blobs, children


_ROUTES = [
    ("tags", re.compile(r"/v2/(?P<name>.+)/tags/list\Z")),
    ("manifest", re.compile(r"/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)\Z")),
    ("upload_start", re.compile(r"/v2/(?P<name>.+)/blobs/uploads/\Z")),
    ("upload", re.compile(r"/v2/(?P<name>.+)/blobs/uploads/(?P<id>[^/]+)\Z")),
    ("blob", re.compile(r"/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)\Z")),
    ("cdn", re.compile(r"/cdn/(?P<digest>[^/]+)\Z")),
]


class FakeRegistry:
    """See the module docstring. All attributes may be changed between requests."""

    def __init__(
        self,
        *,
        basic: tuple[str, str] | None = None,
        bearer_users: dict[str, str] | None = None,
        bearer_anonymous: bool = True,
        token_expires_in: int | None = 60,
        link_style: str = "relative",
        max_page: int | None = None,
        upload_location: str = "absolute",
        omit_digest_header: bool = False,
        redirect_blobs_to: str | None = None,
        latency: float = 0.0,
    ) -> None:
        self.basic = basic
        self.bearer = bearer_users is not None
        self.bearer_users = dict(bearer_users or {})
        self.bearer_anonymous = bearer_anonymous
        self.token_expires_in = token_expires_in
        self.link_style = link_style
        self.max_page = max_page
        self.upload_location = upload_location
        self.omit_digest_header = omit_digest_header
        self.redirect_blobs_to = redirect_blobs_to
        self.latency = latency
        self.link_hook: Callable[[str, str], str | None] | None = None  # (name, default link) -> link
        self.faults: list[Fault] = []
        #: extra handlers by path regex (vendor APIs such as Docker Hub's), tried first
        self.routes: list[tuple[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = []
        self.repos: dict[str, _Repo] = {}
        self.requests: list[RecordedRequest] = []
        self.token_requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._tokens: dict[str, str | None] = {}  # token -> user
        self._uploads: dict[str, str] = {}
        self._pages = 0
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    # -- content -------------------------------------------------------------------------

    def repo(self, name: str) -> _Repo:
        return self.repos.setdefault(name, _Repo())

    def add_tags(self, name: str, tags: Iterable[str]) -> None:
        """Tags pointing at one small manifest (enough for tag-list tests)."""
        data, media_type, blobs, _ = make_image()
        for tag in tags:
            self.add_manifest(name, tag, data, media_type, blobs)

    def add_manifest(
        self, name: str, tag: str | None, data: bytes, media_type: str,
        blobs: dict[str, bytes] | None = None, children: dict[str, tuple[str, bytes]] | None = None,
    ) -> str:
        repo = self.repo(name)
        digest = sha256(data)
        repo.manifests[digest] = (media_type, data)
        repo.manifests.update(children or {})
        repo.blobs.update(blobs or {})
        if tag is not None:
            repo.tags[tag] = digest
        return digest

    def add_blob(self, name: str, data: bytes) -> str:
        self.repo(name).blobs[sha256(data)] = data
        return sha256(data)

    def fail(self, path: str, *, method: str | None = None, status: int = 503, times: int = 1,
             headers: dict[str, str] | None = None, reset: bool = False, body: bytes = b"") -> Fault:
        fault = Fault(path, method, status, dict(headers or {}), body, times, reset)
        self.faults.append(fault)
        return fault

    def count(self, method: str, path_regex: str) -> int:
        return sum(1 for r in self.requests if r.method == method and re.search(path_regex, r.path))

    # -- plumbing ------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        record = RecordedRequest(request.method, request.path, parse_qs(request.query_string),
                                 dict(request.headers))
        (self.token_requests if request.path == "/token" else self.requests).append(record)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)  # server-side only: makes concurrent requests overlap
            for fault in self.faults:
                if fault.matches(request):
                    fault.hits += 1
                    if fault.reset:
                        return self._reset(request)
                    return web.Response(status=fault.status, body=fault.body, headers=fault.headers)
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            self.in_flight -= 1

    def _reset(self, request: web.Request) -> web.Response:
        """Close the connection with a TCP RST (SO_LINGER 0), as a crashed proxy would."""
        transport = request.transport
        assert transport is not None
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        return web.Response(status=500)

    def _authorized(self, request: web.Request, name: str | None) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        if self.basic is not None:
            expected = "Basic " + base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
            if header != expected:
                return _error(401, "UNAUTHORIZED", "authentication required",
                              {"WWW-Authenticate": 'Basic realm="fake registry"'})
        elif self.bearer:
            token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
            if token is None or token not in self._tokens:
                scope = f',scope="repository:{name}:pull"' if name else ""
                challenge = f'Bearer realm="{self.url}/token",service="fake"{scope}'
                return _error(401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": challenge})
        return None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == "/token":
            return await self._token(request)
        for pattern_text, custom in self.routes:
            if re.search(pattern_text, path):
                return self._authorized(request, None) or await custom(request)
        if path == "/v2/" or path == "/v2":
            return self._authorized(request, None) or web.json_response({})
        for kind, pattern in _ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            params = match.groupdict()
            if kind == "cdn":
                return self._cdn(params["digest"])
            denied = self._authorized(request, params["name"])
            if denied is not None:
                return denied
            handler = getattr(self, f"_{kind}")
            response: web.StreamResponse = await handler(request, **params)
            return response
        return _error(404, "NOT_FOUND", "no route")

    async def _token(self, request: web.Request) -> web.Response:
        user: str | None = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.bearer_users.get(name) != password:
                return web.json_response({"details": "bad credentials"}, status=401)
            user = name
        elif request.method == "POST":
            form = await request.post()
            refresh = form.get("refresh_token")
            if refresh not in self.bearer_users.values():
                return web.json_response({"details": "bad refresh token"}, status=401)
            user = "oauth"
        elif not self.bearer_anonymous:
            return web.json_response({"details": "login required"}, status=401)
        token = f"tok-{uuid.uuid4().hex}"
        self._tokens[token] = user
        payload: dict[str, Any] = {"token": token}
        if self.token_expires_in is not None:
            payload["expires_in"] = self.token_expires_in
        return web.json_response(payload)

    # -- handlers -------------------------------------------------------------------------

    def _unknown_repo(self, name: str) -> web.Response:
        return _error(404, "NAME_UNKNOWN", f"repository name not known to registry: {name}")

    async def _tags(self, request: web.Request, name: str) -> web.Response:
        repo = self.repos.get(name)
        if repo is None:
            return self._unknown_repo(name)
        tags = sorted(repo.tags)
        last = request.query.get("last")
        if last is not None:
            tags = [tag for tag in tags if tag > last]
        n_text = request.query.get("n")
        n = int(n_text) if n_text else None
        if self.max_page is not None:
            n = min(n or self.max_page, self.max_page)
        headers: dict[str, str] = {}
        if n is not None and len(tags) > n:
            tags = tags[:n]
            link = f"/v2/{name}/tags/list?{urlencode({'n': n, 'last': tags[-1]})}"
            self._pages += 1
            absolute = self.link_style == "absolute" or (self.link_style == "alternate" and self._pages % 2 == 0)
            if absolute:
                link = self.url + link
            if self.link_hook is not None:
                hooked = self.link_hook(name, link)
                link = hooked if hooked is not None else link
            headers["Link"] = f'<{link}>; rel="next"'
        return web.json_response({"name": name, "tags": tags}, headers=headers)

    def _find_manifest(self, repo: _Repo, ref: str) -> tuple[str, str, bytes] | None:
        digest = repo.tags.get(ref, ref)
        found = repo.manifests.get(digest)
        return None if found is None else (digest, found[0], found[1])

    async def _manifest(self, request: web.Request, name: str, ref: str) -> web.Response:
        if request.method == "PUT":
            data = await request.read()
            digest = self.add_manifest(name, None if ref.startswith("sha256:") else ref, data,
                                       request.headers.get("Content-Type", ""))
            return web.Response(status=201, headers={"Docker-Content-Digest": digest,
                                                     "Location": f"/v2/{name}/manifests/{digest}"})
        repo = self.repos.get(name)
        if repo is None:
            return self._unknown_repo(name)
        found = self._find_manifest(repo, ref)
        accept = request.headers.get("Accept", "")
        if found is None or (found[1] not in accept):
            return _error(404, "MANIFEST_UNKNOWN", f"manifest unknown: {ref}")
        digest, media_type, data = found
        headers = {"Content-Type": media_type, "Content-Length": str(len(data))}
        if not self.omit_digest_header:
            headers["Docker-Content-Digest"] = digest
        if request.method == "HEAD":
            return web.Response(status=200, headers=headers)
        return web.Response(status=200, body=data, headers=headers)

    async def _blob(self, request: web.Request, name: str, digest: str) -> web.Response:
        repo = self.repos.get(name)
        if repo is None:
            return self._unknown_repo(name)
        data = repo.blobs.get(digest)
        if data is None:
            return _error(404, "BLOB_UNKNOWN", f"blob unknown: {digest}")
        if self.redirect_blobs_to and request.method == "GET":
            return web.Response(status=307, headers={"Location": f"{self.redirect_blobs_to}/cdn/{digest}?sig=s3cr3t"})
        headers = {"Docker-Content-Digest": digest, "Content-Length": str(len(data)),
                   "Content-Type": "application/octet-stream"}
        if request.method == "HEAD":
            return web.Response(status=200, headers=headers)
        return web.Response(status=200, body=data, headers=headers)

    def _cdn(self, digest: str) -> web.Response:
        for repo in self.repos.values():
            if digest in repo.blobs:
                return web.Response(status=200, body=repo.blobs[digest],
                                    headers={"Content-Type": "application/octet-stream"})
        return web.Response(status=404)

    async def _upload_start(self, request: web.Request, name: str) -> web.Response:
        mount, source = request.query.get("mount"), request.query.get("from")
        if mount and source:
            source_repo = self.repos.get(source)
            if source_repo is not None and mount in source_repo.blobs:
                self.repo(name).blobs[mount] = source_repo.blobs[mount]
                return web.Response(status=201, headers={"Docker-Content-Digest": mount,
                                                         "Location": f"/v2/{name}/blobs/{mount}"})
        upload_id = uuid.uuid4().hex
        self._uploads[upload_id] = name
        location = f"/v2/{name}/blobs/uploads/{upload_id}?_state=st{upload_id[:8]}"
        if self.upload_location == "absolute":
            location = self.url + location
        return web.Response(status=202, headers={"Location": location, "Docker-Upload-UUID": upload_id,
                                                 "Range": "0-0"})

    async def _upload(self, request: web.Request, name: str, id: str) -> web.Response:
        if self._uploads.get(id) != name:
            return _error(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
        if request.method == "DELETE":
            del self._uploads[id]
            return web.Response(status=204)
        if request.method != "PUT":
            return _error(405, "UNSUPPORTED", "monolithic PUT only")
        if not request.query.get("_state"):
            return _error(400, "BLOB_UPLOAD_INVALID", "the Location query was lost")
        digest = request.query.get("digest", "")
        data = await request.read()
        if sha256(data) != digest:
            return _error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
        del self._uploads[id]
        self.repo(name).blobs[digest] = data
        return web.Response(status=201, headers={"Docker-Content-Digest": digest,
                                                 "Location": f"/v2/{name}/blobs/{digest}"})
