"""A registry's pull quota (Docker Hub's): never spend it below the host's ``pull_floor``.

Docker documents it: manifest GET and HEAD answers carry ``ratelimit-limit: 100;w=21600``
and ``ratelimit-remaining: 37;w=21600`` (the window in seconds, no reset time; no headers:
no limit). A manifest GET is a pull, a HEAD is free; past the limit the registry answers
429 ``TOOMANYREQUESTS``. So a run that burns the quota gets 429s for lines that needed no
pull at all, and leaves none for the next run.

One :class:`PullQuota` per host, in the transport:

* every reply of the host is noted (:meth:`PullQuota.note`): the remaining count is the
  latest reply's, or the minimum of it and the replies to requests that were in flight
  together with it (the registry may have answered those in either order); a reply whose
  request was sent after another's reply came is newer, whatever it says (a new window);
* :meth:`PullQuota.admit` lets a pull go while ``remaining − pulls in flight`` is at least
  the floor, and reserves it; otherwise it waits **outside** the host's slots (it runs
  before the transport takes one, so HEADs of lines that need no pull go on). One waiter
  per host sleeps at most :data:`REREAD_SECONDS`, then re-reads the quota with a HEAD
  (free); the others wait for its news. After ``--max-wait`` seconds below the floor every
  pull to the host fails at once with :class:`~mirror.errors.RateLimited` naming the quota;
  a later reply at or above the floor opens the host again;
* a 429 that says ``ratelimit-remaining: 0`` fails that pull at once (:meth:`refused`).

``pull_floor: 0`` turns the waiting off (the registries file's default for every host but
``docker.io``); the counting and the 429 rule stay. Time is injected (``clock``, ``sleep``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import anyio

from ..errors import MirrorError, RateLimited
from ..events import EventSink, HostStats, NullSink, PullQuotaWait
from .gate import Clock, Sleep

__all__ = ["REREAD_SECONDS", "Admission", "PullQuota", "parse_ratelimit"]

#: The longest a waiting pull sleeps before the quota is read again with a HEAD.
REREAD_SECONDS = 15.0

Reread = Callable[[], Awaitable[object]]


def parse_ratelimit(value: str | None) -> tuple[int, int | None] | None:
    """``"37;w=21600"`` → ``(37, 21600)``; ``None`` for an absent or unreadable header."""
    if value is None:
        return None
    count, *params = (part.strip() for part in value.split(";"))
    if not count.isdigit():
        return None
    window = None
    for param in params:
        name, _, number = param.partition("=")
        if name.strip().lower() == "w" and number.strip().isdigit():
            window = int(number.strip())
    return int(count), window


@dataclass
class Admission:
    """One admitted pull, counted in flight until :meth:`settle` (once, however often called)."""

    quota: PullQuota
    settled: bool = False

    def settle(self, *, spent: bool = False) -> None:
        """The pull is over, or its reply's reading already counts it. ``spent``: no reading
        will (skopeo and oras pull where we see no reply; a reply without the headers), so one
        pull comes off the last reading."""
        if self.settled:
            return
        self.settled = True
        quota = self.quota
        quota.in_flight -= 1
        if spent and quota.remaining is not None:
            quota.remaining -= 1
            quota.stats.pull_quota_remaining = quota.remaining


@dataclass
class PullQuota:
    """One host's pull quota as its replies told it, and the floor below which pulls wait."""

    host: str
    floor: int
    stats: HostStats
    events: EventSink = field(default_factory=NullSink)
    max_wait: float = 60.0
    clock: Clock = time.monotonic
    sleep: Sleep = anyio.sleep
    limit: int | None = None
    remaining: int | None = None
    window: int | None = None
    in_flight: int = 0  # pulls admitted whose reply has not been noted yet
    _sent: int = 0  # requests sent so far: a request's ticket is its number
    _open: set[int] = field(default_factory=set)  # tickets of requests without a reply yet
    _readings: list[tuple[int, int]] = field(default_factory=list)  # (requests sent when it came, remaining)
    _waited: float = 0.0  # seconds this host has waited below the floor, since it last was above
    _wake: anyio.Event | None = None  # set when the waiting host's sleep and re-read are over

    @property
    def current(self) -> int | None:
        """Pulls left as far as we know: the latest reading minus the pulls in flight since."""
        return None if self.remaining is None else self.remaining - self.in_flight

    def allows(self) -> bool:
        current = self.current
        return self.floor <= 0 or current is None or current >= self.floor

    def ticket(self) -> int:
        """Taken when a request to the host is sent; given to :meth:`note` with its reply and to
        :meth:`forget` when the request is over (replied or not)."""
        self._sent += 1
        self._open.add(self._sent)
        return self._sent

    def forget(self, ticket: int) -> None:
        self._open.discard(ticket)

    def note(self, headers: Mapping[str, str], ticket: int) -> bool:
        """Read the quota headers of a reply (any request to the host); False when it had none."""
        remaining = parse_ratelimit(headers.get("ratelimit-remaining"))
        if remaining is None:
            return False
        count, window = remaining
        # Replies that came after this request was sent were in flight together with it.
        together = [value for came, value in self._readings if came >= ticket]
        self._readings.append((self._sent, count))
        # Only readings that came after the oldest open request was sent can meet a later reply.
        oldest = min(self._open - {ticket}, default=self._sent + 1)
        self._readings = [reading for reading in self._readings if reading[0] >= oldest]
        count = min([count, *together])
        limit = parse_ratelimit(headers.get("ratelimit-limit"))
        self.remaining = count
        self.limit = limit[0] if limit is not None else self.limit
        self.window = window if window is not None else (limit[1] if limit is not None else self.window)
        self.stats.pull_quota_remaining = count
        self.stats.pull_quota_limit = self.limit
        self.stats.pull_quota_window = self.window
        if self.allows():
            self._waited = 0.0
        return True

    def refused(self, status: int, headers: Mapping[str, str]) -> MirrorError | None:
        """A 429 saying no pull is left: the error to fail the pull with at once, without retries."""
        remaining = parse_ratelimit(headers.get("ratelimit-remaining"))
        if status != 429 or remaining is None or remaining[0] != 0:
            return None
        return self.exhausted("none left")

    def exhausted(self, why: str = "") -> RateLimited:
        """``docker.io pull quota: 8 of 100 left in 21600 s (floor 10)``."""
        left = self.current if self.current is not None else 0
        of = f" of {self.limit}" if self.limit is not None else ""
        window = f" in {self.window} s" if self.window is not None else ""
        waited = f"; waited {self._waited:g} s (--max-wait {self.max_wait:g})" if self._waited else ""
        floor = f" (floor {self.floor})" if self.floor > 0 else ""
        detail = f"; {why}" if why else ""
        return RateLimited(f"{self.host} pull quota: {max(left, 0)}{of} left{window}{floor}{detail}{waited}",
                           status=429)

    async def admit(self, reread: Reread) -> Admission:
        """Return once a pull may be sent (counted in flight until settled), or raise the quota error."""
        while not self.allows():
            if self._waited >= self.max_wait:
                raise self.exhausted()
            if self._wake is not None:  # another pull is already waiting and will re-read
                await self._wake.wait()
                continue
            self._wake = anyio.Event()
            try:
                await self._wait_and_reread(reread)
            finally:
                wake, self._wake = self._wake, None
                wake.set()
        self.in_flight += 1
        return Admission(self)

    async def _wait_and_reread(self, reread: Reread) -> None:
        delay = min(REREAD_SECONDS, self.max_wait - self._waited)
        self.events.emit(PullQuotaWait(self.host, self.current, self.limit, self.window, round(delay, 3)))
        self.stats.waits += 1
        self.stats.wait_seconds += delay
        await self.sleep(delay)
        self._waited += delay
        try:
            await reread()  # its reply is noted like any other; a failure just leaves the reading
        except MirrorError:
            pass
