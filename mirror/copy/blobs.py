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

Several destinations (``--target``, a config.yaml's repositories): :meth:`BlobPlacer.place`
takes them all at once. Each destination decides on its own (present, mounted, or it needs
the bytes); the one source GET waits until every destination has decided and then streams to
all that need it (:func:`~mirror.registry.transfer.fan_out_blob`), so a source blob is read
once per run whatever the number of targets. A destination that decides late (a refused
mount after the shared transfer already ran) reads the source on its own.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from typing import Literal

import anyio

from ..ref import ImageRef
from ..registry.client import RegistryClient
from ..registry.media import Descriptor
from ..flight import SingleFlight, settle
from ..value import frozen

__all__ = ["BlobOutcome", "BlobPlacer", "Placed"]

BlobOutcome = Literal["present", "sent", "mounted"]


@frozen
class Placed:
    """How a blob got into a repository, and how many bytes that cost us."""

    outcome: BlobOutcome
    bytes_sent: int = 0


class _Fanout:
    """One source read of a blob for the destinations of one copy that need its bytes.

    Every destination gets a :class:`_Ticket` and settles it exactly once: ``decline`` (it has
    the blob, mounts it, or waits for another copy) or ``send``. The first sender waits until
    every ticket is settled, then runs one transfer to every sender.
    """

    def __init__(self, placer: BlobPlacer, source: ImageRef, blob: Descriptor, expected: int) -> None:
        self.placer, self.source, self.blob = placer, source, blob
        self.unsettled = expected
        self.senders: list[ImageRef] = []
        self.settled = anyio.Event()
        self.done = anyio.Event()
        self.outcomes: dict[str, int | Exception] = {}

    def settle_one(self) -> None:
        self.unsettled -= 1
        if self.unsettled <= 0:
            self.settled.set()

    async def send(self, destination: ImageRef) -> int:
        self.senders.append(destination)
        self.settle_one()
        if len(self.senders) == 1:
            try:
                await self.settled.wait()
                outcomes = await self.placer.transfer(self.source, self.senders, self.blob)
                self.outcomes = {d.name: o for d, o in zip(self.senders, outcomes)}
            finally:
                self.done.set()
        else:
            await self.done.wait()
        if destination.name not in self.outcomes:  # the shared transfer never ran (cancelled)
            return await self.placer.transfer_one(self.source, destination, self.blob)
        outcome = self.outcomes[destination.name]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class _Ticket:
    """One destination's part in a :class:`_Fanout`; settling twice is a no-op."""

    def __init__(self, fanout: _Fanout) -> None:
        self._fanout = fanout
        self._settled = False

    def decline(self) -> None:
        if not self._settled:
            self._settled = True
            self._fanout.settle_one()

    async def send(self, destination: ImageRef) -> int:
        """Get the bytes here; return the blob's size."""
        if self._settled:  # decided late: the shared read may be over, read on our own
            return await self._fanout.placer.transfer_one(self._fanout.source, destination, self._fanout.blob)
        self._settled = True
        return await self._fanout.send(destination)


class BlobPlacer:
    """Per-run memory of which blobs are where on each destination registry."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._per_repo: SingleFlight[Placed] = SingleFlight(retry_errors=True)
        self._per_registry: SingleFlight[ImageRef] = SingleFlight(retry_errors=True)
        self._source_limits: dict[str, anyio.CapacityLimiter] = {}

    async def place(self, source: ImageRef, destinations: Sequence[tuple[ImageRef, bool]],
                    blob: Descriptor) -> list[Placed | Exception]:
        """Make ``blob`` (read from ``source``'s repository) present in every destination's
        repository; per destination how, or the error that failed it.

        A destination is ``(repository, absent)``: ``absent`` means the repository did not
        exist at plan time, so unless this run put the blob there (remembered per
        repository) it is not there: no ``HEAD`` before sending. A mount is still tried
        first when another repository of the registry has it.
        """
        fanout = _Fanout(self, source.bare(), blob, len(destinations))
        return await settle([functools.partial(self._place_in, fanout, ref.bare(), absent)
                             for ref, absent in destinations])

    async def _place_in(self, fanout: _Fanout, destination: ImageRef, absent: bool) -> Placed:
        ticket = _Ticket(fanout)
        try:
            key = (destination.name, fanout.blob.digest)
            if self._per_repo.in_flight(key) or self._per_repo.known(key):
                ticket.decline()  # another copy is placing it here: wait for that
            ran: list[bool] = []

            async def work() -> Placed:
                ran.append(True)
                return await self._place(fanout.source, destination, fanout.blob, absent, ticket)

            placed = await self._per_repo.run(key, work)
            # Only the caller that did the work reports the bytes; the others found it there.
            return placed if ran else Placed("present")
        finally:
            ticket.decline()  # a failure before deciding must not hold the others' read

    async def _place(self, source: ImageRef, destination: ImageRef, blob: Descriptor, absent: bool,
                     ticket: _Ticket) -> Placed:
        registry_key = (destination.host, blob.digest)
        mine: list[Placed] = []  # filled only when this call does the work itself
        if self._per_registry.in_flight(registry_key) or self._per_registry.known(registry_key):
            ticket.decline()  # another repository of the registry gets it first: mount from there

        async def claim() -> ImageRef:
            mine.append(await self._check_and_send(source, destination, blob, absent, ticket))
            return destination

        holder = await self._per_registry.run(registry_key, claim)
        if mine:
            return mine[0]
        if holder.name == destination.name:
            return Placed("present")
        if await self.client.mount_blob(destination, blob.digest, holder):
            return Placed("mounted")
        # Mount refused (another namespace, policy): check and send ourselves.
        return await self._check_and_send(source, destination, blob, absent, ticket)

    async def _check_and_send(self, source: ImageRef, destination: ImageRef, blob: Descriptor, absent: bool,
                              ticket: _Ticket) -> Placed:
        if not absent and await self.client.blob_exists(destination, blob.digest):
            ticket.decline()
            return Placed("present")
        return Placed("sent", await ticket.send(destination))

    def _limit_for(self, source_host: str) -> anyio.CapacityLimiter | None:
        """At most ``concurrency - 1`` streams out of a host (None when its concurrency is 1)."""
        limiter = self._source_limits.get(source_host)
        if limiter is None:
            concurrency = self.client.registries.resolve(source_host).concurrency
            if concurrency <= 1:
                return None
            limiter = self._source_limits[source_host] = anyio.CapacityLimiter(concurrency - 1)
        return limiter

    async def transfer(self, source: ImageRef, destinations: Sequence[ImageRef], blob: Descriptor) -> list[int | Exception]:
        """One read of the blob, to every destination; per destination its size or error."""
        if len(destinations) == 1:
            try:
                return [await self.transfer_one(source, destinations[0], blob)]
            except Exception as exc:  # this destination's failure
                return [exc]
        limiter = self._limit_for(source.host)
        async with limiter if limiter is not None else contextlib.nullcontext():
            return await self.client.fan_out_blob(source, destinations, blob)

    async def transfer_one(self, source: ImageRef, destination: ImageRef, blob: Descriptor) -> int:
        """Copy the blob to one destination; return its size (the client counts it in the
        host's ``bytes_sent``)."""
        limiter = self._limit_for(source.host)
        if limiter is None:
            return await self.client.copy_blob(source, destination, blob, spool=source.host == destination.host)
        async with limiter:
            return await self.client.copy_blob(source, destination, blob)
