"""The ``oras`` copier: OCI artifacts (Helm charts, signatures, SBOMs) through oras-py.

oras-py is synchronous (``requests``), so every call runs in a worker thread
via ``anyio.to_thread.run_sync`` under this copier's own ``CapacityLimiter``
— the event loop never blocks and the threads stay few. Two oras-py habits
are worked around on purpose:

* ``upload_manifest`` validates an image-manifest schema and re-serialises
  the JSON, which changes the digest. Manifests are therefore read and written
  as raw bytes through the oras client's own session (``do_request``), so the
  digest is preserved exactly.
* ``do_request`` retries *any* exception five times with sleeps growing to 80 s;
  a missing tag would stall a worker for minutes. Each oras client here gets
  the undecorated method, and failures are reported at once.

Credentials come from the registry client's resolution (never from oras'
``login``, which would write ``~/.docker/config.json``); a registry that
answers with a Basic challenge gets oras' Basic backend, others its token one.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from ..errors import AuthError, CopyError, NotFound
from ..events import Stats
from ..ref import ImageRef
from ..registry.credentials import Credential
from ..registry.hosts import ResolvedHost
from ..registry.media import ACCEPT_MANIFESTS, Descriptor, Manifest, detect_media_type, sha256_digest
from .base import CopyResult, HostResolver, PlanItem, is_schema1
from .native import schema1_error

__all__ = ["OrasCopier"]

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class _Side:
    """One registry as oras-py should reach it."""

    host: ResolvedHost
    credential: Credential | None
    basic: bool = False  # the registry answers with a Basic challenge (else: token auth)


def _verify(host: ResolvedHost) -> bool | str:
    return host.ca_file or host.tls_verify


def _answers_basic(host: ResolvedHost) -> bool:
    """Whether ``/v2/`` answers 401 with a Basic challenge (blocking: call in a worker thread)."""
    import requests

    prefix = "http" if host.plain_http else "https"
    try:
        response = requests.get(f"{prefix}://{host.netloc}/v2/", verify=_verify(host), timeout=30)
    except requests.RequestException:
        return False
    challenge = response.headers.get("WWW-Authenticate", "")
    return response.status_code == 401 and challenge.lower().startswith("basic")


@dataclass
class _Counts:
    bytes_sent: int = 0
    sent: int = 0
    present: int = 0
    manifests: int = 0


class _OrasSession:
    """An oras-py client bound to one registry endpoint (used from one worker thread)."""

    def __init__(self, side: _Side) -> None:
        import oras.provider  # imported lazily: only runs of --copier oras pay for it

        self.host = side.host
        self.prefix = "http" if side.host.plain_http else "https"
        backend = "basic" if side.credential and side.basic else "token"
        self.client = oras.provider.Registry(
            hostname=side.host.netloc, insecure=side.host.plain_http, tls_verify=_verify(side.host),
            auth_backend=backend,
        )
        # Bounded behaviour: skip oras' retry decorator (see the module docstring).
        undecorated = type(self.client).do_request.__wrapped__
        self.client.do_request = functools.partial(undecorated, self.client)
        if side.credential:
            secret = side.credential.password or side.credential.identity_token
            self.client.auth.set_basic_auth(side.credential.username, secret)
            if backend == "basic":
                self.client.set_header("Authorization", f"Basic {self.client.auth._basic_auth}")

    def container(self, ref: ImageRef) -> Any:
        import oras.container

        name = f"{self.host.netloc}/{self.host.remote_name(ref.repository)}"
        return oras.container.Container(name, registry=self.host.netloc)

    def _url(self, path: str) -> str:
        return f"{self.prefix}://{path}"

    def request(self, method: str, url: str, *, what: str, ok: tuple[int, ...] = (200,),
                headers: dict[str, str] | None = None, data: bytes | None = None, stream: bool = False) -> Any:
        hdrs = dict(self.client.headers)
        hdrs.update(headers or {})
        try:
            response = self.client.do_request(url, method, headers=hdrs, data=data, stream=stream)
        except ValueError as exc:  # oras' "Cannot respond to request for authentication"
            raise AuthError(f"{what}: {self.host.netloc}: {exc}") from None
        except OSError as exc:  # requests' exceptions are OSErrors
            raise CopyError(f"{what}: cannot reach {self.host.netloc}: {type(exc).__name__}") from None
        if response.status_code not in ok:
            status = response.status_code
            response.close()
            if status == 404:
                raise NotFound(f"{what}: not found on {self.host.netloc}", status=404)
            if status in (401, 403):
                raise AuthError(f"{what}: {self.host.netloc} refused access (HTTP {status})", status=status)
            raise CopyError(f"{what}: {self.host.netloc} answered HTTP {status}")
        return response

    def get_manifest(self, ref: ImageRef) -> Manifest:
        url = self._url(self.container(ref).manifest_url(ref.reference))
        response = self.request("GET", url, what=f"manifest {ref}", headers={"Accept": ACCEPT_MANIFESTS})
        data = response.content
        digest = sha256_digest(data)
        served = response.headers.get("Docker-Content-Digest")
        if (ref.digest and ref.digest != digest) or (served and served.startswith("sha256:") and served != digest):
            raise CopyError(f"manifest {ref}: content has digest {digest}, expected {ref.digest or served}")
        return Manifest(data, detect_media_type(data, response.headers.get("Content-Type")), digest)

    def put_manifest(self, ref: ImageRef, manifest: Manifest) -> None:
        url = self._url(self.container(ref).manifest_url(ref.reference))
        self.request("PUT", url, what=f"manifest {ref}", ok=(200, 201, 202), data=manifest.data,
                     headers={"Content-Type": manifest.media_type})

    def blob_exists(self, ref: ImageRef, blob: Descriptor) -> bool:
        return bool(self.client.blob_exists({"digest": blob.digest}, self.container(ref)))

    def download(self, ref: ImageRef, blob: Descriptor, handle: Any) -> int:
        """Stream a blob into ``handle``, checking its sha256 on the way."""
        url = self._url(self.container(ref).get_blob_url(blob.digest))
        response = self.request("GET", url, what=f"blob {blob.digest} in {ref.name}", stream=True)
        hasher = hashlib.sha256()
        size = 0
        with response:
            for chunk in response.iter_content(chunk_size=CHUNK):
                hasher.update(chunk)
                handle.write(chunk)
                size += len(chunk)
        actual = f"sha256:{hasher.hexdigest()}"
        if actual != blob.digest:
            raise CopyError(f"blob {blob.digest} from {ref.name}: content has digest {actual}")
        return size

    def upload(self, ref: ImageRef, blob: Descriptor, path: str, size: int) -> None:
        layer = {"digest": blob.digest, "size": size, "mediaType": blob.media_type}
        response = self.client.upload_blob(path, self.container(ref), layer)
        if response.status_code not in (200, 201, 202):
            raise CopyError(f"blob {blob.digest} upload to {ref.name}: HTTP {response.status_code}")


def _blobs_of(manifest: Manifest) -> list[Descriptor]:
    blobs: list[Descriptor] = []
    config = manifest.config()
    if config is not None:
        blobs.append(config)
    blobs.extend(manifest.layers())
    raw = manifest.json().get("blobs")  # OCI artifact manifests (v1.1 draft) list "blobs"
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and isinstance(item.get("digest"), str):
                blobs.append(Descriptor(item["digest"], str(item.get("mediaType", "")), int(item.get("size", -1))))
    return list({blob.digest: blob for blob in blobs}.values())


def _copy_sync(src: _Side, dest: _Side, source: ImageRef, destination: ImageRef, given: Manifest | None) -> tuple[str, _Counts]:
    """The whole copy, blocking: runs in a worker thread."""
    counts = _Counts()
    reader = _OrasSession(src)
    writer = _OrasSession(dest)
    try:
        top = given or reader.get_manifest(source)
        if is_schema1(top.media_type, top.data):
            raise schema1_error(source)
        _copy_contents(reader, writer, source, destination, top, counts)
        writer.put_manifest(destination, top)
        counts.manifests += 1
        return top.digest, counts
    finally:
        reader.client.session.close()
        writer.client.session.close()


def _copy_contents(reader: _OrasSession, writer: _OrasSession, source: ImageRef, destination: ImageRef,
                   manifest: Manifest, counts: _Counts) -> None:
    if manifest.is_index:
        for child in manifest.children():
            child_src = source.bare().with_digest(child.digest)
            child_manifest = reader.get_manifest(child_src)
            if is_schema1(child_manifest.media_type, child_manifest.data):
                raise schema1_error(child_src)
            _copy_contents(reader, writer, source, destination, child_manifest, counts)
            writer.put_manifest(destination.bare().with_digest(child.digest), child_manifest)
            counts.manifests += 1
        return
    for blob in _blobs_of(manifest):
        if writer.blob_exists(destination, blob):
            counts.present += 1
            continue
        fd, path = tempfile.mkstemp(prefix="image-mirror-oras-")
        try:
            with os.fdopen(fd, "wb") as handle:
                size = reader.download(source, blob, handle)
            writer.upload(destination, blob, path, size)
        finally:
            os.unlink(path)
        counts.sent += 1
        counts.bytes_sent += size


class OrasCopier:
    """Copies OCI artifacts with oras-py in worker threads (``concurrency`` at a time)."""

    name = "oras"

    def __init__(self, resolver: HostResolver, *, concurrency: int = 2, stats: Stats | None = None) -> None:
        self.resolver = resolver
        self.limiter = anyio.CapacityLimiter(max(1, concurrency))
        self.stats = stats
        self._basic: dict[str, bool] = {}  # netloc -> answers with a Basic challenge

    async def _side(self, host: str) -> _Side:
        """How to reach ``host``; its auth scheme is probed once per run, not per copy."""
        resolved = await self.resolver.endpoint(host)
        credential = await self.resolver.credential(resolved.credential_host)
        if credential is None:
            return _Side(resolved, None)
        basic = self._basic.get(resolved.netloc)
        if basic is None:
            basic = await anyio.to_thread.run_sync(_answers_basic, resolved, limiter=self.limiter)
            self._basic[resolved.netloc] = basic
        return _Side(resolved, credential, basic)

    async def copy(self, source: ImageRef, destination: ImageRef, item: PlanItem) -> CopyResult:
        src = await self._side(source.host)
        dest = await self._side(destination.host)
        call: Callable[[], tuple[str, _Counts]] = functools.partial(
            _copy_sync, src, dest, source, destination, item.manifest
        )
        digest, counts = await anyio.to_thread.run_sync(call, limiter=self.limiter)
        if self.stats is not None:
            self.stats.host(dest.host.host, dest.host.concurrency).bytes_sent += counts.bytes_sent
        return CopyResult(
            digest=digest, bytes_sent=counts.bytes_sent, blobs_sent=counts.sent,
            blobs_present=counts.present, manifests_put=counts.manifests,
        )  # fmt: skip
