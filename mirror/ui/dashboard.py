"""The rich dashboard: a live view on a terminal, drawn on its own tick, never per event.

An event only updates counters and lists under a lock (microseconds). rich's Live refresh
thread draws the view at :data:`REFRESH_PER_SECOND` and once more when the run ends, with
the whole final view (rich renders the last frame without cropping), which stays on screen.
Drawing per event cost ~4.6 ms each and made a warm sync of the real list 65 % slower than
``--log-format json``.

The view: for discover a row per config entry; for sync lines done / total with rate and
ETA, bytes and throughput, the copies in flight, every conflict (both of its lines) and every
failure; for compare the counts per status; always a row per host read from
:class:`~mirror.events.Stats`, and the totals with the elapsed time. With several targets
(``--target``, a config.yaml's repositories) a row per target too (:mod:`.targets`) and every
copy, conflict and failure names its target; with one target the view is the one-destination
view. Every string from outside (entry names, tags, sources, targets, error bodies) is escaped
with :func:`mirror.text.escape`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..events import (
    DiscoverDone, DiscoverEntryDone, DiscoverEntryFailed, DiscoverEntryStart, Event, Item, PullQuotaWait, Stats,
)
from ..events.sync import (
    CompareDone, CompareLine, ComparePlan, SyncConflict, SyncCopyDone, SyncCopyFailed, SyncCopyStart, SyncDone,
    SyncInvalid, SyncPlan,
)
from ..tally import SYNC_RESULTS, Tally
from ..text import escape, excerpt
from .targets import copying_rows, human_bytes, problem_line, targets_table

__all__ = ["REFRESH_PER_SECOND", "Dashboard"]

#: Frames per second while the run goes on (the issue's ceiling is 4).
REFRESH_PER_SECOND = 4
#: Problems shown while running (all of them in the final view).
LIVE_PROBLEMS = 8
LIVE_WORKERS = 12
COMPARE_RESULTS = ("matched", "not matched", "missing", "error")


@dataclass
class _EntryRow:
    source: str
    state: str = "waiting"
    seen: int | None = None
    new: int | None = None
    error: str = ""


@dataclass
class _State:
    """What the events told so far; read by :meth:`Dashboard.render` under the lock."""

    entries: dict[str, _EntryRow] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # every target's together
    tally: Tally = field(default_factory=Tally)  # per target
    planned: int = 0
    bytes_sent: int = 0
    workers: dict[Item, str] = field(default_factory=dict)
    # (kind, target, text): "at <target>" is added when drawn, once the run is known to have several
    conflicts: list[tuple[str, str, str]] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    quota_waits: dict[str, str] = field(default_factory=dict)  # host -> its latest pull-quota wait
    finished: float | None = None


def _line(item: Item) -> str:
    return f"line {item.line}: {item.source}:{item.tag} -> {item.destination}:{item.tag}"


@dataclass
class Dashboard:
    """Live terminal view; use as a context manager around the run."""

    stats: Stats
    console: Console
    title: str = "image-mirror"
    #: the run's (line, target) pairs per target label, when the command knows them
    targets: Mapping[str, int] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    refresh_per_second: float = REFRESH_PER_SECOND
    state: _State = field(default_factory=_State)
    started: float = -1.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _live: Live | None = None

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()
        if self.targets:
            self.state.tally = Tally(planned=self.targets)

    # ---- events: bookkeeping only -------------------------------------------------------
    def emit(self, event: Event, /) -> None:
        with self._lock:
            self._apply(event)

    def _apply(self, event: Event) -> None:
        s = self.state
        ended = s.tally.see(event)
        if ended is not None:
            self._count(ended[1])
        match event:
            case DiscoverEntryStart(entry=entry, source=source):
                s.entries[entry] = _EntryRow(source, "running")
            case DiscoverEntryDone(entry=entry, source=source, seen=seen, new=new):
                row = s.entries.setdefault(entry, _EntryRow(source))
                row.state, row.seen, row.new = "done", seen, new
            case DiscoverEntryFailed(entry=entry, source=source, error=error):
                row = s.entries.setdefault(entry, _EntryRow(source))
                row.state, row.error = "failed", error
            case SyncPlan(lines=lines) | ComparePlan(lines=lines):
                s.planned = lines
            case SyncCopyStart(item=item):
                s.workers[item] = f"{item.source}:{item.tag}"
            case SyncCopyDone(item=item, bytes=sent):
                s.workers.pop(item, None)
                s.bytes_sent += sent
            case SyncCopyFailed(item=item, reason=reason):
                s.workers.pop(item, None)
                s.failures.append(("failed", item.target, f"{_line(item)}: {reason}"))
            case SyncConflict(item=item, winner=winner, winner_source=winner_source):
                s.conflicts.append(("conflict", item.target, f"{_line(item)} is superseded by line {winner} "
                                    f"({winner_source}:{item.tag}), which writes the same destination tag"))
            case SyncInvalid(reason=reason):
                s.failures.append(("invalid", "", reason))
            case CompareLine(status=status, destination=destination, tag=tag, reason=reason, target=target):
                if status != "MATCHED":
                    s.failures.append((status, target, f"{destination}:{tag} {reason}".rstrip()))
            case PullQuotaWait(host=host, remaining=remaining, limit=limit, window=window, seconds=seconds):
                s.quota_waits[host] = (f"{host}: pulls wait {seconds:g}s for the pull quota "
                                       f"({_quota(remaining, limit, window)} left, below the floor)")
            case DiscoverDone() | SyncDone() | CompareDone():
                s.finished = self.clock()

    def _count(self, key: str) -> None:
        self.state.counts[key] = self.state.counts.get(key, 0) + 1

    # ---- rendering (the refresh thread) -------------------------------------------------
    def render(self) -> RenderableType:
        """The whole view; called by rich at most ``refresh_per_second`` times a second."""
        with self._lock:
            return self._render(final=self._live is None or self.state.finished is not None)

    def _render(self, *, final: bool) -> RenderableType:
        s = self.state
        now = s.finished if s.finished is not None else self.clock()
        elapsed = max(now - self.started, 0.0)
        body: list[RenderableType] = []
        if s.entries:
            body.append(self._entries_table())
            failed = sum(1 for r in s.entries.values() if r.state == "failed")
            done = sum(1 for r in s.entries.values() if r.state == "done")
            new = sum(r.new or 0 for r in s.entries.values())
            totals = f"totals: {done} done, {failed} failed, {new} new of {len(s.entries)} entries"
        else:
            totals = "totals: " + ", ".join(f"{v} {k}" for k, v in sorted(s.counts.items()))
            if s.planned or s.counts:
                body.append(self._lines_view(elapsed, final=final))
        body.append(self._hosts_table())
        if s.quota_waits:
            body.append(Text("\n".join(escape(line) for line in s.quota_waits.values()), style="yellow"))
        body.append(Text(f"{totals} — elapsed {elapsed:.1f}s"))
        return Panel(Group(*body), title=escape(self.title))

    def _entries_table(self) -> Table:
        table = Table(title="entries", expand=True, title_justify="left")
        for column in ("entry", "source", "state", "tags seen", "new", "error"):
            table.add_column(column, overflow="fold")
        style = {"done": "green", "failed": "red", "running": "yellow"}
        for key, row in self.state.entries.items():
            table.add_row(Text(escape(key)), Text(escape(row.source)), Text(row.state, style=style.get(row.state, "")),
                          "" if row.seen is None else str(row.seen),
                          "" if row.new is None else str(row.new), Text(excerpt(row.error)))
        return table

    def _lines_view(self, elapsed: float, *, final: bool) -> RenderableType:
        s = self.state
        done = sum(s.counts.values())
        total = max(s.planned, done, 1)
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = "" if final or rate <= 0 or done >= total else f"  ETA {(total - done) / rate:.0f}s"
        labels = self._labels()
        grid = Table.grid(padding=(0, 1))
        grid.add_column()
        grid.add_column(width=40)
        grid.add_column()
        over = f" over {len(s.tally.targets)} targets" if s.tally.several else ""
        grid.add_row("lines", ProgressBar(total=total, completed=done),
                     f"{done}/{s.planned}{over}  {rate:.1f}/s{eta}")
        for label in labels:
            value = s.counts.get(label, 0)
            grid.add_row(label, ProgressBar(total=total, completed=value), f"{value}/{s.planned}")
        throughput = s.bytes_sent / elapsed if elapsed > 0 else 0.0
        grid.add_row("bytes sent", "", f"{human_bytes(s.bytes_sent)}  {human_bytes(int(throughput))}/s")
        parts: list[RenderableType] = [grid]
        several = s.tally.several
        if several:
            parts.append(targets_table(s.tally, list(s.workers), labels))
        if s.workers and not final:
            workers = Table(title="copy workers", title_justify="left", expand=True)
            workers.add_column("copying")
            for row in copying_rows(s.workers, several)[:LIVE_WORKERS]:
                workers.add_row(Text(escape(row)))
            parts.append(workers)
        shown = None if final else LIVE_PROBLEMS
        for problems, style in ((s.conflicts, "yellow"), (s.failures, "red")):
            if problems:
                chosen = problems if shown is None else problems[-shown:]
                text = "\n".join(escape(problem_line(kind, target, line, several)) for kind, target, line in chosen)
                parts.append(Text(text, style=style))
        return Group(*parts)

    def _labels(self) -> tuple[str, ...]:
        """The results to count: sync's, or compare's once a compare line came; planned in a dry run."""
        counts = self.state.counts
        if any(key in counts for key in COMPARE_RESULTS):
            return COMPARE_RESULTS
        return (*SYNC_RESULTS, "planned") if "planned" in counts else SYNC_RESULTS

    def _hosts_table(self) -> Table:
        table = Table(title="hosts", expand=True, title_justify="left")
        for column in ("host", "in flight / limit", "done", "errors", "retries", "waits", "quota"):
            table.add_column(column)
        for host in list(self.stats.hosts.values()):
            quota = ""
            if host.pull_quota_remaining is not None:
                quota = _quota(host.pull_quota_remaining, host.pull_quota_limit, host.pull_quota_window)
            elif host.quota_remaining is not None:
                reset = ""
                if host.quota_reset:
                    reset = " reset " + datetime.fromtimestamp(host.quota_reset, timezone.utc).strftime("%H:%M:%SZ")
                quota = f"{host.quota_remaining} left{reset}"
            table.add_row(Text(escape(host.host)), f"{host.in_flight} / {host.limit}", str(host.done),
                          str(host.errors), str(host.retries), f"{host.waits} ({host.wait_seconds:.1f}s)", quota)
        return table

    # ---- lifetime -------------------------------------------------------------------------
    def __enter__(self) -> Dashboard:
        self._live = Live(get_renderable=self.render, console=self.console, auto_refresh=True,
                          refresh_per_second=self.refresh_per_second, transient=False,
                          redirect_stdout=False, redirect_stderr=False)
        self._live.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()  # draws the final view once, uncropped; it stays on screen


def _quota(remaining: int | None, limit: int | None, window: int | None) -> str:
    """A pull quota as ``37/100 per 6h``."""
    text = "?" if remaining is None else str(remaining)
    if limit is not None:
        text += f"/{limit}"
    if window is not None:
        text += f" per {_duration(window)}"
    return text


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
