"""What the metrics need, kept from the run's events, and rendered with the host counters."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..events import (CompareDone, DiscoverDone, DiscoverEntryDone, DiscoverEntryFailed, Event, Stats, SyncCopyDone,
                      SyncCopyFailed, SyncDone, SyncPlan, SyncSkip)
from .exposition import Exposition

__all__ = ["MetricsCollector"]


@dataclass
class _Entry:
    seen: int | None = None
    found: int | None = None
    new: int | None = None
    failed: bool = False
    elapsed: float | None = None


@dataclass
class MetricsCollector:
    """An EventSink that remembers what the metrics need; :meth:`render` writes them.

    ``command`` labels the run-level metrics (``discover``, ``sync``, ...); when not given it
    is taken from the first event's prefix. ``clock`` (wall time, for the last-success
    timestamp) and ``monotonic`` (for the duration) are injectable for tests.
    """

    command: str | None = None
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    started: float = field(default=-1.0)
    entries: dict[str, _Entry] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    planned_lines: int | None = None
    dry_run: bool = False
    bytes_sent: int = 0
    blobs: dict[str, int] = field(default_factory=dict)
    done: dict[str, dict[str, object]] = field(default_factory=dict)
    failures: int = 0

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.monotonic()

    # ---- EventSink ----------------------------------------------------------------------
    def emit(self, event: Event, /) -> None:
        if self.command is None:
            prefix = event.name.split(".", 1)[0]
            if "." in event.name and prefix in ("discover", "sync", "compare"):
                self.command = prefix
        match event:
            case DiscoverEntryDone(entry=key, seen=seen, found=found, new=new, elapsed=elapsed):
                entry = self.entries.setdefault(key, _Entry())
                entry.seen, entry.found, entry.new, entry.failed, entry.elapsed = seen, found, new, False, elapsed
            case DiscoverEntryFailed(entry=key, elapsed=elapsed):
                entry = self.entries.setdefault(key, _Entry())
                entry.failed, entry.elapsed = True, elapsed
                self.failures += 1
            case SyncPlan(lines=lines, dry_run=dry_run):
                self.planned_lines, self.dry_run = lines, dry_run
            case SyncCopyDone():
                self._line("copied")
                self.bytes_sent += event.bytes
                for kind, count in (("sent", event.blobs_sent), ("mounted", event.blobs_mounted),
                                    ("present", event.blobs_present)):
                    self.blobs[kind] = self.blobs.get(kind, 0) + count
            case SyncSkip():
                self._line("skipped")
            case SyncCopyFailed():
                self._line("failed")
                self.failures += 1
            case DiscoverDone() | SyncDone() | CompareDone():
                self.done[event.name.split(".", 1)[0]] = event.fields()

    def _line(self, result: str) -> None:
        self.lines[result] = self.lines.get(result, 0) + 1

    # ---- outcome --------------------------------------------------------------------------
    def succeeded(self) -> bool:
        """The run finished (a ``*.done`` event came) and nothing failed."""
        if not self.done or self.failures:
            return False
        for fields in self.done.values():
            if (_int_or_none(fields.get("failed")) or 0) > 0:
                return False
        return True

    # ---- rendering ------------------------------------------------------------------------
    def render(
        self,
        stats: Stats | None = None,
        *,
        succeeded: bool | None = None,
        last_success: float | None = None,
    ) -> str:
        """The exposition text for this run.

        ``succeeded``: the run's verdict (the CLI passes ``exit_code == 0``); default
        :meth:`succeeded`. ``last_success``: the previous success timestamp to carry over
        when this run failed (ignored when it succeeded: then it is *now*).
        """
        ok = self.succeeded() if succeeded is None else succeeded
        command = self.command or "unknown"
        out = Exposition()

        if self.entries:
            seen = out.family("image_mirror_discover_tags_seen",
                              "Tags (or chart versions, or images) the entry's version source returned in the last run.")
            found = out.family("image_mirror_discover_tags_found",
                               "Tags of the entry left after its filters in the last run.")
            new = out.family("image_mirror_discover_tags_new",
                             "Found tags of the entry that are not in images-list yet.")
            failed = out.family("image_mirror_discover_entry_failed",
                                "1 when the entry failed in the last run, 0 when it succeeded.")
            elapsed = out.family("image_mirror_discover_entry_duration_seconds",
                                 "How long the entry took in the last run.")
            for key, entry in self.entries.items():
                failed.add(1 if entry.failed else 0, entry=key)
                if entry.elapsed is not None:
                    elapsed.add(entry.elapsed, entry=key)
                if entry.failed:
                    continue
                if entry.seen is not None:
                    seen.add(entry.seen, entry=key)
                if entry.found is not None:
                    found.add(entry.found, entry=key)
                if entry.new is not None:
                    new.add(entry.new, entry=key)

        if self.lines or self.planned_lines is not None or "sync" in self.done:
            lines = out.family("image_mirror_sync_lines", "images-list lines by how the last sync ended for them.")
            counts = {"copied": 0, "skipped": 0, "failed": 0, **self.lines}
            # --dry-run: lines that would be copied end "planned" (no per-line event, so from sync.done).
            planned = _int_or_none(self.done.get("sync", {}).get("planned")) or 0
            if self.dry_run or planned:
                counts["planned"] = planned
            for result, count in counts.items():
                lines.add(count, result=result)
            if self.planned_lines is not None:
                out.family("image_mirror_sync_lines_planned",
                           "images-list lines the last sync worked on (after --shard).").add(self.planned_lines)
            out.family("image_mirror_sync_bytes_sent",
                       "Blob bytes uploaded by the copies of the last sync.").add(self.bytes_sent)
            if any(self.blobs.values()):
                blobs = out.family("image_mirror_sync_blobs",
                                   "Blobs of the copied images: sent, mounted from another repository, or already present.")
                for kind in ("sent", "mounted", "present"):
                    blobs.add(self.blobs.get(kind, 0), result=kind)

        if stats is not None:
            self._render_hosts(out, stats)

        out.family("image_mirror_run_duration_seconds", "Wall time of the last run.").add(
            round(max(0.0, self.monotonic() - self.started), 3), command=command)
        out.family("image_mirror_run_success", "1 when the last run succeeded, else 0.").add(
            1 if ok else 0, command=command)
        stamp = round(self.clock(), 3) if ok else last_success
        if stamp is not None:
            out.family("image_mirror_last_success_timestamp_seconds",
                       "Unix time the last successful run finished.").add(stamp, command=command)
        return out.text()

    @staticmethod
    def _render_hosts(out: Exposition, stats: Stats) -> None:
        hosts = sorted(stats.hosts.values(), key=lambda h: h.host)
        if not hosts:
            return
        requests = out.family("image_mirror_http_requests", "HTTP responses in the last run by host and status.")
        retries = out.family("image_mirror_http_retries", "Requests retried in the last run, by host.")
        peak = out.family("image_mirror_http_in_flight_peak", "Most requests in flight at once to the host.")
        limit = out.family("image_mirror_http_concurrency_limit", "Requests allowed in flight at once to the host.")
        waits = out.family("image_mirror_rate_limit_waits",
                           "Waits for a rate limit (Retry-After, GitHub quota, the host's rate) in the last run.")
        wait_seconds = out.family("image_mirror_rate_limit_wait_seconds",
                                  "Time spent waiting for rate limits in the last run.")
        quota = out.family("image_mirror_github_quota_remaining", "API requests left in the quota, as last reported.")
        reset = out.family("image_mirror_github_quota_reset_timestamp_seconds",
                           "Unix time the API quota resets, as last reported.")
        for host in hosts:
            for status, count in sorted(host.by_status.items()):
                requests.add(count, host=host.host, status=str(status))
            retries.add(host.retries, host=host.host)
            peak.add(host.peak_in_flight, host=host.host)
            limit.add(host.limit, host=host.host)
            waits.add(host.waits, host=host.host)
            wait_seconds.add(round(host.wait_seconds, 3), host=host.host)
            if host.quota_remaining is not None:
                quota.add(host.quota_remaining, host=host.host)
            if host.quota_reset is not None:
                reset.add(host.quota_reset, host=host.host)


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)
