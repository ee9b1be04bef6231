"""Getting a blob into a destination repository at most once per run.

Rancher's list mirrors many tags of one image and many images on one base, so
the same layer is needed again and again, often by copies running at the same
moment. :class:`BlobPlacer` decides, for one (destination repository, digest):

1. Per repository, single flight: two copies into the same repository that
   need the same blob share one check-and-upload.
2. Per destination registry, single flight: the first copy that needs a blob
   on that registry claims it and does ``HEAD`` (present → done) then the
   transfer; a copy into *another* repository of the same registry waits for
   that outcome and then **mounts** the blob from the repository that has it
   (``POST …/uploads/?mount=&from=``) instead of sending the bytes again. If
   the mount is refused (202), it checks and uploads on its own.
3. A transfer is :meth:`RegistryClient.copy_blob`: reads resumed with ``Range``,
   upload steps retried, a small blob verified before its ``POST`` and a large one
   sent in ``PATCH`` chunks committed only when the digest matched
   (:mod:`mirror.registry.transfer`), so a corrupted or truncated blob fails the
   line instead of being stored.

Deadlock guard: a streaming transfer holds a request slot on the source host
while it waits for slots on the destination host. If every slot of a host were
held by such transfers, and their destinations' slots likewise (docker.io →
docker.io, or two hosts mirrored both ways), nobody could proceed. So at most
``concurrency - 1`` transfers stream out of a host at a time: one slot is
always left for requests that finish on their own, such as the uploads into
that host. With a concurrency of 1 and the same host on both sides, the blob
is spooled to a temporary file and uploaded after the download has released
its slot. (A concurrency of 1 on a host that is also mirrored *into* from
another host with a concurrency of 1 is the one case left unguarded.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import anyio

from ..ref import ImageRef
from ..registry.client import RegistryClient
from ..registry.media import Descriptor
from ..flight import SingleFlight

__all__ = ["BlobOutcome", "BlobPlacer", "Placed"]

BlobOutcome = Literal["present", "sent", "mounted"]


@dataclass(frozen=True)
class Placed:
    """How a blob got into a repository, and how many bytes that cost us."""

    outcome: BlobOutcome
    bytes_sent: int = 0


class BlobPlacer:
    """Per-run memory of which blobs are where on each destination registry."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._per_repo: SingleFlight[Placed] = SingleFlight(retry_errors=True)
        self._per_registry: SingleFlight[ImageRef] = SingleFlight(retry_errors=True)
        self._source_limits: dict[str, anyio.CapacityLimiter] = {}

    async def place(self, source: ImageRef, destination: ImageRef, blob: Descriptor, *, absent: bool = False) -> Placed:
        """Make ``blob`` (read from ``source``'s repository) present in ``destination``'s repository.

        ``absent``: the repository did not exist at plan time, so unless this run put the
        blob there (remembered per repository) it is not there: no ``HEAD`` before sending.
        A mount is still tried first when another repository of the registry has it.
        """
        key = (destination.name, blob.digest)
        ran: list[bool] = []

        async def work() -> Placed:
            ran.append(True)
            return await self._place(source.bare(), destination.bare(), blob, absent)

        placed = await self._per_repo.run(key, work)
        # Only the caller that did the work reports the bytes; the others found it there.
        return placed if ran else Placed("present")

    async def _place(self, source: ImageRef, destination: ImageRef, blob: Descriptor, absent: bool) -> Placed:
        registry_key = (destination.host, blob.digest)
        mine: list[Placed] = []  # filled only when this call does the work itself

        async def claim() -> ImageRef:
            mine.append(await self._check_and_send(source, destination, blob, absent))
            return destination

        holder = await self._per_registry.run(registry_key, claim)
        if mine:
            return mine[0]
        if holder.name == destination.name:
            return Placed("present")
        if await self.client.mount_blob(destination, blob.digest, holder):
            return Placed("mounted")
        # Mount refused (another namespace, policy): check and send ourselves.
        return await self._check_and_send(source, destination, blob, absent)

    async def _check_and_send(self, source: ImageRef, destination: ImageRef, blob: Descriptor, absent: bool) -> Placed:
        if not absent and await self.client.blob_exists(destination, blob.digest):
            return Placed("present")
        sent = await self._transfer(source, destination, blob)
        return Placed("sent", sent)

    def _limit_for(self, source_host: str) -> anyio.CapacityLimiter | None:
        """At most ``concurrency - 1`` streams out of a host (None when its concurrency is 1)."""
        limiter = self._source_limits.get(source_host)
        if limiter is None:
            concurrency = self.client.registries.resolve(source_host).concurrency
            if concurrency <= 1:
                return None
            limiter = self._source_limits[source_host] = anyio.CapacityLimiter(concurrency - 1)
        return limiter

    async def _transfer(self, source: ImageRef, destination: ImageRef, blob: Descriptor) -> int:
        """Copy the blob; return its size (the client counts it in the host's ``bytes_sent``)."""
        limiter = self._limit_for(source.host)
        if limiter is None:
            return await self.client.copy_blob(source, destination, blob, spool=source.host == destination.host)
        async with limiter:
            return await self.client.copy_blob(source, destination, blob)
