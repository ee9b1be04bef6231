"""Rancher-2026-shaped sync: the real 2024 list, every line to three destination organisations.

Rancher's 2026 layout copies each artifact to three default targets; the same shape on the
seed's format is the 2024 ``images-list`` (read in place from the shared data) with every line
written three times, to ``mirror-a/…``, ``mirror-b/…`` and ``mirror-c/…`` (1,995 × 3 = 5,985
lines, one generated list in the run directory). Sources are the seeded loopback registry of
:mod:`bench.seed` (two-platform images with small blobs) behind the latency proxy; each run
gets a fresh destination ``docker-registry`` behind its own counting proxy (:mod:`bench.proxy`).

``image-mirror`` runs as ``/usr/bin/time -v python -m mirror … sync`` (:mod:`bench.timed`): the
CLI itself, not the benchmark's wrapper, so its peak RSS is ``time``'s maximum resident set
size of that process (``time`` is a small parent: nothing large is carried across the fork).
A sampler also reads ``VmRSS``/``VmHWM`` of the python process every 100 ms: the memory over
the run (where it grows: planning, copying, the report).

Runs:

* cold (empty destination) for each ``--jobs`` value, the first of them the reference (each
  run's VmRSS samples go to ``<name>.rss.tsv`` in the run directory);
* warm no-op on the first cold run's destination (everything present);
* one destination organisation (1,995 lines), cold: destination requests per copied
  two-platform line, at the destination's proxy;
* the same work as 1,995 lines × 3 ``--target``s (issue 18), cold into a fresh destination and
  then warm: source requests and blob GETs ÷ distinct blobs (the source proxy counts GETs per
  digest) beside the 5,985-line form;
* ``--debug-memory``: one more cold run under ``tracemalloc`` (``bench._cli`` with
  ``BENCH_TRACEMALLOC``), the top allocation sites at the traced peak (slow; not measured).

``python -m bench.rancher2026 [--lines N] [--jobs 4,8,16,32] [--debug-memory]``; ``python -m
bench`` runs it with the tool's default ``--jobs`` only, unless ``--skip rancher2026``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirror.imageslist import Line

from .discovery import SHARED_DATA
from .runner import base_env, image_mirror_argv
from .seed import REPO_ROOT, read_lines  # also puts the repository root on sys.path for ``tests``
from .sync import Destination, SyncBed
from .timed import MIB, run_timed

__all__ = ["LIST", "ORGS", "Run", "all_ok", "measure", "render", "tool_default_jobs", "tripled"]

LIST = SHARED_DATA / "rancher-images-list-2024-12.txt"
ORGS = ("mirror-a", "mirror-b", "mirror-c")
SCENARIO = "rancher2026"
JOBS = (4, 8, 16, 32)
#: The issue's targets (issue 17).
COLD_MIB, WARM_MIB, REQUESTS_PER_LINE = 120.0, 60.0, 12.5


def tripled(lines: list[Line], orgs: tuple[str, ...] = ORGS) -> str:
    """Each line once per organisation: the destination's first path component replaced."""
    out = []
    for line in lines:
        source, destination, tag = line.text.split()
        rest = destination.split("/", 1)[1]
        out += [f"{source} {org}/{rest} {tag}\n" for org in orgs]
    return "".join(out)


def subset(lines: list[Line], size: int | None) -> list[Line]:
    """``size`` evenly spaced lines (all when ``size`` is None or larger than the list)."""
    if size is None or size >= len(lines):
        return lines
    return [lines[i * len(lines) // size] for i in range(size)]


@dataclass
class Run:
    """One ``python -m mirror sync`` under ``/usr/bin/time -v``."""

    name: str
    lines: int
    jobs: int
    wall: float
    returncode: int
    rss_mib: float | None  # time -v: maximum resident set size of the python process
    hwm_mib: float | None  # the sampler's last VmHWM (a cross-check; misses a peak in the last 100 ms)
    cpu: float | None
    totals: dict[str, Any]
    destination: dict[str, Any]
    source_requests: int
    #: (seconds since start, VmRSS MiB), every 100 ms
    samples: list[tuple[float, float]] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)  # the source proxy's snapshot
    note: str = ""
    loadavg: list[float] = field(default_factory=list)  # 1-minute load average before and after

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.totals.get("failed", 1) == 0

    @property
    def copied(self) -> int:
        return int(self.totals.get("copied", 0))

    def rss_at(self, fraction: float) -> float | None:
        """VmRSS at ``fraction`` of the wall time (the sample just before it)."""
        if not self.samples:
            return None
        cut = self.samples[-1][0] * fraction
        before = [rss for at, rss in self.samples if at <= cut]
        return before[-1] if before else self.samples[0][1]

    def as_json(self) -> dict[str, Any]:
        doc = {k: v for k, v in self.__dict__.items() if k != "samples"}
        doc["rss_timeline"] = {f"{p:.0%}": self.rss_at(p) for p in (0.1, 0.25, 0.5, 0.75, 0.9, 1.0)}
        return doc


class Bed:
    """The seeded source side of :mod:`bench.sync`, and the generated lists of this scenario."""

    def __init__(self, *, workdir: Path, rundir: Path, base: list[Line], delay: float,
                 log: Callable[[str], None]) -> None:
        self.rundir = rundir / SCENARIO
        self.rundir.mkdir(parents=True, exist_ok=True)
        self.base = base
        self.log = log
        self.delay = delay
        self.lists = {}
        for label, orgs in (("three", ORGS), ("one", ORGS[:1])):
            path = self.rundir / f"images-list-{label}"
            path.write_text(tripled(base, orgs))
            self.lists[label] = path
        self.sync = SyncBed(workdir=workdir, rundir=self.rundir, lines=base, list_path=self.lists["three"],
                            delay=delay, all_lines=len(base), log=log)
        self.home = self.rundir / "home"

    async def start(self) -> None:
        await self.sync.start(self.base)

    async def stop(self) -> None:
        await self.sync.stop()

    def lines_in(self, label: str) -> int:
        return len(ORGS if label == "three" else ORGS[:1]) * len(self.base)

    async def image_mirror(self, dest: Destination, label: str, name: str, jobs: int | None,
                           trace: Path | None = None, targets: tuple[str, ...] = ()) -> Run:
        """One sync of list ``label`` into ``dest``; ``jobs`` None leaves the tool's default.
        ``targets``: ``--target`` values instead of ``DEST_REGISTRY_OVERRIDE`` (every line of the
        list goes to each of them)."""
        registries = self.sync.registries_file(dest, name)
        report = self.rundir / f"{name}.report.json"
        report.unlink(missing_ok=True)
        extra = {"PYTHONPATH": str(REPO_ROOT)}
        if not targets:
            extra["DEST_REGISTRY_OVERRIDE"] = "registry.mirror.test"
        cli = [sys.executable, "-m", "mirror"]
        if trace is not None:
            extra["BENCH_TRACEMALLOC"] = str(trace)
            cli = image_mirror_argv()
        env = base_env(self.home, extra)
        argv = [*cli, "--registries", str(registries), "--images-list", str(self.lists[label]), "--no-cache",
                "--log-format", "json", "sync", "--report", str(report), *(["--jobs", str(jobs)] if jobs else []),
                *(arg for target in targets for arg in ("--target", target))]
        self.sync.src_proxy.reset()
        dest.proxy.reset()
        load_before = os.getloadavg()[0]
        timed = await asyncio.to_thread(run_timed, argv, env=env, logdir=self.rundir / "logs", name=name,
                                        cwd=REPO_ROOT)
        code, wall, fields, samples, hwm = timed.returncode, timed.wall, timed.fields, timed.samples, timed.hwm_kib
        src, dst = self.sync.src_proxy.reset(), dest.proxy.reset()
        totals: dict[str, Any] = {}
        try:
            totals = json.loads(report.read_text())["totals"]
        except (OSError, ValueError, KeyError):
            pass
        rss = fields.get("Maximum resident set size (kbytes)")
        cpu = None
        if "User time (seconds)" in fields:
            cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
        result = Run(name, self.lines_in(label) * max(1, len(targets)), jobs or 0, wall, code,
                     int(rss) / MIB if rss else None, hwm / MIB if hwm else None, cpu, totals, dst.snapshot(),
                     src.total, samples, loadavg=[round(load_before, 2), round(os.getloadavg()[0], 2)],
                     source=src.snapshot())
        (self.rundir / f"{name}.rss.tsv").write_text("".join(f"{at:.2f}\t{rss:.1f}\n" for at, rss in samples))
        if not result.ok:
            tail = (self.rundir / "logs" / f"{name}.stderr").read_text(errors="replace").strip().splitlines()[-5:]
            result.note = f"exit {code}: " + " | ".join(tail)
        self.log(f"  {name}: {wall:.1f}s, {result.copied} copied, rss {result.rss_mib and round(result.rss_mib, 1)}"
                 f" MiB, {dst.total} destination requests, ok={result.ok} {result.note[:300]}")
        return result


def tool_default_jobs() -> int:
    """``sync --jobs``'s default, read from the tool's own help (so a changed default is seen)."""
    out = subprocess.run([sys.executable, "-m", "mirror", "sync", "--help"], capture_output=True, text=True,
                         cwd=str(REPO_ROOT), check=False, env={**os.environ, "COLUMNS": "200"}).stdout
    found = re.search(r"--jobs N\s+copies at the same time.*?\(default (\d+)", out, re.S)
    return int(found.group(1)) if found else 4


async def measure(*, workdir: Path, rundir: Path, delay: float, log: Callable[[str], None], lines: int | None,
                  jobs: tuple[int, ...], cold: bool = True, warm: bool = True, one: bool = True,
                  targets: bool = True, debug_memory: bool = False) -> dict[str, Any]:
    """The runs above; a JSON-ready document (``render`` turns it into the table)."""
    base = subset(read_lines(LIST), lines)
    bed = Bed(workdir=workdir, rundir=rundir, base=base, delay=delay, log=log)
    default = tool_default_jobs()
    doc: dict[str, Any] = {"base_lines": len(base), "lines": bed.lines_in("three"), "orgs": list(ORGS),
                           "delay_ms": delay * 1000, "default_jobs": default, "cold": [], "list": str(LIST)}
    await bed.start()
    # Compile mirror/ into the bytecode cache first, so the first measured run does not pay for it.
    await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "mirror", "sync", "--help"], cwd=str(REPO_ROOT),
                            env=base_env(bed.home, {"PYTHONPATH": str(REPO_ROOT)}), capture_output=True, check=False)
    doc["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    try:
        kept: Destination | None = None
        for number in jobs if cold else ():
            dest = await Destination(delay, "dest").start()
            log(f"rancher2026: cold sync, {bed.lines_in('three')} lines, --jobs {number}")
            doc["cold"].append((await bed.image_mirror(dest, "three", f"cold-jobs{number}", number)).as_json())
            if kept is None:
                kept = dest
            else:
                await dest.stop()
        if kept is not None and warm:
            log(f"rancher2026: warm no-op, --jobs {jobs[0]}")
            doc["warm"] = (await bed.image_mirror(kept, "three", f"warm-jobs{jobs[0]}", jobs[0])).as_json()
        if kept is not None:
            await kept.stop()
        if targets:
            # The same work as 1,995 lines x 3 --targets (issue 18): cold into a fresh destination, then warm.
            given = tuple(f"registry.mirror.test/{org}" for org in ORGS)
            dest = await Destination(delay, "dest").start()
            log(f"rancher2026: cold sync, {bed.lines_in('one')} lines x {len(given)} --target, --jobs {jobs[0]}")
            doc["targets-cold"] = (await bed.image_mirror(dest, "one", f"targets-cold-jobs{jobs[0]}", jobs[0],
                                                          targets=given)).as_json()
            log(f"rancher2026: warm no-op, {bed.lines_in('one')} lines x {len(given)} --target")
            doc["targets-warm"] = (await bed.image_mirror(dest, "one", f"targets-warm-jobs{jobs[0]}", jobs[0],
                                                          targets=given)).as_json()
            await dest.stop()
        if one:
            dest = await Destination(delay, "dest").start()
            log(f"rancher2026: cold sync, one organisation ({bed.lines_in('one')} lines), --jobs {jobs[0]}")
            doc["one"] = (await bed.image_mirror(dest, "one", f"one-cold-jobs{jobs[0]}", jobs[0])).as_json()
            await dest.stop()
        if debug_memory:
            dest = await Destination(delay, "dest").start()
            trace = bed.rundir / "tracemalloc.txt"
            log(f"rancher2026: cold sync under tracemalloc (slow, not measured) -> {trace}")
            doc["tracemalloc_run"] = (await bed.image_mirror(dest, "three", "cold-traced", jobs[0],
                                                             trace=trace)).as_json()
            doc["tracemalloc"] = trace.read_text() if trace.is_file() else ""
            await dest.stop()
    finally:
        await bed.stop()
    doc["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    (bed.rundir / "results.json").write_text(json.dumps(doc, indent=2, default=str))
    return doc


def _mib(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _per_copied(run: dict[str, Any]) -> float | None:
    copied = int(run["totals"].get("copied", 0))
    return run["destination"]["total"] / copied if copied else None


def render(doc: dict[str, Any]) -> str:
    """The compact table: one row per run, then the targets."""
    rows = ["| run | lines | --jobs | wall s | copied | peak RSS MiB | RSS at 25/50/75% MiB | destination requests "
            "| per copied line | CPU s | load 1 min | ok |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    runs = [("cold", r) for r in doc["cold"]]
    runs += [(kind, doc[kind]) for kind in ("warm", "one", "targets-cold", "targets-warm") if kind in doc]
    for kind, r in runs:
        timeline = r["rss_timeline"]
        per = _per_copied(r)
        rows.append(f"| {kind} ({r['name']}) | {r['lines']} | {r['jobs'] or doc['default_jobs']} | {r['wall']:.1f} "
                    f"| {r['totals'].get('copied', '–')} | {_mib(r['rss_mib'])} "
                    f"| {' / '.join(_mib(timeline.get(p)) for p in ('25%', '50%', '75%'))} "
                    f"| {r['destination']['total']:,} | {'–' if per is None else f'{per:.2f}'} "
                    f"| {_mib(r['cpu'])} | {' → '.join(map(str, r.get('loadavg', []))) or '–'} "
                    f"| {'yes' if _ok(r) else 'NO'} |")
    out = "\n".join(rows) + "\n"
    cold = doc["cold"][0] if doc["cold"] else None
    checks = []
    if cold is not None:
        checks.append(("cold peak RSS ≤ 120 MiB", _mib(cold["rss_mib"]), (cold["rss_mib"] or 1e9) <= COLD_MIB))
    if "warm" in doc:
        warm = doc["warm"]["rss_mib"]
        checks.append(("warm peak RSS ≤ 60 MiB", _mib(warm), (warm or 1e9) <= WARM_MIB))
    if "one" in doc:
        per = _per_copied(doc["one"])
        checks.append(("≤ 12.5 destination requests per copied two-platform line (one organisation)",
                       "–" if per is None else f"{per:.2f}", per is not None and per <= REQUESTS_PER_LINE))
    out += _forms(doc)
    if checks:
        out += "\n| target | measured | met |\n|---|---|---|\n"
        out += "".join(f"| {what} | {value} | {'yes' if met else '**no**'} |\n" for what, value, met in checks)
    if len(doc["cold"]) > 1:
        best = min(doc["cold"], key=lambda r: r["wall"])
        out += f"\nFastest cold run: --jobs {best['jobs']} ({best['wall']:.1f} s).\n"
    return out


def _forms(doc: dict[str, Any]) -> str:
    """5,985 one-destination lines beside 1,995 lines x 3 --targets: what the source and the
    destination saw (issue 18: blob GETs / distinct blobs = 1.00 for the --target form)."""
    lines, form = f"{doc['lines']:,} lines", f"{doc['base_lines']:,} × {len(ORGS)} --target"
    pairs = [(f"{lines}, cold", doc["cold"][0] if doc["cold"] else None), (f"{form}, cold", doc.get("targets-cold")),
             (f"{lines}, warm", doc.get("warm")), (f"{form}, warm", doc.get("targets-warm"))]
    rows = [f"| {label} | {r['source'].get('total', r['source_requests']):,} "
            f"| {_ratio(r['source'])} | {r['destination']['total']:,} | {r['wall']:.1f} | {_mib(r['rss_mib'])} "
            f"| {'yes' if _ok(r) else 'NO'} |" for label, r in pairs if r is not None and r.get("source")]
    if not rows:
        return ""
    return ("\n| form | source requests | blob GETs ÷ distinct blobs | destination requests | wall s | peak RSS MiB "
            "| ok |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def _ratio(source: dict[str, Any]) -> str:
    digests = source.get("blob_get_digests") or 0
    return f"{source.get('blob_gets', 0) / digests:.2f} ({source.get('blob_gets', 0):,} / {digests:,})" if digests else "–"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rancher2026", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, help="evenly spaced lines of the 2024 list, each written "
                                                  "three times (default: all 1,995 -> 5,985)")
    parser.add_argument("--jobs", default=",".join(map(str, JOBS)),
                        help="comma list of --jobs for the cold runs; the first is also used for the warm and "
                             "one-organisation runs (default 4,8,16,32; 'default' = the tool's default)")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="latency per request (default 20)")
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm/image-mirror-bench-rancher2026"),
                        help="seeded source data (kept) and the run directories")
    parser.add_argument("--skip", default="", help="comma list of: cold (then no warm either),warm,one,targets")
    parser.add_argument("--debug-memory", action="store_true",
                        help="one more cold run under tracemalloc: the top allocation sites at the peak")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args(argv)


def parse_jobs(text: str) -> tuple[int, ...]:
    values = []
    for item in text.split(","):
        item = item.strip()
        values.append(tool_default_jobs() if item == "default" else int(item))
    return tuple(values)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    rundir = args.workdir / "runs" / time.strftime("%Y%m%d-%H%M%S")
    rundir.mkdir(parents=True, exist_ok=True)
    import bench.runner

    bench.runner.PYCACHE = args.workdir / "pycache"
    from . import __main__ as bench_main

    doc = asyncio.run(measure(workdir=args.workdir, rundir=rundir, delay=args.delay_ms / 1000, log=_log,
                              lines=args.lines, jobs=parse_jobs(args.jobs), cold="cold" not in skip,
                              warm="warm" not in skip,
                              one="one" not in skip, targets="targets" not in skip,
                              debug_memory=args.debug_memory))
    doc["code"] = bench_main.code_state()
    if os.environ.get("BENCH_COMMIT"):  # a copy of the tree outside git (run while the work tree changes)
        doc["code"]["commit"] = os.environ["BENCH_COMMIT"]
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2, default=str))
    print(f"Rancher-2026-shaped sync: {doc['lines']} lines ({doc['base_lines']} × {len(ORGS)} organisations), "
          f"{doc['delay_ms']:g} ms per request, commit {doc['code']['commit']}\n")
    print(render(doc))
    if doc.get("tracemalloc"):
        print("tracemalloc, top allocation sites at the traced peak:\n" + doc["tracemalloc"])
    return 0 if all_ok(doc) else 1


def all_ok(doc: dict[str, Any]) -> bool:
    """Every measured run exited 0 with no failed line."""
    runs = doc["cold"] + [doc[k] for k in ("warm", "one") if k in doc]
    return all(_ok(r) for r in runs)


def _ok(run: dict[str, Any]) -> bool:
    return bool(run["returncode"] == 0 and run["totals"].get("failed", 1) == 0)


if __name__ == "__main__":
    sys.exit(main())
