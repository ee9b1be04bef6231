"""One discovery run as a timeline: where its wall time went.

Why: the wall time of ``image-mirror discover`` is start-up, then requests and
helm processes (some in parallel, some waiting on each other), then shutdown.
The proxies' per-request log (``LatencyProxy(timeline=True)``), the tool's own
marks and helm processes (``BENCH_TIMELINE``, see :mod:`bench._cli`) and its
JSON events share one clock (``time.time()``), so one sorted table shows the
critical path, and :func:`phases` sums it up: interpreter, imports, set-up
before the first entry starts, the entries, and the tail after the last one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["Timeline", "load"]


def _events(stderr: Path) -> list[dict[str, Any]]:
    events = []
    for raw in stderr.read_text(errors="replace").splitlines():
        if not raw.startswith("{"):
            continue
        try:
            event = json.loads(raw)
            event["_t"] = datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()
        except (ValueError, KeyError):
            continue
        events.append(event)
    return events


@dataclass(frozen=True)
class Timeline:
    """Rows ``(start, end, what)`` relative to the process start, and the phase marks."""

    spawned: float
    ended: float
    marks: dict[str, float]
    helm: list[dict[str, Any]]
    events: list[dict[str, Any]]
    requests: dict[str, list[tuple[float, float, str, str, int]]]

    def rows(self) -> list[tuple[float, float, str]]:
        t0 = self.spawned
        rows: list[tuple[float, float, str]] = []
        for name, at in self.marks.items():
            rows.append((at - t0, at - t0, f"mark {name}"))
        for proxy, items in self.requests.items():
            for start, end, method, path, status in items:
                rows.append((start - t0, end - t0, f"{proxy:7} {method} {path[:90]} {status}"))
        for run in self.helm:
            rows.append((run["start"] - t0, run["end"] - t0, f"helm    {' '.join(run['args'])} {run['what'][:70]}"))
        for event in self.events:
            name = event.get("event", "")
            if name in ("discover.entry.done", "discover.entry.failed"):
                elapsed = float(event.get("elapsed", 0))
                rows.append((event["_t"] - elapsed - t0, event["_t"] - t0, f"entry   {event.get('entry')}"))
            elif name == "discover.done":
                rows.append((event["_t"] - t0, event["_t"] - t0, "event   discover.done"))
        rows.append((self.ended - t0, self.ended - t0, "process exit"))
        return sorted(rows)

    def phases(self) -> dict[str, float]:
        """Seconds per phase; ``interpreter`` includes the fork/exec and Python's own start."""
        t0 = self.spawned
        first_event = min((e["_t"] for e in self.events), default=None)
        done = next((e["_t"] for e in self.events if e.get("event") == "discover.done"), None)
        out = {"wall": self.ended - t0}
        if "main" in self.marks:
            out["interpreter"] = self.marks["main"] - t0
        if "imported" in self.marks and "main" in self.marks:
            out["import mirror.cli"] = self.marks["imported"] - self.marks["main"]
        if first_event is not None and "imported" in self.marks:
            out["set-up to first entry"] = first_event - self.marks["imported"]
        if first_event is not None and done is not None:
            out["entries (engine)"] = done - first_event
        if done is not None:
            out["after discover.done"] = self.ended - done
        for name, items in self.requests.items():
            if items:
                out[f"{name} requests"] = len(items)
                out[f"{name} first request at"] = min(i[0] for i in items) - t0
                out[f"{name} last answer at"] = max(i[1] for i in items) - t0
        for name, items in self.requests.items():
            if items:  # time at the proxy per request (delay + the bed's own forwarding), median
                spent = sorted(end - start for start, end, *_ in items)
                out[f"{name} seconds at the proxy per request"] = spent[len(spent) // 2]
        chain = sorted((i for i in self.requests.get("tags", []) if "/library/traefik/" in i[3]), key=lambda i: i[0])
        if len(chain) > 1:  # the longest chain: from one page's answer to the next page's request (our side)
            gaps = sorted(b[0] - a[1] for a, b in zip(chain, chain[1:]))
            out["traefik pages"] = len(chain)
            out["traefik chain"] = chain[-1][1] - chain[0][0]
            out["traefik gap between pages (ours)"] = gaps[len(gaps) // 2]
        if self.helm:
            out["helm processes"] = len(self.helm)
            out["helm seconds (sum)"] = sum(r["end"] - r["start"] for r in self.helm)
            out["helm first start at"] = min(r["start"] for r in self.helm) - t0
            out["helm last end at"] = max(r["end"] for r in self.helm) - t0
        return {k: round(v, 3) for k, v in out.items()}

    def render(self) -> str:
        lines = [f"{'start':>7} {'end':>7} {'ms':>5}  what"]
        for start, end, what in self.rows():
            lines.append(f"{start:7.3f} {end:7.3f} {1000 * (end - start):5.0f}  {what}")
        lines.append("")
        lines += [f"{k}: {v}" for k, v in self.phases().items()]
        return "\n".join(lines)


def load(spawned: float, ended: float, marks_file: Path, stderr: Path,
         requests: dict[str, list[tuple[float, float, str, str, int]]]) -> Timeline:
    doc: dict[str, Any] = {"marks": {}, "helm": []}
    try:
        doc = json.loads(marks_file.read_text())
    except (OSError, ValueError):
        pass
    return Timeline(spawned, ended, doc.get("marks", {}), doc.get("helm", []), _events(stderr), requests)
