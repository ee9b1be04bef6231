"""``RegistryClient``: the distribution API on one aiohttp session per run.

The client is a thin facade: it builds URLs (endpoint, ``repository_prefix``),
picks scopes and media types, and checks digests; every request goes through
:class:`mirror.transport.Transport`, which owns limits, auth challenges,
redirects, retries and status → error mapping. The newest-first orderings live in :mod:`.ordering`.

The run's one transport (and so its one session) is shared with the GitHub
client; make a client with :meth:`RegistryClient.open` or on a transport you own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import anyio

from ..errors import NotFound, ProtocolError
from ..events import Stats
from ..ref import ImageRef, normalize_host
from ..transport import Reply, Transport, safe_url
from ..transport.limits import SMALL_BLOB_LIMIT
from . import ordering
from .auth import Authenticator, TokenRequest, TokenResponse, repository_scope
from .credentials import CredentialStore
from .hosts import Registries, ResolvedHost
from .pages import json_object, pages
from .media import (
    ACCEPT_MANIFESTS,
    MANIFEST_TYPES,
    Descriptor,
    Manifest,
    base,
    compute_digest,
    detect_media_type,
    digest_algorithm,
)

if TYPE_CHECKING:
    from .blobs import BlobReader, BlobStore
    from .referrers import ReferrersAnswer

__all__ = ["RegistryClient"]

TAGS_PAGE_SIZE = 1000
MAX_PAGES = 1000
MANIFEST_LIMIT = 4 * 1024 * 1024  # distribution's own limit for manifests
FETCH_LIMIT = 256 * 1024 * 1024  # big Helm repository indexes are tens of MiB


class RegistryClient:
    """Async client for OCI distribution registries (one per run, shared by all tasks)."""

    def __init__(
        self,
        transport: Transport,
        *,
        credentials: CredentialStore | None = None,
        hub_api: str | None = ordering.HUB_API,
        quay_api: str | None = ordering.QUAY_API,
        max_pages: int = MAX_PAGES,
    ) -> None:
        """``credentials`` defaults to none (anonymous); :meth:`open` reads docker's files.

        The client installs its authenticator on ``transport``: registry requests
        answer their 401 challenges there.
        """
        self.transport = transport
        self.registries = transport.registries
        self.stats = transport.stats
        self.hub_api = hub_api
        self.quay_api = quay_api
        self.max_pages = max_pages
        transport.auth = Authenticator(credentials or CredentialStore(), transport.clock, self._token_request)
        self._resolved: dict[str, ResolvedHost] = {}
        self._resolve_locks: dict[str, anyio.Lock] = {}

    def __repr__(self) -> str:
        return f"RegistryClient(hosts={sorted(self.registries.hosts)!r})"

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        *,
        hosts: Registries | None = None,
        stats: Stats | None = None,
        credentials: CredentialStore | None = None,
        hub_api: str | None = ordering.HUB_API,
        quay_api: str | None = ordering.QUAY_API,
        max_pages: int = MAX_PAGES,
        **transport_options: Any,
    ) -> AsyncIterator[RegistryClient]:
        """A client on a new transport (its own session), closed on exit.

        Without ``credentials`` the docker config files of the environment are
        read (in a worker thread: file reads block). ``transport_options`` are
        :class:`~mirror.transport.Transport`'s (``retry``, ``clock``, ``sleep``, ``rng``).
        """
        if credentials is None:
            credentials = await anyio.to_thread.run_sync(CredentialStore.from_environment)
        async with Transport.open(registries=hosts or Registries(), stats=stats, **transport_options) as transport:
            yield cls(transport, credentials=credentials, hub_api=hub_api, quay_api=quay_api, max_pages=max_pages)

    # -- hosts -------------------------------------------------------------------------

    async def endpoint(self, host: str) -> ResolvedHost:
        """Where requests for ``host`` go (base URL, TLS, CA file, repository prefix).

        For loopback and ``insecure`` hosts without a scheme, HTTPS is probed
        once per run and plain HTTP used when the handshake fails.
        """
        key = normalize_host(host)
        found = self._resolved.get(key)
        if found is not None:
            return found
        lock = self._resolve_locks.setdefault(key, anyio.Lock(fast_acquire=True))
        async with lock:
            found = self._resolved.get(key)
            if found is None:
                found = self.registries.resolve(key)
                if found.may_fall_back:
                    found = await self._probe(found)
                self._resolved[key] = found
        return found

    async def _probe(self, target: ResolvedHost) -> ResolvedHost:
        speaks_tls = await self.transport.speaks_tls(target, target.url("/v2/"))
        return target.with_scheme("https" if speaks_tls else "http")

    async def _target(self, ref: ImageRef) -> tuple[ResolvedHost, str]:
        target = await self.endpoint(ref.host)
        return target, target.remote_name(ref.repository)

    # -- tags --------------------------------------------------------------------------

    async def list_tags(self, ref: ImageRef) -> list[str]:
        """All tags of the repository, following ``Link: rel="next"`` pages.

        Next links must stay on the endpoint's origin; a repeated link or more
        than ``max_pages`` pages is a :class:`ProtocolError`, never a loop.
        """
        target, name = await self._target(ref)
        tags: list[str] = []
        known: set[str] = set()
        what = f"tags of {ref.name}"
        async for reply in pages(self.transport, target, target.url(f"/v2/{name}/tags/list?n={TAGS_PAGE_SIZE}"),
                                 what=what, scopes=[repository_scope(name, "pull")], max_pages=self.max_pages,
                                 limit=64 * 1024 * 1024, noun="pages of tags"):
            for tag in _tags_page(reply.body, what):
                if tag not in known:
                    known.add(tag)
                    tags.append(tag)
        return tags

    async def tags_newest_first(self, ref: ImageRef, candidates: Sequence[str] | None = None) -> list[str]:
        """Tags ordered newest first; only ``candidates`` when given.

        Docker Hub and quay.io (unless redirected by an endpoint) have APIs
        that list by push time; elsewhere the image config's ``created`` time
        is read for each candidate — pass the filtered candidates, not every tag.
        """
        return await ordering.newest_first(self, ref, candidates)

    async def order_by_created(self, ref: ImageRef, tags: Sequence[str]) -> list[str]:
        """``tags`` by their image config's ``created`` time, newest first; unknown times last."""
        return await ordering.order_by_created(self, ref, tags)

    async def created(self, ref: ImageRef) -> datetime | None:
        """The ``created`` time of the image (for an index: linux/amd64 or the first child)."""
        return await ordering.created(self, ref)

    async def repository_exists(self, ref: ImageRef) -> bool:
        """Whether the repository exists (a 404 on its tag list means no)."""
        target, name = await self._target(ref)
        try:
            await self.transport.request(
                target, "GET", target.url(f"/v2/{name}/tags/list?n=1"),
                what=f"repository {ref.name}", scopes=[repository_scope(name, "pull")],
            )  # fmt: skip
        except NotFound:
            return False
        return True

    # -- manifests ---------------------------------------------------------------------

    async def head_manifest(self, ref: ImageRef) -> Descriptor:
        """Digest, media type and size without downloading (GET only when the
        registry does not send ``Docker-Content-Digest`` or a manifest type)."""
        reply = await self._head(ref)
        digest = reply.headers.get("Docker-Content-Digest")
        media_type = base(reply.headers.get("Content-Type"))
        if not digest or media_type not in MANIFEST_TYPES:
            manifest = await self.get_manifest(ref)
            return Descriptor(manifest.digest, manifest.media_type, len(manifest.data))
        if ref.digest and digest != ref.digest:
            raise ProtocolError(f"manifest {ref}: registry reports digest {digest}")
        length = reply.headers.get("Content-Length", "")
        return Descriptor(digest, media_type, int(length) if length.isdigit() else -1)

    async def _head(self, ref: ImageRef, *, check: bool = True) -> Reply:
        target, name = await self._target(ref)
        return await self.transport.request(
            target, "HEAD", target.url(f"/v2/{name}/manifests/{ref.reference}"),
            what=f"manifest {ref}", scopes=[repository_scope(name, "pull")],
            headers={"Accept": ACCEPT_MANIFESTS}, check=check,
        )  # fmt: skip

    async def get_manifest(self, ref: ImageRef) -> Manifest:
        """The manifest bytes exactly as served, with their verified digest."""
        target, name = await self._target(ref)
        what = f"manifest {ref}"
        reply = await self.transport.request(
            target, "GET", target.url(f"/v2/{name}/manifests/{ref.reference}"),
            what=what, scopes=[repository_scope(name, "pull")],
            headers={"Accept": ACCEPT_MANIFESTS}, limit=MANIFEST_LIMIT, pull=True,
        )  # fmt: skip
        data = reply.body
        digest = compute_digest(data, digest_algorithm(ref.digest) if ref.digest else "sha256")
        if ref.digest and digest != ref.digest:
            raise ProtocolError(f"{what}: content has digest {digest}")
        served = reply.headers.get("Docker-Content-Digest")
        if served and digest_algorithm(served) == digest_algorithm(digest) and served != digest:
            raise ProtocolError(f"{what}: registry says {served} but the content has {digest}")
        return Manifest(data, detect_media_type(data, reply.headers.get("Content-Type")), digest)

    @asynccontextmanager
    async def pulling(self, ref: ImageRef) -> AsyncIterator[None]:
        """Around a pull of ``ref`` made outside the transport (the skopeo and oras copiers):
        wait for the host's pull floor first, as a manifest GET would (re-reading the quota
        with a HEAD of ``ref``), and count one pull off the reading afterwards."""
        target, _ = await self._target(ref)
        quota = self.transport.quota(target)
        admitted = await quota.admit(lambda: self._head(ref, check=False))
        try:
            yield
        finally:
            admitted.settle(spent=True)

    async def put_manifest(self, ref: ImageRef, data: bytes, media_type: str) -> str:
        """Upload a manifest byte-exactly under ``ref``'s tag or digest; return its digest."""
        digest, _ = await self._put_manifest(ref, data, media_type)
        return digest

    async def put_manifest_subject(self, ref: ImageRef, data: bytes, media_type: str) -> str | None:
        """Upload a manifest that has a ``subject`` (a referrer) byte-exactly; return the
        answer's ``OCI-Subject`` header: the subject digest when the registry indexed the
        referrer itself, ``None`` when it did not (no referrers API: the pusher must update
        the subject's referrers tag, distribution spec 1.1)."""
        _, subject = await self._put_manifest(ref, data, media_type)
        return subject

    async def _put_manifest(self, ref: ImageRef, data: bytes, media_type: str) -> tuple[str, str | None]:
        target, name = await self._target(ref)
        expected = compute_digest(data)
        reply = await self.transport.request(
            target, "PUT", target.url(f"/v2/{name}/manifests/{ref.reference}"),
            what=f"manifest {ref}", scopes=[repository_scope(name, "pull", "push")],
            headers={"Content-Type": media_type}, body=data, ok=(200, 201, 202),
        )  # fmt: skip
        served = reply.headers.get("Docker-Content-Digest")
        if served and digest_algorithm(served) == "sha256" and served != expected:
            raise ProtocolError(f"manifest {ref}: registry stored {served}, expected {expected}")
        return expected, reply.headers.get("OCI-Subject") or None

    async def list_referrers(self, ref: ImageRef, digest: str, artifact_type: str | None = None
                             ) -> ReferrersAnswer | None:
        """The OCI 1.1 referrers of ``digest`` in ``ref``'s repository, every ``Link`` page
        followed; ``None`` when the registry has no referrers API (see :mod:`.referrers`)."""
        from .referrers import list_referrers  # on first use, like the blob machinery below

        return await list_referrers(self, ref, digest, artifact_type)

    # -- blobs (see .blobs) ------------------------------------------------------------

    async def _blobs(self, ref: ImageRef) -> BlobStore:
        """The blob side of ``ref``'s repository. The blob, upload and transfer modules are
        imported on first use: discover never moves a blob, and their classes were part of the
        start-up every discover run paid before its first request."""
        from .blobs import BlobStore

        target, name = await self._target(ref)
        return BlobStore(self.transport, target, name, ref.name)

    async def blob_exists(self, ref: ImageRef, digest: str) -> bool:
        """Whether the repository has the blob (HEAD; 404 means no)."""
        return await (await self._blobs(ref)).exists(digest)

    @asynccontextmanager
    async def get_blob(self, ref: ImageRef, digest: str) -> AsyncIterator[BlobReader]:
        """Stream a blob: ``async with client.get_blob(r, d) as blob: async for chunk in blob``.

        Redirects to a CDN are followed without our ``Authorization``; the
        digest is verified after the last chunk; the host slot is held while
        the block runs.
        """
        async with (await self._blobs(ref)).stream(digest) as reader:
            yield reader

    async def read_blob(self, ref: ImageRef, digest: str, *, limit: int = SMALL_BLOB_LIMIT) -> bytes:
        """A small blob (an image config) in memory, digest verified."""
        return await (await self._blobs(ref)).read(digest, limit=limit)

    async def upload_blob(
        self, ref: ImageRef, digest: str, data: bytes | AsyncIterable[bytes], size: int | None = None
    ) -> None:
        """Upload a blob: ``POST …/uploads/`` then one monolithic ``PUT <Location>&digest=``.

        ``bytes`` are checked against ``digest`` first and may be retried; a
        stream is sent once (with ``Content-Length`` when ``size`` is given)
        and the registry verifies its digest.
        """
        await (await self._blobs(ref)).upload(digest, data, size)

    async def copy_blob(self, source: ImageRef, destination: ImageRef, blob: Descriptor, *, spool: bool = False) -> int:
        """Copy one blob between repositories (any hosts); return its size.

        Reads resume with ``Range`` after a cut, upload steps retry, and nothing is
        committed before its digest matched (:mod:`.transfer`). ``spool`` downloads to a
        temporary file before uploading (both sides on one host with one request slot).
        """
        from .transfer import copy_blob  # on first use (see _blobs)

        store = await self._blobs(source)
        size = blob.size if blob.size >= 0 else await store.length(blob.digest)
        return await copy_blob(store, await self._blobs(destination), blob.digest, size, spool=spool)

    async def fan_out_blob(self, source: ImageRef, destinations: Sequence[ImageRef],
                           blob: Descriptor) -> list[int | Exception]:
        """Copy one blob to several repositories, reading the source once; per destination
        the blob's size, or the error that failed it (:func:`~.transfer.fan_out_blob`)."""
        from .transfer import fan_out_blob  # on first use (see _blobs)

        store = await self._blobs(source)
        size = blob.size if blob.size >= 0 else await store.length(blob.digest)
        stores = [await self._blobs(destination) for destination in destinations]
        return [size if error is None else error for error in await fan_out_blob(store, stores, blob.digest, size)]

    async def mount_blob(self, ref: ImageRef, digest: str, from_repo: ImageRef) -> bool:
        """Cross-repository mount on one registry: True when mounted (201).

        False for another host, or when the registry answered 202 (it started
        an upload instead, which is cancelled): then upload the usual way.
        """
        if normalize_host(from_repo.host) != normalize_host(ref.host):
            return False
        store = await self._blobs(ref)
        return await store.mount(digest, store.target.remote_name(from_repo.repository), from_repo.name)

    # -- other URLs --------------------------------------------------------------------

    async def fetch(self, url: str, *, limit: int = FETCH_LIMIT) -> bytes:
        """GET any http(s) URL (Helm ``index.yaml``, chart ``.tgz``, vendor APIs)
        with the URL host's registries-file settings, limits, retries and credentials."""
        target, real_url = self.registries.resolve_url(url)
        reply = await self.transport.request(target, "GET", real_url, what=f"GET {safe_url(url)}", limit=limit)
        return reply.body

    async def _token_request(self, request: TokenRequest, registry: ResolvedHost) -> TokenResponse:
        """A token-realm request through the same limits and retries, without the auth flow."""
        target, url = self.registries.resolve_url(request.url)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        authorization = next((v for k, v in request.headers.items() if k.lower() == "authorization"), None)
        body: bytes | None = None
        if request.form is not None:
            body = urlencode(dict(request.form)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        reply = await self.transport.request(
            target, request.method, url, what=f"token for {registry.netloc}", headers=headers, body=body,
            authenticate=False, authorization=authorization, check=False, limit=1024 * 1024,
        )  # fmt: skip
        return TokenResponse(reply.status, reply.body)

    async def fetch_json(self, url: str, *, limit: int = 64 * 1024 * 1024) -> Any:
        body = await self.fetch(url, limit=limit)
        try:
            return json.loads(body)
        except ValueError:
            raise ProtocolError(f"GET {safe_url(url)}: the answer is not JSON") from None


def _tags_page(body: bytes, what: str) -> list[str]:
    tags = json_object(body, what, "the tag list").get("tags")
    if tags is None:
        return []  # distribution answers "tags": null for a repository without tags
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ProtocolError(f"{what}: 'tags' is not a list of strings")
    return tags
