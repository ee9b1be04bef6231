"""Events and live counters: how the engine tells the renderers what is happening.

Library code never prints. The pipeline and the clients call ``sink.emit(Event(...))`` with
one of the frozen dataclasses below, one per kind; the renderers in :mod:`mirror.ui` (rich
dashboard, JSON lines, plain lines, step summary) and the metrics collector dispatch on the
class with ``match``. A request costs no event: per-host counters live in
:class:`HostStats` objects that the clients update and the dashboard reads.

Sync's and compare's own events are in :mod:`.sync`: a discover run never creates those classes
(every dataclass costs its creation at import, before the first request).

The JSON form of an event (:meth:`Event.fields`) is an interface scripts read (README,
"Progress and events"): the ``name`` and the field order are the ones the string events
had, held by ``tests/cli/golden``. Values are plain data and never secrets; text from
outside (error bodies, tags, messages) is kept as received and escaped by each renderer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, is_dataclass
from typing import ClassVar, Protocol

from ..value import frozen

__all__ = [
    "Debug", "DiscoverApply", "DiscoverDone",
    "DiscoverEntryDone", "DiscoverEntryFailed", "DiscoverEntryStart", "Error", "Event", "EventSink",
    "GitHubRetry", "GitHubWait", "HostStats", "Item", "ListSink", "NullSink", "PullQuotaWait", "Stats", "Status",
    "Warning",
]

#: Field metadata: the value (a dataclass or a mapping) is spread into the JSON object.
SPREAD = {"spread": True}
#: Field metadata: the key is left out of the JSON object while the value is None.
OMIT_NONE = {"omit_none": True}


@frozen
class Event:
    """Base of every event; ``name`` is the ``event`` value of its JSON line."""

    name: ClassVar[str] = ""

    def fields(self) -> dict[str, object]:
        """The JSON fields after ``event``, in declaration order."""
        out: dict[str, object] = {}
        for name, spread, omit_none in _layout(type(self)):
            value = getattr(self, name)
            if spread:
                out.update(_fields_of(value))
            elif value is None and omit_none:
                continue
            else:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out


_LAYOUTS: dict[type[Event], tuple[tuple[str, bool, bool], ...]] = {}


def _layout(kind: type[Event]) -> tuple[tuple[str, bool, bool], ...]:
    """(name, spread, omit_none) of each field of an event class, read once per class: a sync
    of Rancher's config.yaml writes some 15,000 events."""
    layout = _LAYOUTS.get(kind)
    if layout is None:
        layout = _LAYOUTS[kind] = tuple(
            (spec.name, bool(spec.metadata.get("spread")), bool(spec.metadata.get("omit_none"))) for spec in fields(kind))
    return layout


def _fields_of(value: object) -> Mapping[str, object]:
    if is_dataclass(value) and not isinstance(value, type):
        return {spec.name: getattr(value, spec.name) for spec in fields(value)}
    assert isinstance(value, Mapping)
    return value


class EventSink(Protocol):
    def emit(self, event: Event, /) -> None: ...


class NullSink:
    """Drops every event (library use, tests that do not care)."""

    def emit(self, event: Event, /) -> None:
        return None


@dataclass
class ListSink:
    """Records events in memory (tests)."""

    events: list[Event] = field(default_factory=list)

    def emit(self, event: Event, /) -> None:
        self.events.append(event)

    def named(self, name: str) -> list[dict[str, object]]:
        """The JSON fields of every event called ``name``."""
        return [event.fields() for event in self.events if event.name == name]


# ---- the items a sync or compare line is about ----------------------------------------------


@frozen
class Item:
    """One images-list line's copy to one target: spread as ``source, destination, tag, line,
    target``."""

    source: str
    destination: str
    tag: str | None
    line: int
    target: str = ""

    def __str__(self) -> str:
        return f"{self.destination}:{self.tag}"


# ---- messages of the command itself (Output) ------------------------------------------------


@frozen
class Status(Event):
    name: ClassVar[str] = "status"
    message: str


@frozen
class Error(Event):
    name: ClassVar[str] = "error"
    message: str


@frozen
class Debug(Event):
    name: ClassVar[str] = "debug"
    message: str


@frozen
class Warning(Event):  # noqa: A001 - the event is called "warning"
    name: ClassVar[str] = "warning"
    source: str
    message: str
    path: str | None = field(default=None, metadata=OMIT_NONE)
    moved_to: str | None = field(default=None, metadata=OMIT_NONE)


# ---- discover -------------------------------------------------------------------------------


@frozen
class DiscoverEntryStart(Event):
    name: ClassVar[str] = "discover.entry.start"
    entry: str
    source: str


@frozen
class DiscoverEntryDone(Event):
    """``listing`` is the entry's seed JSON (``images``/``tags`` or ``full_images``, and
    autoupdate.yaml's ``target_names`` where an artifact has a non-default name)."""

    name: ClassVar[str] = "discover.entry.done"
    entry: str
    source: str
    seen: int
    found: int
    new: int
    elapsed: float
    listing: Mapping[str, list[str] | Mapping[str, str]] = field(default_factory=dict, metadata=SPREAD)


@frozen
class DiscoverEntryFailed(Event):
    name: ClassVar[str] = "discover.entry.failed"
    entry: str
    source: str
    error: str
    elapsed: float


@frozen
class DiscoverApply(Event):
    name: ClassVar[str] = "discover.apply"
    image: str
    tag: str
    status: str
    message: str
    line: str | None


@frozen
class DiscoverDone(Event):
    name: ClassVar[str] = "discover.done"
    entries: int
    failed: int
    new: int


# ---- GitHub ---------------------------------------------------------------------------------


@frozen
class GitHubWait(Event):
    """A wait for a GitHub limit: ``reason`` is the limit, ``until`` its reset (ISO) when known."""

    name: ClassVar[str] = "github-wait"
    host: str
    reason: str
    seconds: float
    what: str
    until: str | None = None


@frozen
class GitHubRetry(Event):
    name: ClassVar[str] = "github-retry"
    host: str
    what: str
    attempt: int
    cause: str
    seconds: float


# ---- registry pull quota (Docker Hub's) --------------------------------------------------


@frozen
class PullQuotaWait(Event):
    """Pulls to ``host`` wait ``seconds`` (then the quota is read again): ``remaining`` of
    ``limit`` pulls are left in a window of ``window`` seconds, below the host's ``pull_floor``."""

    name: ClassVar[str] = "pull-quota-wait"
    host: str
    remaining: int | None
    limit: int | None
    window: int | None
    seconds: float


# ---- live counters --------------------------------------------------------------------------


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
    #: manifest GETs answered 2xx (each is a pull where the registry keeps a pull quota)
    pulls: int = 0
    #: the registry's pull quota (``ratelimit-*`` headers) as last read; None: the host sent none
    pull_quota_remaining: int | None = None
    pull_quota_limit: int | None = None
    pull_quota_window: int | None = None  # seconds

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
