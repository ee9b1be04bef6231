"""The ``oras`` copier: OCI artifacts (Helm charts, signatures, SBOMs) with oras-py's public API.

The work is split where each side is strongest:

* **Manifests** go through mirror's registry client (the one transport):
  oras-py's ``get_manifest`` returns parsed JSON and ``upload_manifest``
  validates an image-manifest schema (an index fails it) and re-serialises the
  document, which changes its digest. Our client reads and writes the bytes
  exactly as served.
* **Blobs** go through oras-py: ``Registry.blob_exists``, ``get_blob``
  (streamed, its sha256 checked on the way) and ``put_upload``.
* **Auth** is decided by mirror's authenticator, through the transport: the
  registry's challenge is learnt once per run (``GET /v2/``), and before every
  oras call the current header is handed over through oras' public setters —
  a Bearer token (with the same scopes, and the same cache, as the native
  copier) via ``auth.set_token_auth``, Basic credentials via
  ``auth.set_basic_auth`` plus ``set_header``. oras' ``login`` (which writes
  ``~/.docker/config.json``) and its docker-config reading are never used.

oras-py is synchronous (``requests``): every call runs in a worker thread
(``anyio.to_thread.run_sync``) while holding a slot of the host's
:class:`~mirror.transport.HostGate` — the registries file's ``concurrency``
and ``rate`` apply to oras' requests as to ours.

Limits of oras-py's public API, accepted rather than patched (README, Copiers):
its ``do_request`` retries any exception (connection errors, HTTP 500) five
times with sleeps growing to 83 s, and ``put_upload`` reads a blob into memory.
Reachability, auth and manifests are checked through the transport first, so
only a failure in the middle of a blob meets oras' own retries.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from ..errors import CopyError
from ..ref import ImageRef
from ..registry.auth import repository_scope
from ..registry.credentials import Credential, CredentialStore
from ..registry.hosts import ResolvedHost
from ..registry.media import Descriptor, Manifest
from ..tempdir import private_tempdir
from ..text import excerpt
from ..transport import Failure, safe_url
from ..transport.status import status_error
from .base import CopyResult, PlanItem, is_schema1
from .native import schema1_error

if TYPE_CHECKING:
    from ..registry.client import RegistryClient

__all__ = ["OrasCopier"]

CHUNK = 1024 * 1024
ERROR_BODY_LIMIT = 64 * 1024
UPLOADED = (200, 201, 202)
_URL = re.compile(r"https?://\S+")
T = TypeVar("T")


@contextmanager
def _oras_failures(what: str, netloc: str) -> Iterator[None]:
    """oras-py's exceptions as a :class:`CopyError` with the reason (no status: oras keeps it)."""
    import requests

    try:
        yield
    except ValueError as exc:  # oras' "Issue retrieving session url: …", "Cannot respond to … authentication"
        text = _URL.sub(lambda m: safe_url(m.group()), str(exc))  # upload URLs carry state in their query
        raise CopyError(f"{what}: {netloc} refused it (oras-py: {excerpt(text)})") from None
    except requests.RequestException as exc:  # after oras' own retries; the text would hold the URL
        raise CopyError(f"{what}: cannot reach {netloc} ({type(exc).__name__})") from None


class _Side:
    """One side of one copy as oras-py reaches it; used by one worker thread at a time."""

    def __init__(self, target: ResolvedHost, ref: ImageRef, scopes: tuple[str, ...], basic: Credential | None) -> None:
        import oras.provider  # imported lazily: only runs of --copier oras pay for it

        self.target = target
        self.display = ref.name
        self.scopes = scopes
        self.registry = oras.provider.Registry(
            hostname=target.netloc, insecure=target.plain_http, tls_verify=target.ca_file or target.tls_verify,
            auth_backend="basic" if basic else "token",
        )  # fmt: skip
        if basic:
            # the backend answers 401s; the header spares a blob PUT sent twice (once refused)
            self.registry.auth.set_basic_auth(basic.username, basic.password or basic.identity_token)
            self.registry.set_header("Authorization", basic.basic_header)
        self.container = self.registry.get_container(f"{target.netloc}/{target.remote_name(ref.repository)}")

    def authorize(self, header: str | None) -> None:
        """Hand oras the Bearer token mirror's authenticator holds now (fresh, right scopes)."""
        if header and header.startswith("Bearer "):
            self.registry.auth.set_token_auth(header.removeprefix("Bearer "))

    def close(self) -> None:
        self.registry.session.close()

    def _fail(self, response: Any, what: str) -> Exception:
        body = b"".join(itertools.islice(response.iter_content(chunk_size=8192), ERROR_BODY_LIMIT // 8192))
        response.close()
        return status_error(Failure(response.status_code, body, what, self.target.netloc))

    def exists(self, blob: Descriptor) -> bool:
        with _oras_failures(f"blob {blob.digest} in {self.display}", self.target.netloc):
            return bool(self.registry.blob_exists({"digest": blob.digest}, self.container))

    def download(self, blob: Descriptor, path: Path) -> int:
        """Stream a blob into ``path``, checking its sha256 on the way; return its size."""
        what = f"blob {blob.digest} from {self.display}"
        with _oras_failures(what, self.target.netloc):
            response = self.registry.get_blob(self.container, blob.digest, stream=True)
            if response.status_code != 200:
                raise self._fail(response, what)
            hasher = hashlib.sha256()
            size = 0
            with response, open(path, "wb") as handle:
                for chunk in response.iter_content(chunk_size=CHUNK):
                    hasher.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
        actual = f"sha256:{hasher.hexdigest()}"
        if actual != blob.digest:
            raise CopyError(f"{what}: digest mismatch {blob.digest} (the bytes hash to {actual})")
        return size

    def upload(self, blob: Descriptor, path: Path, size: int) -> None:
        what = f"blob {blob.digest} upload to {self.display}"
        layer = {"digest": blob.digest, "size": size, "mediaType": blob.media_type}
        try:
            with _oras_failures(what, self.target.netloc):
                response = self.registry.put_upload(str(path), self.container, layer)
                if response.status_code not in UPLOADED:
                    raise self._fail(response, what)
        finally:
            path.unlink(missing_ok=True)  # the copy's directory holds one blob at a time


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


@dataclass
class _Counts:
    bytes_sent: int = 0
    sent: int = 0
    present: int = 0
    manifests: int = 0


class OrasCopier:
    """Copies OCI artifacts: blobs with oras-py in worker threads, manifests byte-exact with ``client``."""

    name = "oras"

    def __init__(self, client: RegistryClient, credentials: CredentialStore) -> None:
        self.client = client
        self.transport = client.transport
        self.credentials = credentials
        self._challenged: set[str] = set()  # netlocs whose auth challenge the authenticator knows
        self._locks: dict[str, anyio.Lock] = {}

    async def _learn_challenge(self, target: ResolvedHost) -> None:
        """One ``GET /v2/`` per host and run through the transport: its authenticator answers the
        challenge (or says clearly why it cannot) before oras sends anything."""
        lock = self._locks.setdefault(target.netloc, anyio.Lock())
        async with lock:
            if target.netloc not in self._challenged:
                await self.transport.request(target, "GET", target.url("/v2/"), what=f"registry {target.netloc}",
                                             check=False)
                self._challenged.add(target.netloc)

    async def _side(self, ref: ImageRef, *actions: str) -> _Side:
        target = await self.client.endpoint(ref.host)
        if target.path_prefix:
            raise CopyError(f"{ref}: --copier oras cannot reach an endpoint with a path ({safe_url(target.base_url)});"
                            " use --copier native")
        await self._learn_challenge(target)
        scopes = (repository_scope(target.remote_name(ref.repository), *actions),)
        header = await self._header_for(target, scopes)
        basic = None
        if header and header.startswith("Basic "):
            basic = await self.credentials.get(target.credential_host)
        return await anyio.to_thread.run_sync(_Side, target, ref, scopes, basic)

    async def _header_for(self, target: ResolvedHost, scopes: tuple[str, ...]) -> str | None:
        auth = self.transport.auth
        return None if auth is None else await auth.header_for(target, scopes)

    async def _run(self, side: _Side, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` in a worker thread, holding a slot of the side's host (pause and rate too)."""
        header = await self._header_for(side.target, side.scopes)
        gate = self.transport.gate(side.target)
        async with gate.limiter:
            await gate.admit()
            with gate.stats.request():
                side.authorize(header)  # no thread uses the side between calls
                return await anyio.to_thread.run_sync(functools.partial(call, *args))

    async def copy(self, source: ImageRef, destination: ImageRef, item: PlanItem) -> CopyResult:
        counts = _Counts()
        sides: list[_Side] = []
        try:
            sides.append(reader := await self._side(source, "pull"))
            sides.append(writer := await self._side(destination, "pull", "push"))
            async with private_tempdir(prefix="image-mirror-oras-") as workdir:
                top = item.manifest or await self.client.get_manifest(source)
                await self._copy_manifest(reader, writer, source, destination, top, workdir, counts)
        finally:
            with anyio.CancelScope(shield=True):
                for side in sides:
                    await anyio.to_thread.run_sync(side.close)
        return CopyResult(
            digest=top.digest, bytes_sent=counts.bytes_sent, blobs_sent=counts.sent,
            blobs_present=counts.present, manifests_put=counts.manifests,
        )  # fmt: skip

    async def _copy_manifest(self, reader: _Side, writer: _Side, source: ImageRef, destination: ImageRef,
                             manifest: Manifest, workdir: Path, counts: _Counts) -> None:
        """Children (or blobs) first, then ``manifest`` itself under ``destination``, byte for byte."""
        if is_schema1(manifest.media_type, manifest.data):
            raise schema1_error(source)
        if manifest.is_index:
            for child in manifest.children():
                child_source = source.bare().with_digest(child.digest)
                child_manifest = await self.client.get_manifest(child_source)
                await self._copy_manifest(reader, writer, child_source, destination.bare().with_digest(child.digest),
                                          child_manifest, workdir, counts)
        else:
            await self._copy_blobs(reader, writer, manifest, workdir, counts)
        await self.client.put_manifest(destination, manifest.data, manifest.media_type)
        counts.manifests += 1

    async def _copy_blobs(self, reader: _Side, writer: _Side, manifest: Manifest, workdir: Path,
                          counts: _Counts) -> None:
        stats = self.transport.gate(writer.target).stats
        for blob in _blobs_of(manifest):
            if await self._run(writer, writer.exists, blob):
                counts.present += 1
                continue
            path = workdir / blob.digest.replace(":", "-")
            size = await self._run(reader, reader.download, blob, path)
            await self._run(writer, writer.upload, blob, path, size)
            counts.sent += 1
            counts.bytes_sent += size
            stats.bytes_sent += size
