"""Limits on streamed blobs: per-host stream settings, blob deadlines, the memory budget.

* :class:`StreamLimits` — one host's ``monolithic_max``, ``chunk_size``, ``deadline_base``
  and ``min_throughput`` (registries-file fields). A blob attempt must finish within
  ``deadline_base + size / min_throughput`` seconds: the socket read timeout restarts on
  every byte, so a server that trickles one byte a second would otherwise hold a run
  forever.
* :class:`MemoryBudget` — blob bytes held in memory (a small blob read whole to be
  verified before it is sent) across every copy of the process: at most
  :data:`MEMORY_BUDGET` (64 MiB) at a time; a copy that would exceed it waits (first come,
  first served), so many small blobs in flight cannot add up to gigabytes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from ..value import frozen

__all__ = ["KIB", "MEMORY_BUDGET", "MIB", "PROCESS_BUDGET", "SMALL_BLOB_LIMIT", "MemoryBudget", "StreamLimits"]

KIB = 1024
MIB = 1024 * KIB
MEMORY_BUDGET = 64 * MIB
#: A blob read whole into memory (a config, a referrer's manifest-sized layer) is refused above this.
SMALL_BLOB_LIMIT = 16 * MIB


@frozen
class StreamLimits:
    """How blobs are streamed to and from one host (defaults: DESIGN.md, registries file)."""

    monolithic_max: int = 8 * MIB  # up to this size: read, verify, then POST + one PUT
    chunk_size: int = 16 * MIB  # larger blobs: PATCH chunks of this size, verified as they pass
    deadline_base: float = 30.0  # seconds every blob attempt gets
    min_throughput: int = 256 * KIB  # bytes per second below which an attempt is given up

    def deadline(self, size: int) -> float:
        """Seconds one attempt at a blob of ``size`` bytes may take."""
        return self.deadline_base + max(0, size) / self.min_throughput


class _Waiter:
    __slots__ = ("event", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.event = anyio.Event()


class MemoryBudget:
    """Bytes of blobs held in memory at once; :meth:`hold` waits for room, in arrival order.

    No event-loop object is made before a wait (an :class:`anyio.Event` per waiter), so one
    budget serves the whole process, whichever loop runs.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self.peak = 0  # most bytes held at once (benchmarks and tests read it)
        self._waiters: deque[_Waiter] = deque()

    @asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        size = max(0, min(size, self.total))  # validation keeps requests within the total
        await self._acquire(size)
        try:
            yield
        finally:
            self._release(size)

    async def _acquire(self, size: int) -> None:
        if not self._waiters and self.free >= size:
            self._take(size)
            return
        waiter = _Waiter(size)
        self._waiters.append(waiter)
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.event.is_set():  # granted as we were cancelled: give it back
                self._release(size)
            else:
                self._waiters.remove(waiter)
                self._wake()
            raise

    def _take(self, size: int) -> None:
        self.free -= size
        self.peak = max(self.peak, self.total - self.free)

    def _release(self, size: int) -> None:
        self.free += size
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._waiters[0].size <= self.free:
            waiter = self._waiters.popleft()
            self._take(waiter.size)
            waiter.event.set()


#: The one budget of the process (every transport uses it unless a test passes its own).
PROCESS_BUDGET = MemoryBudget(MEMORY_BUDGET)
