"""``python -m bench [--quick]``: the image-mirror benchmark. See bench/RESULTS.md.

Full run (all 1,995 lines; the slow skopeo baselines on 300 of them; ~15 minutes on 2 cores)::

    python -m bench 2>&1 | tee /tmp/bench.log

Quick run (60 evenly spaced lines, slow baselines on 30 of them; 1–2 minutes once seeded)::

    python -m bench --quick

Everything listens on 127.0.0.1 only. Seeded source data is kept under
``--workdir`` (default ``/dev/shm/image-mirror-bench``) and reused; each run's
logs, reports and registries files go to ``<workdir>/runs/<time>/``, and the
results to ``results.json`` and ``report.md`` there (and ``--markdown`` /
``--json`` if given).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .report import render
from . import artifacts, biglayers, discovery_run, rancher2026, runner, startup
from .seed import read_lines
from .sync import Destination, Measurement, SyncBed, summarize_runs

from .discovery import SHARED_DATA

LIST = SHARED_DATA / "rancher-images-list-2024-12.txt"
SLOW = 60.0  # a scenario slower than this runs once, faster ones take the median of --repeats


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small deterministic subset (1–2 minutes)")
    parser.add_argument("--lines", type=int, help="use this many lines, evenly spaced (default: all; --quick: 60)")
    parser.add_argument("--baseline-lines", type=int,
                        help="lines for the slow cold/warm baselines (skopeo sync, --copier skopeo), evenly "
                             "spaced; compared per line (default 300; --quick: 30; 0 = all)")
    parser.add_argument("--sample", type=int, help="lines for the seed's per-line loop (default 100; --quick 8)")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="latency per request (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each scenario under a minute (median)")
    parser.add_argument("--jobs", type=int, help="image-mirror sync --jobs (default: the tool's default)")
    parser.add_argument("--extra-jobs", type=int, help="one more cold native run with this --jobs (e.g. 16)")
    parser.add_argument("--extra-concurrency", type=int,
                        help="one more warm no-op run with this concurrency for every host (e.g. 32)")
    parser.add_argument("--github-concurrency", type=int,
                        help="one more discovery run with the GitHub API host's concurrency set to N in the "
                             "registries file (experiment)")
    parser.add_argument("--images-list", type=Path, default=LIST, help=f"the list to mirror (default {LIST})")
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm/image-mirror-bench"))
    parser.add_argument("--skip", default="",
                        help="comma list of: startup,cold,skopeo,seedloop,warm,referrers,dashboard,missing,"
                             "discovery,biglayers,artifacts,rancher2026")
    parser.add_argument("--artifacts-copies", type=int,
                        help="copies of the config.yaml subset run one entry at a time (default 1000; --quick 150)")
    parser.add_argument("--profile", action="store_true", help="cProfile the cold and warm native runs")
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    if args.lines is None and args.quick:
        args.lines = 60
    if args.baseline_lines is None:
        args.baseline_lines = 30 if args.quick else 300
    # Repeat (median of --repeats) only what is quick enough: under a minute, or 3 s for --quick.
    args.slow = 3.0 if args.quick else SLOW
    if args.sample is None:
        args.sample = 8 if args.quick else 100
    if args.artifacts_copies is None:
        args.artifacts_copies = 150 if args.quick else 1000
    return args


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _subset(lines: list[Any], size: int | None) -> list[Any]:
    if size is None or size >= len(lines):
        return lines
    return [lines[i * len(lines) // size] for i in range(size)]


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def code_state() -> dict[str, str]:
    """Which mirror/ was measured: the commit, and a hash of the working tree's mirror/*.py."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted((root / "mirror").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return {"commit": _version(["git", "-C", str(root), "rev-parse", "--short", "HEAD"]),
            "mirror_tree_sha256": digest.hexdigest()[:16]}


def machine() -> dict[str, Any]:
    mem = "?"
    try:
        for raw in Path("/proc/meminfo").read_text().splitlines():
            if raw.startswith("MemTotal:"):
                mem = f"{int(raw.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = os.getloadavg()
    dpkg = _version(["dpkg-query", "-W", "-f=${Version}", "docker-registry"])
    return {
        "nproc": os.cpu_count(), "memory": mem, "kernel": platform.release(),
        "python": platform.python_version(), "skopeo": _version(["skopeo", "--version"]),
        "docker-registry": dpkg, "loadavg_at_start": [round(x, 2) for x in load],
    }


async def _repeat(make: Callable[[int], Awaitable[Measurement]], repeats: int, slow: float = SLOW) -> Measurement:
    runs = [await make(0)]
    if runs[0].wall < slow:
        for index in range(1, repeats):
            runs.append(await make(index))
    return summarize_runs(runs)


async def _main(args: argparse.Namespace) -> int:
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    runner.PYCACHE = args.workdir / "pycache"
    delay = args.delay_ms / 1000
    all_lines = read_lines(args.images_list)
    lines = _subset(all_lines, args.lines)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rundir = args.workdir / "runs" / stamp
    rundir.mkdir(parents=True, exist_ok=True)
    runs_root = args.workdir / "runs"
    # Keep the last few runs' logs, newest by modification time (bench.commits and bench.discovery_run
    # write their own runs-<name>-… directories here too), and never this run's.
    earlier = sorted((p for p in runs_root.iterdir() if p.is_dir() and p != rundir), key=lambda p: p.stat().st_mtime)
    for old in earlier[:-4]:
        shutil.rmtree(old, ignore_errors=True)
    if lines is all_lines:
        list_path = args.images_list
    else:
        list_path = rundir / "images-list"
        list_path.write_text("".join(line.text + "\n" for line in lines))
    info = {"machine": machine(), "delay_ms": args.delay_ms, "lines": len(lines), "all_lines": len(all_lines),
            "quick": args.quick, "sample": args.sample, "repeats": args.repeats, "jobs": args.jobs,
            "rundir": str(rundir), "images_list": str(args.images_list), "code": code_state()}
    _log(f"bench: {len(lines)} lines, {args.delay_ms:g} ms per request, run dir {rundir}")
    results: dict[str, Any] = {"info": info, "measurements": []}
    measurements: list[Measurement] = results["measurements"]
    if "startup" not in skip:  # first, before the seeded registries load the machine
        _log("start-up: python -c pass, image-mirror --version, image-mirror sort --check")
        results["startup"] = startup.measure(rundir / "startup", LIST, rounds=max(5, args.repeats))
        info["startup_seconds"] = results["startup"]["median"]["version"]
        _log(f"start-up medians: {results['startup']['median']}")
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []

    bed = SyncBed(workdir=args.workdir, rundir=rundir, lines=lines, list_path=list_path, delay=delay,
                  all_lines=len(all_lines), log=_log)
    await bed.start(lines)
    info["seed_seconds"] = round(bed.seed_seconds, 1)
    info["seeded_images"] = len(bed.source.index.images)
    info["expected_blob_pairs"] = bed.expected_blob_pairs()
    info["destination_repositories"] = bed.destination_repositories()
    info["source_repositories"] = bed.source_repositories()
    info["source_images"] = len({(line.source_image.name, line.tag) for line in lines})
    try:
        kept: Destination | None = None
        if "cold" not in skip:
            _log("cold sync, image-mirror --copier native")

            async def cold_native(index: int) -> Measurement:
                nonlocal kept
                dest = await Destination(delay, "dest").start()
                m = await bed.image_mirror(dest, "cold", f"cold-native-{index}", "--copier", "native", *jobs)
                if kept is not None:
                    await kept.stop()
                kept = dest
                return m

            measurements.append(await _repeat(cold_native, args.repeats, args.slow))
            if args.extra_jobs:
                _log(f"cold sync, image-mirror --copier native --jobs {args.extra_jobs}")
                dest = await Destination(delay, "dest").start()
                m = await bed.image_mirror(dest, "cold", f"cold-native-jobs{args.extra_jobs}", "--copier", "native",
                                           "--jobs", str(args.extra_jobs))
                m.tool += f" --jobs {args.extra_jobs}"
                measurements.append(m)
                await dest.stop()

        if kept is not None and "warm" not in skip:
            _log("warm no-op, image-mirror --copier native")
            measurements.append(await _repeat(
                lambda i: bed.image_mirror(kept, "warm", f"warm-native-{i}", "--copier", "native", *jobs),
                args.repeats, args.slow))
            if args.extra_concurrency:
                _log(f"warm no-op, image-mirror, concurrency {args.extra_concurrency} for every host")
                measurements.append(await _repeat(
                    lambda i: bed.image_mirror(kept, "warm", f"warm-native-c{args.extra_concurrency}-{i}",
                                               "--copier", "native", *jobs, concurrency=args.extra_concurrency),
                    args.repeats, args.slow))
            if "referrers" not in skip:
                _log("warm no-op, image-mirror --referrers (issue 22: what looking for referrers adds)")
                measurements.append(await _repeat(
                    lambda i: bed.image_mirror(kept, "warm", f"warm-referrers-{i}", "--copier", "native",
                                               "--referrers", *jobs),
                    args.repeats, args.slow))
            if "dashboard" not in skip:
                measurements += await _dashboard_vs_json(bed, kept, jobs, args.repeats)
            if args.profile:  # an extra run under cProfile, not measured
                _log("warm no-op under cProfile (not measured)")
                await bed.image_mirror(kept, "warm", "warm-native-profiled", "--copier", "native", *jobs,
                                       profile=rundir / "warm-native.prof")
            if "seedloop" not in skip:
                _log(f"warm no-op, the seed's loop on {args.sample} lines")
                measurements.append(await bed.seed_loop(kept, "warm", args.sample))
        if kept is not None and "missing" not in skip:
            _log("warm --missing, image-mirror")
            measurements.append(await _repeat(
                lambda i: bed.image_mirror(kept, "missing", f"missing-native-{i}", "--missing", *jobs),
                args.repeats, args.slow))
        if kept is not None:
            await kept.stop()

        base = bed.subset(_subset(lines, args.baseline_lines or None), "baseline")
        info["baseline_lines"] = len(base.lines)
        if args.profile and "cold" not in skip:  # an extra run under cProfile, not measured
            _log(f"cold sync under cProfile on {len(base.lines)} lines (not measured)")
            dest = await Destination(delay, "dest").start()
            await base.image_mirror(dest, "cold", "cold-native-profiled", "--copier", "native", *jobs,
                                    profile=rundir / "cold-native.prof")
            await dest.stop()
        if "skopeo" not in skip:
            if base is not bed and "cold" not in skip:
                _log(f"cold sync, image-mirror --copier native on the {len(base.lines)} baseline lines")
                dest = await Destination(delay, "dest").start()
                m = await base.image_mirror(dest, "cold", "cold-native-baseline-set", "--copier", "native", *jobs)
                m.tool += " (baseline set)"
                measurements.append(m)
                await dest.stop()
            _log(f"cold sync, image-mirror --copier skopeo ({len(base.lines)} lines)")
            dest = await Destination(delay, "dest").start()
            measurements.append(await base.image_mirror(dest, "cold", "cold-skopeo-copier", "--copier", "skopeo",
                                                        *jobs))
            await dest.stop()
            _log(f"cold sync, skopeo sync --all ({len(base.lines)} lines)")
            dest = await Destination(delay, "dest").start()
            measurements.append(await base.skopeo_sync(dest, "cold", "cold-skopeo-sync"))
            if "warm" not in skip:
                _log("warm no-op, skopeo sync --all")
                measurements.append(await _repeat(lambda i: base.skopeo_sync(dest, "warm", f"warm-skopeo-sync-{i}"),
                                                  args.repeats, args.slow))
            await dest.stop()

        if "seedloop" not in skip:
            _log(f"cold sync, the seed's loop on {args.sample} lines")
            dest = await Destination(delay, "dest").start()
            measurements.append(await bed.seed_loop(dest, "cold", args.sample))
            await dest.stop()
    finally:
        await bed.stop()

    if "discovery" not in skip:
        _log("discovery: the bound, then the default and sequential shapes interleaved")
        results["discovery"], more = await discovery_run.measure(
            rundir=rundir, delay=delay, repeats=args.repeats, log=_log, images_list=args.images_list,
            github=[args.github_concurrency] if args.github_concurrency else [])
        measurements += more

    if "biglayers" not in skip:
        _log("big layers: image-mirror beside skopeo sync")
        results["biglayers"] = await biglayers.measure(rundir, _log, repeats=1 if args.quick else args.repeats)
    if "artifacts" not in skip:
        _log("artifacts: Rancher's config.yaml, warm")
        results["artifacts"], more = await artifacts.measure(
            workdir=args.workdir, rundir=rundir, delay=delay, log=_log, repeats=args.repeats, slow=args.slow,
            copies=args.artifacts_copies, quick=args.quick)
        measurements += more
    if "rancher2026" not in skip:
        _log("rancher2026: the 2024 list to three destination organisations (python -m bench.rancher2026 "
             "alone for the --jobs sweep)")
        results["rancher2026"] = await rancher2026.measure(
            workdir=args.workdir, rundir=rundir, delay=delay, log=_log, lines=args.lines,
            jobs=(args.jobs or rancher2026.tool_default_jobs(),))

    if args.profile:
        results["profiles"] = _profiles(rundir)
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    doc = {"info": info, "measurements": [m.as_json() for m in measurements],
           "profiles": results.get("profiles", {}), "startup": results.get("startup"),
           "biglayers": results.get("biglayers"), "discovery": results.get("discovery"),
           "artifacts": results.get("artifacts"), "rancher2026": results.get("rancher2026")}
    (rundir / "results.json").write_text(json.dumps(doc, indent=2, default=str))
    markdown = render(doc)
    (rundir / "report.md").write_text(markdown)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2, default=str))
    if args.markdown:
        args.markdown.write_text(markdown)
    print(markdown)
    _log(f"results in {rundir}")
    startup_ok = not results.get("startup", {}).get("failed")
    shaped_ok = rancher2026.all_ok(results["rancher2026"]) if results.get("rancher2026") else True
    return 0 if all(m.ok for m in measurements) and startup_ok and shaped_ok else 1


async def _dashboard_vs_json(bed: SyncBed, dest: Destination, jobs: list[str], repeats: int) -> list[Measurement]:
    """The warm no-op with the rich dashboard on a pseudo-terminal against ``--log-format json``,
    interleaved (json, dashboard, json, dashboard, ...) so drift in the machine's load hits both;
    the median of each, and the ratio of the medians of the process wall times."""
    _log(f"warm no-op, dashboard on a pty vs --log-format json, interleaved, {repeats} each")
    json_runs: list[Measurement] = []
    pty_runs: list[Measurement] = []
    for index in range(repeats):
        json_runs.append(await bed.image_mirror(dest, "warm", f"warm-json-{index}", "--copier", "native", *jobs))
        pty_runs.append(await bed.image_mirror(dest, "warm", f"warm-dashboard-{index}", "--copier", "native", *jobs,
                                               terminal=True))
    as_json, dashboard = summarize_runs(json_runs), summarize_runs(pty_runs)
    ratio = dashboard.wall / as_json.wall
    dashboard.note = (f"{ratio:.3f}x the --log-format json median ({dashboard.wall:.2f} s vs {as_json.wall:.2f} s; "
                      f"runs {[round(m.wall, 2) for m in pty_runs]} vs {[round(m.wall, 2) for m in json_runs]})")
    _log(f"  dashboard / json: {dashboard.note}")
    return [as_json, dashboard]


def _profiles(rundir: Path) -> dict[str, str]:
    import io
    import pstats

    out = {}
    for path in sorted(rundir.glob("*.prof")):
        buffer = io.StringIO()
        stats = pstats.Stats(str(path), stream=buffer)
        stats.sort_stats("cumulative").print_stats(25)
        buffer.write("\n--- by own time ---\n")
        stats.sort_stats("tottime").print_stats(20)
        out[path.stem] = buffer.getvalue()
        (rundir / f"{path.stem}.txt").write_text(buffer.getvalue())
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
