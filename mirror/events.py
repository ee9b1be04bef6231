"""Events and live counters: how the engine tells the UI what is happening.

Library code never prints. The pipeline and the clients call
``sink.emit("event-name", field=value, …)``; the UI decides how to show it
(rich dashboard, JSON lines, step summary). Per-host counters are kept in
:class:`HostStats` objects that the clients update and the dashboard reads, so
a request costs an integer increment, not an event.

Field values must be JSON-serialisable and must never contain secrets.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["EventSink", "HostStats", "ListSink", "NullSink", "Stats"]


class EventSink(Protocol):
    def emit(self, event: str, /, **fields: Any) -> None: ...


class NullSink:
    """Drops every event (library use, tests that do not care)."""

    def emit(self, event: str, /, **fields: Any) -> None:
        return None


@dataclass
class ListSink:
    """Records events in memory; used by tests and by the step summary."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def emit(self, event: str, /, **fields: Any) -> None:
        self.events.append((event, dict(fields)))

    def named(self, event: str) -> list[dict[str, Any]]:
        return [fields for name, fields in self.events if name == event]


@dataclass
class HostStats:
    """Live counters for one host (a registry or the GitHub API)."""

    host: str
    limit: int
    in_flight: int = 0
    peak_in_flight: int = 0
    done: int = 0
    errors: int = 0
    retries: int = 0
    waits: int = 0
    wait_seconds: float = 0.0
    bytes_sent: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    quota_remaining: int | None = None
    quota_reset: float | None = None  # epoch seconds

    @contextmanager
    def request(self) -> Iterator[None]:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            self.in_flight -= 1
            self.done += 1

    def record_status(self, status: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status >= 400 and status != 404:  # a 404 answers "is it there?", it is no failure
            self.errors += 1


@dataclass
class Stats:
    """All hosts' counters for one run, shared by every client of the run."""

    hosts: dict[str, HostStats] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def host(self, name: str, limit: int) -> HostStats:
        stats = self.hosts.get(name)
        if stats is None:
            stats = self.hosts[name] = HostStats(name, limit)
        return stats
