"""One blob into one repository, committed only when its bytes were verified.

* **Monolithic** (the caller has the blob in memory, verified): ``POST …/uploads/``, then
  ``PUT <Location>&digest=`` with the bytes. Both are retried by the transport (the bytes
  can be sent again). A ``413`` (a proxy's body limit) sends the same bytes in chunks.
* **Chunked**: ``PATCH`` chunks of ``chunk_size`` with ``Content-Range``, each streamed
  from the source and hashed as it passes, then the closing ``PUT ?digest=`` with no body —
  only when the digest matched. Otherwise, and whenever the upload is abandoned (an error,
  a deadline, the run's timeout), the session is cancelled with ``DELETE``.

A ``PATCH`` that fails on a transient error (a 503, a connection lost mid-body) is sent
again: the registry is asked how much it holds (``GET <Location>`` → ``Range: 0-N``) and
the chunk resumes from there, re-reading the source from the chunk's start (a streamed
chunk's bytes are gone once sent) with the digest state as it was there.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import anyio

from ..errors import AuthError, MirrorError, NotFound, ProtocolError, RegistryError
from ..transport import Reply, Transport
from ..transport.status import retryable
from .auth import repository_scope
from .download import READ_SIZE, BufferSource, ByteSource, Hasher
from .hosts import ResolvedHost

__all__ = ["BlobUpload", "location_of", "with_query"]

log = logging.getLogger("mirror.registry.upload")

#: A 503 to ``POST …/uploads/`` means no upload session was made, to a PATCH that the
#: chunk was not taken (the registry is asked before it is sent again): safe to resend.
NOT_PROCESSED = (503,)
CANCEL_SECONDS = 10.0  # the longest an abandoned session's DELETE may take
OCTETS = {"Content-Type": "application/octet-stream"}


def location_of(value: str | None, request_url: str, what: str) -> str:
    """The upload URL: ``Location`` may be relative or absolute and may carry a query."""
    if not value:
        raise ProtocolError(f"{what}: upload step answered without a Location")
    return urljoin(request_url, value)


def with_query(url: str, name: str, value: str) -> str:
    separator = "&" if urlsplit(url).query else ("" if url.endswith("?") else "?")
    return f"{url}{separator}{name}={quote(value, safe=':')}"


def transient(exc: MirrorError) -> bool:
    """An upload step's error that another try may not meet (no reply, 5xx, 429)."""
    if not isinstance(exc, RegistryError) or isinstance(exc, (AuthError, NotFound, ProtocolError)):
        return False
    return exc.status is None or retryable(exc.status)


@dataclass
class BlobUpload:
    """Uploads ``digest`` (``size`` bytes) into repository ``name`` on ``target``."""

    transport: Transport
    target: ResolvedHost
    name: str
    display: str
    digest: str
    size: int

    @property
    def what(self) -> str:
        return f"blob {self.digest} upload to {self.display}"

    @property
    def _scopes(self) -> list[str]:
        return [repository_scope(self.name, "pull", "push")]

    async def _request(self, method: str, url: str, **options: object) -> Reply:
        return await self.transport.request(self.target, method, url, what=self.what, scopes=self._scopes,
                                            **options)  # type: ignore[arg-type]

    async def monolithic(self, data: bytes | bytearray) -> None:
        """POST + one PUT of bytes already verified; chunks instead after a 413."""
        location = await self._start()
        reply = await self._request("PUT", with_query(location, "digest", self.digest), headers=OCTETS, body=data,
                                    ok=(201, 204, 413), timeout=self.target.streams.deadline(len(data)))
        if reply.status == 413:
            log.debug("%s: 413 on the monolithic PUT, sending %d bytes in chunks", self.what, self.size)
            await self._chunks(location, BufferSource(data))
            return
        self._check_stored(reply)

    async def chunked(self, source: ByteSource) -> None:
        """PATCH chunks streamed from ``source``, hashed as they pass; commit only on a match."""
        await self._chunks(await self._start(), source)

    async def _start(self) -> str:
        url = self.target.url(f"/v2/{self.name}/blobs/uploads/")
        reply = await self._request("POST", url, ok=(202,), unprocessed=NOT_PROCESSED)
        return location_of(reply.headers.get("Location"), url, self.what)

    async def _chunks(self, location: str, source: ByteSource) -> None:
        hasher = Hasher(self.digest)
        chunk_size = self.target.streams.chunk_size
        offset = 0
        try:
            while offset < self.size:
                end = min(self.size, offset + chunk_size)
                location, hasher = await self._chunk(location, source, hasher, offset, end)
                offset = end
            hasher.check(self.what)
        except BaseException:
            await self._cancel(location)
            raise
        await self._commit(location)

    async def _chunk(self, location: str, source: ByteSource, at_offset: Hasher, offset: int,
                     end: int) -> tuple[str, Hasher]:
        """Bytes ``offset..end-1`` into the session; the hasher after them and the next Location."""
        start, attempt, started = offset, 1, self.transport.clock()
        while True:
            hasher = at_offset.copy()
            await source.seek(offset)
            await _feed(source, hasher, start - offset)  # what the registry already holds
            if start == end:
                return location, hasher
            failure: list[BaseException] = []
            headers = {**OCTETS, "Content-Range": f"{start}-{end - 1}", "Content-Length": str(end - start)}
            try:
                reply = await self._request("PATCH", location, headers=headers, ok=(202,), unprocessed=NOT_PROCESSED,
                                            body=_body(source, hasher, end - start, failure),
                                            timeout=self.target.streams.deadline(end - start))
                return location_of(reply.headers.get("Location"), location, self.what), hasher
            except MirrorError as exc:
                if failure:  # the source broke (aiohttp reports it as the upload's connection error)
                    raise failure[0] from None
                retry = self.transport.retry
                delay = retry.backoff(attempt, None, self.transport.rng)
                if not transient(exc) or not retry.allows(attempt, started, self.transport.clock(), delay):
                    raise
                log.debug("%s: PATCH %d-%d failed (%s); retry %d", self.what, start, end - 1, exc, attempt)
                self.transport.gate(self.target).stats.retries += 1
                await self.transport.sleep(delay)
                attempt += 1
                start, location = await self._held(location, offset, end)

    async def _held(self, location: str, offset: int, end: int) -> tuple[int, str]:
        """How many bytes the session holds (``GET <Location>``: 204, ``Range: 0-N``)."""
        reply = await self._request("GET", location, ok=(204,))
        value = reply.headers.get("Range", "")
        _, _, last = value.partition("-")
        held = int(last) + 1 if last.isdigit() else 0
        if not offset <= held <= end:
            raise ProtocolError(f"{self.what}: the registry holds {held} bytes, expected {offset} to {end}")
        return held, location_of(reply.headers.get("Location") or location, location, self.what)

    async def _commit(self, location: str) -> None:
        try:
            reply = await self._request("PUT", with_query(location, "digest", self.digest), ok=(201, 204))
        except MirrorError as exc:
            # The commit may have landed before its answer was lost: the blob is there or not.
            if transient(exc) and await self._present():
                return
            raise
        self._check_stored(reply)

    async def _present(self) -> bool:
        url = self.target.url(f"/v2/{self.name}/blobs/{self.digest}")
        with suppress(MirrorError):
            return (await self._request("HEAD", url, ok=(200, 404))).status == 200
        return False

    async def _cancel(self, location: str) -> None:
        """``DELETE`` the session, even while being cancelled (bounded, best effort)."""
        with anyio.move_on_after(CANCEL_SECONDS, shield=True), suppress(MirrorError):
            await self._request("DELETE", location, ok=(204,), check=False)

    def _check_stored(self, reply: Reply) -> None:
        stored = reply.headers.get("Docker-Content-Digest")
        if stored and stored.split(":", 1)[0] == self.digest.split(":", 1)[0] and stored != self.digest:
            raise ProtocolError(f"{self.what}: registry stored {stored}")


async def _pieces(source: ByteSource, hasher: Hasher, count: int) -> AsyncIterator[bytes]:
    """The next ``count`` bytes of ``source``, hashed as they pass."""
    while count > 0:
        data = await source.read(min(count, READ_SIZE))
        if not data:
            raise ProtocolError(f"the source ended {count} bytes early")
        hasher.update(data)
        count -= len(data)
        yield data


async def _feed(source: ByteSource, hasher: Hasher, count: int) -> None:
    """Hash the next ``count`` bytes without sending them (what the registry already holds)."""
    async for _ in _pieces(source, hasher, count):
        pass


async def _body(source: ByteSource, hasher: Hasher, count: int, failure: list[BaseException]) -> AsyncIterator[bytes]:
    """A PATCH body; a failure of the source is kept for the caller to name."""
    try:
        async for data in _pieces(source, hasher, count):
            yield data
    except Exception as exc:
        failure.append(exc)
        raise
