"""Blob operations of one repository: exists, stream, read, upload, mount.

Digests are checked wherever we hold the bytes: before an upload of ``bytes``,
after the last chunk of a download. A streamed upload is sent once (a consumed
stream cannot be replayed) and the registry checks its digest. Copies between
registries go through :func:`~.transfer.copy_blob` (resumed reads, chunked
uploads, nothing committed unverified) on :meth:`BlobStore.remote` sources.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin

import aiohttp

from ..errors import ProtocolError, RegistryError
from ..transport import Transport
from ..transport.limits import SMALL_BLOB_LIMIT
from ..value import frozen
from .auth import repository_scope
from .download import RemoteBlob
from .hosts import ResolvedHost
from .media import compute_digest, digest_algorithm
from .upload import NOT_PROCESSED, BlobUpload, location_of, with_query

__all__ = ["CHUNK_SIZE", "BlobReader", "BlobStore"]

CHUNK_SIZE = 1024 * 1024


@dataclass
class BlobReader:
    """A blob being downloaded: iterate it for chunks; the digest is checked at the end.

    A mismatch raises :class:`ProtocolError` after the last chunk, so a
    consumer that writes chunks elsewhere must drop its copy when iteration
    raises. A connection lost mid-stream is a :class:`RegistryError` (a stream
    is not retried here; the caller may start the blob again).
    """

    response: aiohttp.ClientResponse = field(repr=False)
    digest: str
    what: str

    @property
    def size(self) -> int | None:
        return self.response.content_length

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.chunks()

    async def chunks(self, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        algorithm = digest_algorithm(self.digest)
        if algorithm not in ("sha256", "sha512"):
            raise ProtocolError(f"{self.what}: unsupported digest algorithm {algorithm!r}")
        hasher = hashlib.new(algorithm)
        try:
            async for chunk in self.response.content.iter_chunked(chunk_size):
                hasher.update(chunk)
                yield chunk
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
            raise RegistryError(f"{self.what}: connection lost while reading ({type(exc).__name__})") from None
        actual = f"{algorithm}:{hasher.hexdigest()}"
        if actual != self.digest:
            raise ProtocolError(f"{self.what}: content has digest {actual}, expected {self.digest}")


@frozen
class BlobStore:
    """The blobs of one repository on one resolved host (``name`` is the remote name)."""

    transport: Transport
    target: ResolvedHost
    name: str
    display: str  # the repository as the user wrote it, for messages

    def _url(self, digest: str) -> str:
        return self.target.url(f"/v2/{self.name}/blobs/{digest}")

    def _what(self, digest: str) -> str:
        return f"blob {digest} in {self.display}"

    async def exists(self, digest: str) -> bool:
        reply = await self.transport.request(
            self.target, "HEAD", self._url(digest), what=self._what(digest),
            scopes=[repository_scope(self.name, "pull")], ok=(200, 404),
        )  # fmt: skip
        return reply.status == 200

    async def length(self, digest: str) -> int:
        """The blob's size from a HEAD (for a descriptor that did not say)."""
        reply = await self.transport.request(
            self.target, "HEAD", self._url(digest), what=self._what(digest),
            scopes=[repository_scope(self.name, "pull")],
        )  # fmt: skip
        length = reply.headers.get("Content-Length", "")
        if not length.isdigit():
            raise ProtocolError(f"{self._what(digest)}: no size in the descriptor or the HEAD answer")
        return int(length)

    @asynccontextmanager
    async def stream(self, digest: str) -> AsyncIterator[BlobReader]:
        async with self.transport.stream(
            self.target, "GET", self._url(digest), what=self._what(digest),
            scopes=[repository_scope(self.name, "pull")],
        ) as response:  # fmt: skip
            yield BlobReader(response, digest, self._what(digest))

    def remote(self, digest: str, size: int) -> RemoteBlob:
        """The blob as a resumable source (``async with store.remote(d, n) as source``)."""
        return RemoteBlob(self.transport, self.target, self._url(digest), size=size, what=self._what(digest),
                          scopes=[repository_scope(self.name, "pull")])

    async def read(self, digest: str, *, limit: int = SMALL_BLOB_LIMIT) -> bytes:
        reply = await self.transport.request(
            self.target, "GET", self._url(digest), what=self._what(digest),
            scopes=[repository_scope(self.name, "pull")], limit=limit,
        )  # fmt: skip
        actual = compute_digest(reply.body, digest_algorithm(digest))
        if actual != digest:
            raise ProtocolError(f"{self._what(digest)}: content has digest {actual}")
        return reply.body

    async def upload(self, digest: str, data: bytes | AsyncIterable[bytes], size: int | None) -> None:
        what = f"blob {digest} upload to {self.display}"
        scopes = [repository_scope(self.name, "pull", "push")]
        if isinstance(data, bytes):
            actual = compute_digest(data, digest_algorithm(digest))
            if actual != digest:
                raise ProtocolError(f"{what}: the data has digest {actual}")
            await BlobUpload(self.transport, self.target, self.name, self.display, digest, len(data)).monolithic(data)
            return
        post_url = self.target.url(f"/v2/{self.name}/blobs/uploads/")
        started = await self.transport.request(self.target, "POST", post_url, what=what, scopes=scopes, ok=(202,),
                                              unprocessed=NOT_PROCESSED)
        location = location_of(started.headers.get("Location"), post_url, what)
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["Content-Length"] = str(size)
        reply = await self.transport.request(
            self.target, "PUT", with_query(location, "digest", digest),
            what=what, scopes=scopes, headers=headers, body=data, ok=(201, 204),
        )  # fmt: skip
        stored = reply.headers.get("Docker-Content-Digest")
        if stored and digest_algorithm(stored) == digest_algorithm(digest) and stored != digest:
            raise ProtocolError(f"{what}: registry stored {stored}")

    async def mount(self, digest: str, source: str, source_display: str) -> bool:
        """Mount ``digest`` from the remote repository ``source`` on the same host."""
        what = f"blob {digest} mount from {source_display} to {self.display}"
        query = f"mount={quote(digest, safe=':')}&from={quote(source, safe='/')}"
        post_url = self.target.url(f"/v2/{self.name}/blobs/uploads/?{query}")
        scopes = [repository_scope(self.name, "pull", "push"), repository_scope(source, "pull")]
        reply = await self.transport.request(self.target, "POST", post_url, what=what, scopes=scopes, ok=(201, 202),
                                            unprocessed=NOT_PROCESSED)
        if reply.status == 201:
            return True
        location = reply.headers.get("Location")
        if location:
            with suppress(RegistryError):  # an abandoned upload session expires on its own
                await self.transport.request(
                    self.target, "DELETE", urljoin(post_url, location), what=what, scopes=scopes, check=False
                )
        return False
