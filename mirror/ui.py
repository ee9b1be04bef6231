"""Renders events; decides nothing.

* :class:`JsonLines` — one JSON object per event on stderr: ``{"ts", "event", …fields}``.
  The same schema serves discover and sync (documented in the README).
* :class:`Plain` — one readable line per interesting event, for logs.
* :class:`Dashboard` — a rich Live view on a terminal: a row per config entry
  (discover) or progress bars (sync), a panel per host read from
  :class:`~mirror.events.Stats`, totals and elapsed time. The final view stays
  on screen.
* :class:`StepSummary` — when ``GITHUB_STEP_SUMMARY`` is set, a Markdown
  summary appended to that file at the end of the run.

Consoles use ``markup=False`` so tags and image names are shown as written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from .events import EventSink, Stats

__all__ = ["Dashboard", "Fanout", "JsonLines", "Plain", "StepSummary", "open_sink"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class JsonLines:
    stream: IO[str]

    def emit(self, event: str, /, **fields: Any) -> None:
        record = {"ts": _now(), "event": event, **fields}
        self.stream.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
        self.stream.flush()


@dataclass
class Plain:
    stream: IO[str]

    def emit(self, event: str, /, **fields: Any) -> None:
        if event.endswith(".start") or event == "sync.plan":
            return
        subject = fields.get("entry") or fields.get("destination") or ""
        if "tag" in fields and fields.get("destination"):
            subject = f"{fields['destination']}:{fields['tag']}"
        detail = fields.get("error") or fields.get("reason") or ""
        extra = " ".join(f"{k}={v}" for k, v in fields.items()
                         if k in ("seen", "found", "new", "copied", "skipped", "failed", "elapsed"))
        line = " ".join(part for part in (event, str(subject), extra, str(detail)) if part)
        self.stream.write(line + "\n")
        self.stream.flush()


@dataclass
class Fanout:
    sinks: list[EventSink]

    def emit(self, event: str, /, **fields: Any) -> None:
        for sink in self.sinks:
            sink.emit(event, **fields)


@dataclass
class _EntryRow:
    source: str
    state: str = "waiting"
    seen: int | None = None
    new: int | None = None
    error: str = ""


@dataclass
class Dashboard:
    """Live terminal view; call as a context manager around the run."""

    stats: Stats
    console: Console
    title: str = "image-mirror"
    entries: dict[str, _EntryRow] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    planned: int = 0
    bytes_sent: int = 0
    workers: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    _live: Live | None = None

    def emit(self, event: str, /, **f: Any) -> None:
        if event == "discover.entry.start":
            self.entries[f["entry"]] = _EntryRow(f.get("source", ""), "running")
        elif event == "discover.entry.done":
            row = self.entries.setdefault(f["entry"], _EntryRow(f.get("source", "")))
            row.state, row.seen, row.new = "done", f.get("seen"), f.get("new")
        elif event == "discover.entry.failed":
            row = self.entries.setdefault(f["entry"], _EntryRow(f.get("source", "")))
            row.state, row.error = "failed", str(f.get("error", ""))
        elif event == "sync.plan":
            self.planned = int(f.get("lines", self.planned))
        elif event == "sync.copy.start":
            self.workers[f"{f.get('destination')}:{f.get('tag')}"] = f"{f.get('source')}:{f.get('tag')}"
        elif event in ("sync.copy.done", "sync.copy.failed", "sync.skip"):
            key = {"sync.copy.done": "copied", "sync.copy.failed": "failed", "sync.skip": "skipped"}[event]
            self.counts[key] = self.counts.get(key, 0) + 1
            self.workers.pop(f"{f.get('destination')}:{f.get('tag')}", None)
            self.bytes_sent += int(f.get("bytes", 0) or 0)
            if event == "sync.copy.failed":
                self.failures.append(f"{f.get('destination')}:{f.get('tag')}: {f.get('reason', '')}")
        elif event in ("sync.invalid", "sync.conflict"):
            self.failures.append(f"{event.split('.')[1]}: {f.get('reason', '')}")
        elif event == "compare.plan":
            self.planned = int(f.get("lines", self.planned))
        elif event == "compare.line":
            status = str(f.get("status", "")).lower()
            self.counts[status] = self.counts.get(status, 0) + 1
            if status != "matched":
                self.failures.append(f"{f.get('status')}: {f.get('destination')}:{f.get('tag')} {f.get('reason', '')}")
        elif event in ("discover.done", "sync.done", "compare.done"):
            self.finished = time.monotonic()
        if self._live is not None:
            self._live.refresh()

    # ---- rendering ---------------------------------------------------------
    def _entries_table(self) -> Table:
        table = Table(title="entries", expand=True, title_justify="left")
        for column in ("entry", "source", "state", "tags seen", "new", "error"):
            table.add_column(column, overflow="fold")
        style = {"done": "green", "failed": "red", "running": "yellow"}
        for key, row in self.entries.items():
            table.add_row(key, row.source, Text(row.state, style=style.get(row.state, "")),
                          "" if row.seen is None else str(row.seen),
                          "" if row.new is None else str(row.new), row.error[:120])
        return table

    def _sync_view(self) -> RenderableType:
        done = sum(self.counts.values())
        table = Table.grid(padding=(0, 1))
        table.add_column()
        table.add_column(width=40)
        table.add_column()
        total = max(self.planned, 1)
        labels: tuple[str, ...] = ("skipped", "copied", "failed")
        if any(key in self.counts for key in ("matched", "not matched", "missing", "error")):
            labels = ("matched", "not matched", "missing", "error")
        for label in ("planned", *labels):
            value = self.planned if label == "planned" else self.counts.get(label, 0)
            table.add_row(label, ProgressBar(total=total, completed=value if label != "planned" else done),
                          f"{value}/{self.planned}")
        table.add_row("bytes sent", "", _human_bytes(self.bytes_sent))
        parts: list[RenderableType] = [table]
        if self.workers:
            workers = Table(title="copy workers", title_justify="left", expand=True)
            workers.add_column("copying")
            for source in list(self.workers.values())[:12]:
                workers.add_row(source)
            parts.append(workers)
        if self.failures:
            parts.append(Text("\n".join(self.failures[-8:]), style="red"))
        return Group(*parts)

    def _hosts_table(self) -> Table:
        table = Table(title="hosts", expand=True, title_justify="left")
        for column in ("host", "in flight / limit", "done", "retries", "waits", "quota"):
            table.add_column(column)
        for host in list(self.stats.hosts.values()):
            quota = ""
            if host.quota_remaining is not None:
                reset = ""
                if host.quota_reset:
                    reset = " reset " + datetime.fromtimestamp(host.quota_reset, timezone.utc).strftime("%H:%M:%SZ")
                quota = f"{host.quota_remaining} left{reset}"
            table.add_row(host.host, f"{host.in_flight} / {host.limit}", str(host.done), str(host.retries),
                          f"{host.waits} ({host.wait_seconds:.1f}s)", quota)
        return table

    def render(self) -> RenderableType:
        elapsed = (self.finished or time.monotonic()) - self.started
        body: list[RenderableType] = []
        if self.entries:
            body.append(self._entries_table())
            failed = sum(1 for r in self.entries.values() if r.state == "failed")
            done = sum(1 for r in self.entries.values() if r.state == "done")
            new = sum(r.new or 0 for r in self.entries.values())
            totals = f"totals: {done} done, {failed} failed, {new} new of {len(self.entries)} entries"
        else:
            totals = "totals: " + ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
        if (self.planned or self.counts) and not self.entries:
            body.append(self._sync_view())
        body.append(self._hosts_table())
        body.append(Text(f"{totals} — elapsed {elapsed:.1f}s"))
        return Panel(Group(*body), title=self.title)

    def __enter__(self) -> Dashboard:
        self._live = Live(get_renderable=self.render, console=self.console, refresh_per_second=8,
                          transient=False, redirect_stdout=False, redirect_stderr=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.__exit__(None, None, None)
            self._live = None


def _human_bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


@dataclass
class StepSummary:
    """Collects results and appends a Markdown summary to ``GITHUB_STEP_SUMMARY``."""

    path: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)

    def emit(self, event: str, /, **f: Any) -> None:
        if event == "discover.entry.done":
            self.rows.append((f["entry"], "done", f"{f.get('new', 0)} new"))
        elif event == "discover.entry.failed":
            self.rows.append((f["entry"], "failed", str(f.get("error", ""))))
        elif event == "sync.copy.failed":
            self.rows.append((f"{f.get('destination')}:{f.get('tag')}", "failed", str(f.get("reason", ""))))
        elif event in ("discover.done", "sync.done", "compare.done"):
            self.totals = {k: v for k, v in f.items() if isinstance(v, (int, float, str))}
            self.totals["command"] = event.split(".")[0]

    def write(self) -> None:
        lines = [f"## image-mirror {self.totals.get('command', '')}", ""]
        if self.totals:
            lines.append(", ".join(f"**{k}**: {v}" for k, v in self.totals.items() if k != "command"))
            lines.append("")
        if self.rows:
            lines += ["| item | state | detail |", "|---|---|---|"]
            for item, state, detail in self.rows:
                clean = detail.replace("|", "\\|").replace("\n", " ")[:300]
                lines.append(f"| `{item}` | {state} | {clean} |")
            lines.append("")
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


@contextmanager
def open_sink(
    log_format: str, stats: Stats, stream: IO[str], title: str, extra: EventSink | None = None
) -> Iterator[EventSink]:
    """The sink for a command run: dashboard on a TTY (``auto``/``rich``), JSON lines otherwise;
    ``extra`` (the metrics collector) sees every event too."""
    sinks: list[EventSink] = [] if extra is None else [extra]
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    summary = StepSummary(summary_path) if summary_path else None
    if summary:
        sinks.append(summary)
    use_rich = log_format == "rich" or (log_format == "auto" and stream.isatty())
    try:
        if use_rich:
            console = Console(file=stream, markup=False, highlight=False, force_terminal=log_format == "rich" or None)
            with Dashboard(stats, console, title=title) as dashboard:
                yield Fanout([dashboard, *sinks])
        else:
            main: EventSink = Plain(stream) if log_format == "plain" else JsonLines(stream)
            yield Fanout([main, *sinks])
    finally:
        if summary:
            summary.write()
