"""Run ``image-mirror`` (``mirror.cli.main``) and record its own peak RSS.

``python -m bench._cli ARGS…`` is exactly the console script, plus:

* ``BENCH_RSS_FILE``: write this process's peak RSS there on exit (KiB): ``VmHWM``
  from ``/proc/self/status``, the high-water mark of this program's own memory
  (not the skopeo/helm children). Not ``ru_maxrss``: Linux carries the
  *parent's* peak into a child across fork/vfork + exec, so a small child of a
  big benchmark process would report the benchmark's size;
* ``BENCH_PROFILE``: run under cProfile and dump the stats there;
* ``BENCH_TRACEMALLOC``: trace allocations (10 frames) and write the top allocation sites
  there on exit, from the snapshot taken nearest the traced peak (a thread looks every
  second and snapshots each time traced memory passes its maximum by 5%), and the top sites
  every ``BENCH_TRACEMALLOC_EVERY`` seconds (default 30) as a timeline. Slow: for finding
  where memory goes, never for a measured number;
* ``BENCH_SEQUENTIAL=1``: the seed's sequential shape for discovery — the
  helm renderer gets a concurrency of 1 (it has no setting; the registries
  file sets every other limit, the GitHub API host's included);
* ``BENCH_TIMELINE``: write a JSON timeline of this process there on exit
  (wall-clock seconds, comparable with the latency proxies' timelines): when
  ``main`` started (the interpreter is up), when ``mirror.cli`` was imported,
  each helm process (start, end, its arguments) and the exit.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

_MARKS: dict[str, float] = {"main": time.time()}
_HELM: list[dict[str, object]] = []


def _helm_limit(limit: int) -> None:
    from mirror import helm

    original = helm.HelmRenderer.__init__

    def helm_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["concurrency"] = limit
        original(self, *args, **kwargs)

    helm.HelmRenderer.__init__ = helm_init  # type: ignore[method-assign]


def _time_helm() -> None:
    """Record every helm process's start and end (the renderer's one entry point, ``run``)."""
    from mirror.helm import renderer

    original = renderer.HelmRenderer.run

    async def timed(self, args, *, what):  # type: ignore[no-untyped-def]
        started = time.time()
        try:
            return await original(self, args, what=what)
        finally:
            _HELM.append({"start": started, "end": time.time(), "args": list(args[:2]), "what": what})

    renderer.HelmRenderer.run = timed  # type: ignore[method-assign]


def peak_rss_kib() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for raw in status:
                if raw.startswith("VmHWM:"):
                    return int(raw.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class _PeakSnapshots:
    """Snapshots of the traced heap near its peak, taken from a daemon thread."""

    def __init__(self) -> None:
        import threading
        import tracemalloc

        tracemalloc.start(10)
        self.best = 0
        self.snapshot: object = None
        self.at_peak = 0
        self.every = float(os.environ.get("BENCH_TRACEMALLOC_EVERY", "30"))
        self.timeline: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        import tracemalloc

        started = time.monotonic()
        last = started
        while not self._stop.wait(1.0):
            current, _ = tracemalloc.get_traced_memory()
            if current > self.best * 1.05:
                self.snapshot = tracemalloc.take_snapshot()
                self.best = self.at_peak = current
            if time.monotonic() - last >= self.every:
                last = time.monotonic()
                top = tracemalloc.take_snapshot().statistics("lineno")[:12]
                self.timeline.append(f"at {last - started:.0f} s: traced {current / 2**20:.1f} MiB")
                self.timeline += [f"    {stat}" for stat in top]

    def write(self, path: str) -> None:
        import tracemalloc

        self._stop.set()
        self._thread.join()
        _, peak = tracemalloc.get_traced_memory()
        snapshot = self.snapshot or tracemalloc.take_snapshot()
        snapshot = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])  # type: ignore[attr-defined]
        lines = [f"traced peak {peak / 2**20:.1f} MiB; snapshot at {self.at_peak / 2**20:.1f} MiB", "", "by line:"]
        lines += [f"  {stat}" for stat in snapshot.statistics("lineno")[:30]]
        lines += ["", "by file:"]
        lines += [f"  {stat}" for stat in snapshot.statistics("filename")[:20]]
        lines += ["", "by traceback (top 8):"]
        for stat in snapshot.statistics("traceback")[:8]:
            lines.append(f"  {stat.size / 2**20:.1f} MiB in {stat.count} blocks")
            lines += [f"    {frame}" for frame in stat.traceback.format()[-12:]]
        lines += ["", f"every {self.every:g} s, the top sites:", *self.timeline]
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


def main() -> int:
    from mirror.cli import main as cli_main

    _MARKS["imported"] = time.time()
    timeline = os.environ.get("BENCH_TIMELINE")
    if timeline:
        _time_helm()
    if os.environ.get("BENCH_SEQUENTIAL") == "1":
        _helm_limit(1)
    profile = os.environ.get("BENCH_PROFILE")
    trace = os.environ.get("BENCH_TRACEMALLOC")
    peaks = _PeakSnapshots() if trace else None
    try:
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            code = profiler.runcall(cli_main, sys.argv[1:])
            profiler.dump_stats(profile)
        else:
            code = cli_main(sys.argv[1:])
    finally:
        if peaks is not None and trace:
            peaks.write(trace)
        _MARKS["exit"] = time.time()
        if timeline:
            with open(timeline, "w", encoding="utf-8") as handle:
                json.dump({"marks": _MARKS, "helm": _HELM}, handle)
        rss_file = os.environ.get("BENCH_RSS_FILE")
        if rss_file:
            with open(rss_file, "w", encoding="ascii") as handle:
                handle.write(str(peak_rss_kib()))
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
