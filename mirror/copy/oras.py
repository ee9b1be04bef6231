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

oras-py is synchronous (``requests``): its side lives in :mod:`.oras_side`, and every call
runs in a worker thread (``anyio.to_thread.run_sync``) while holding a slot of the host's
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from ..errors import CopyError
from ..ref import ImageRef
from ..registry.auth import repository_scope
from ..registry.credentials import CredentialStore
from ..registry.hosts import ResolvedHost
from ..registry.media import Descriptor, Manifest
from ..tempdir import private_tempdir
from ..transport import safe_url
from .base import CopyResult, Destination, SourceImage, each_destination, is_schema1
from .native import schema1_error
from .oras_side import OrasSide

if TYPE_CHECKING:
    from ..registry.client import RegistryClient

__all__ = ["OrasCopier"]

T = TypeVar("T")


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

    async def _side(self, ref: ImageRef, *actions: str) -> OrasSide:
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
        return await anyio.to_thread.run_sync(OrasSide, target, ref, scopes, basic)

    async def _header_for(self, target: ResolvedHost, scopes: tuple[str, ...]) -> str | None:
        auth = self.transport.auth
        return None if auth is None else await auth.header_for(target, scopes)

    async def _run(self, side: OrasSide, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` in a worker thread, holding a slot of the side's host (pause and rate too)."""
        header = await self._header_for(side.target, side.scopes)
        gate = self.transport.gate(side.target)
        async with gate.limiter:
            await gate.admit()
            with gate.stats.request():
                side.authorize(header)  # no thread uses the side between calls
                return await anyio.to_thread.run_sync(functools.partial(call, *args))

    async def copy(self, source: SourceImage, destinations: Sequence[Destination],
                   manifest: Manifest | None) -> list[CopyResult]:
        return await each_destination(self._copy_one, source, destinations, manifest)

    async def _copy_one(self, image: SourceImage, target: Destination, manifest: Manifest | None) -> CopyResult:
        source, destination = image.ref, target.ref
        counts = _Counts()
        sides: list[OrasSide] = []
        try:
            sides.append(reader := await self._side(source, "pull"))
            sides.append(writer := await self._side(destination, "pull", "push"))
            async with private_tempdir(prefix="image-mirror-oras-") as workdir:
                top = manifest or await self.client.get_manifest(source)
                await self._copy_manifest(reader, writer, source, destination, top, workdir, counts)
        finally:
            with anyio.CancelScope(shield=True):
                for side in sides:
                    await anyio.to_thread.run_sync(side.close)
        return CopyResult(
            digest=top.digest, bytes_sent=counts.bytes_sent, blobs_sent=counts.sent,
            blobs_present=counts.present, manifests_put=counts.manifests,
        )  # fmt: skip

    async def _copy_manifest(self, reader: OrasSide, writer: OrasSide, source: ImageRef, destination: ImageRef,
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

    async def _copy_blobs(self, reader: OrasSide, writer: OrasSide, manifest: Manifest, workdir: Path,
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
