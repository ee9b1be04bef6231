"""Per-host politeness and bounded retries: the transport's gate for every host.

* :class:`HostGate` — one per host: a ``CapacityLimiter`` for requests in
  flight, a requests-per-second ceiling, and a host-wide pause: when one
  request learns ``Retry-After``, every request to that host waits, not just
  the one that was told.
* :class:`RetryPolicy` — explicit about what is retried (the caller decides per
  response), bounded by attempts *and* total time, exponential backoff with
  full jitter, and a server-given delay wins over the computed one.

Time is injected (``clock`` and ``sleep``) so tests assert the recorded waits
instead of sleeping.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from ..events import HostStats
from ..value import frozen

__all__ = [
    "Clock",
    "HostGate",
    "RetryPolicy",
    "Sleep",
    "parse_retry_after",
]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass
class HostGate:
    """Limits for one host: concurrency, a rate ceiling and a shared pause."""

    stats: HostStats
    concurrency: int = 8
    rate: float | None = None  # requests per second, None = unlimited
    clock: Clock = time.monotonic
    sleep: Sleep = anyio.sleep
    limiter: anyio.CapacityLimiter = field(init=False)
    _paused_until: float = field(init=False, default=0.0)
    _next_slot: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.limiter = anyio.CapacityLimiter(max(1, self.concurrency))

    def pause(self, seconds: float) -> None:
        """Hold every request to this host for ``seconds`` (from Retry-After)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def paused_for(self) -> float:
        """Seconds left of the host-wide pause (0 when none)."""
        return max(0.0, self._paused_until - self.clock())

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.waits += 1
            self.stats.wait_seconds += seconds
            await self.sleep(seconds)

    async def admit(self) -> None:
        """Wait for the host-wide pause and the rate ceiling (call inside the limiter)."""
        await self._wait(self._paused_until - self.clock())
        if self.rate:
            now = self.clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.rate
            await self._wait(slot - now)


@frozen
class RetryPolicy:
    """Bounded exponential backoff with full jitter; a server's delay wins."""

    attempts: int = 4
    total_seconds: float = 120.0
    base: float = 0.5
    cap: float = 30.0
    jitter: bool = True
    max_server_wait: float = 60.0

    def backoff(self, attempt: int, server_delay: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if server_delay is not None:
            return min(server_delay, self.max_server_wait)
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        if not self.jitter:
            return ceiling
        return (rng or random).uniform(0, ceiling)

    def allows(self, attempt: int, started: float, now: float, delay: float) -> bool:
        """Whether retry number ``attempt`` after ``delay`` seconds stays within both bounds."""
        return attempt < self.attempts and (now - started + delay) <= self.total_seconds
