"""A fault proxy: the counting proxy in front of a real registry, breaking things on purpose.

Why: "a download cut in the middle is resumed", "a 503 on a PATCH is sent again", "a
corrupted blob is never committed" are claims about the wire, and a real registry never
misbehaves on cue. :class:`FaultProxy` forwards to a real ``docker-registry`` like
:class:`~tests.fakes.proxy.CountingProxy` (and records the same :class:`Seen`, with the
request's ``Range`` / ``Content-Range`` and the body bytes served), and applies the faults a
test arms, each on requests matching a predicate, ``times`` times (None: always):

* ``reset(pred, after)``    — serve ``after`` body bytes, then reset the connection (RST);
* ``short_read(pred, after)`` — serve ``after`` bytes of a longer declared body, then close;
  both serve at a network's pace (64 KiB every 5 ms): on loopback the kernel would
  otherwise buffer megabytes the client never reads, and a cut loses what is in flight;
* ``fail(pred, status)``    — answer ``status`` without forwarding (the body is read first);
* ``corrupt(pred)``         — flip one byte of the body;
* ``ignore_range(pred)``    — drop ``Range`` before forwarding (the registry answers 200);
* ``reject_monolithic()``   — 413 to a ``PUT`` of an upload that carries a body;
* ``trickle(pred, step, interval)`` — ``step`` bytes every ``interval`` seconds (a server
  that keeps the socket alive without ever finishing).

Predicates: :func:`blob_get`, :func:`upload_step`.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace

import anyio
from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.proxy import CountingProxy, Seen

__all__ = ["WRITE_SIZE", "Fault", "FaultProxy", "blob_get", "upload_step"]

WRITE_SIZE = 64 * 1024  # the proxy's write size
CUT_PACE = 0.005  # seconds between writes of a response that will be cut
Predicate = Callable[[Seen], bool]


def blob_get(digest: str) -> Predicate:
    return lambda s: s.method == "GET" and s.kind == "blob" and s.ref == digest


def upload_step(method: str, *, closing: bool | None = None) -> Predicate:
    """``POST`` (start), ``PATCH`` (a chunk), ``PUT`` (``closing=True``: the bodiless commit of a
    chunked upload, ``False``: a monolithic PUT with the bytes)."""

    def matches(s: Seen) -> bool:
        if s.kind != "upload" or s.method != method:
            return False
        return closing is None or (s.length == 0) == closing

    return matches


@dataclass
class Fault:
    kind: str
    predicate: Predicate
    times: int | None = 1
    status: int = 503
    after: int = 0
    step: int = 1
    interval: float = 0.05
    hits: int = 0

    def take(self, seen: Seen) -> bool:
        if not self.predicate(seen) or (self.times is not None and self.hits >= self.times):
            return False
        self.hits += 1
        return True


class FaultProxy(CountingProxy):
    """A :class:`CountingProxy` with faults (see the module docstring)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.faults: list[Fault] = []
        self._armed: dict[int, list[Fault]] = {}  # request number -> faults taken for it

    def _arm(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def reset(self, predicate: Predicate, after: int, times: int | None = 1) -> Fault:
        return self._arm(Fault("reset", predicate, times, after=after, step=WRITE_SIZE, interval=CUT_PACE))

    def short_read(self, predicate: Predicate, after: int, times: int | None = 1) -> Fault:
        return self._arm(Fault("short", predicate, times, after=after, step=WRITE_SIZE, interval=CUT_PACE))

    def fail(self, predicate: Predicate, status: int = 503, times: int | None = 1) -> Fault:
        return self._arm(Fault("status", predicate, times, status=status))

    def corrupt(self, predicate: Predicate, times: int | None = 1) -> Fault:
        return self._arm(Fault("corrupt", predicate, times))

    def ignore_range(self, predicate: Predicate, times: int | None = None) -> Fault:
        return self._arm(Fault("ignore_range", predicate, times))

    def reject_monolithic(self, digest: str | None = None, times: int | None = None) -> Fault:
        monolithic = upload_step("PUT", closing=False)
        return self._arm(Fault("status", lambda s: monolithic(s) and digest in (None, s.ref), times, status=413))

    def trickle(self, predicate: Predicate, step: int = 1, interval: float = 0.05) -> Fault:
        return self._arm(Fault("trickle", predicate, None, step=step, interval=interval))

    def _taken(self, seen: Seen, kind: str) -> Fault | None:
        if seen.number not in self._armed:  # every fault is taken (counted) once per request
            self._armed[seen.number] = [f for f in self.faults if f.take(seen)]
        for fault in self._armed[seen.number]:
            if fault.kind == kind:
                return fault
        return None

    # ---- hooks ---------------------------------------------------------------
    def _answer_now(self, seen: Seen) -> int | None:
        fault = self._taken(seen, "status")
        return fault.status if fault else None

    def _forward_headers(self, seen: Seen, headers: CIMultiDict[str]) -> None:
        if self._taken(seen, "ignore_range") and "Range" in headers:
            del headers["Range"]

    async def _write_body(self, seen: Seen, request: web.Request, response: web.StreamResponse,
                          payload: bytes) -> int:
        if self._taken(seen, "corrupt") and payload:
            middle = len(payload) // 2
            payload = payload[:middle] + bytes([payload[middle] ^ 0xFF]) + payload[middle + 1:]
        cut = self._taken(seen, "reset") or self._taken(seen, "short")
        trickle = self._taken(seen, "trickle") or cut
        limit = min(cut.after, len(payload)) if cut else len(payload)
        size = trickle.step if trickle else WRITE_SIZE
        served = 0
        try:
            while served < limit:
                piece = payload[served:min(limit, served + size)]
                await response.write(piece)
                served += len(piece)
                self.seen[seen.number] = replace(self.seen[seen.number], served=served)  # a client may leave
                if trickle:
                    await anyio.sleep(trickle.interval)  # the server's pace, not a test waiting for something
        except (ConnectionError, RuntimeError):
            return served  # the client went away (a deadline)
        if cut is None:
            await response.write_eof()
            return served
        transport = request.transport
        assert transport is not None
        if cut.kind == "reset":
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
        return served
