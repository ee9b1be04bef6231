"""Discovery on Rancher's 22-entry config beside the seed's sequential shape and its critical-path bound.

``python -m bench.discovery_run [--delay-ms 30] [--repeats 5] [--github 4,8,16,32]`` (about a
minute; ``python -m bench`` runs the same bed as its ``discovery`` scenario). The default and
the sequential shape run interleaved, so drift in the machine's load hits both alike; each is
the median of ``--repeats`` runs. Every run leaves ``logs/<run>.timeline.txt`` (see
:mod:`bench.timeline`): each request at the proxies, each helm process, start-up marks.

**The bound** is what no implementation of discovery on this stack can avoid:

* *start-up*: ``python -c "import aiohttp"``, timed here in the same environment (the best of
  7 runs, as every time in the bound: it is a floor, the machine's load only adds to it): the
  interpreter and the HTTP library (with the TLS contexts it builds on import) that any
  request of ours needs; the seed pays the same for Python and ``requests``;
* *the longest chain* of steps that wait on each other, at ``delay`` per request:
  a registry's tag pages (``Link: rel="next"``, one after another), GitHub's release page then
  what it names (the remaining pages, or each release's images file, at once), and a Helm
  chart's index, then its archive, then its renders. A render is CPU: each chart version's
  ``helm template`` runs are timed here alone, and the chain gets the longer of one render and
  all renders of the run spread over the machine's cores (they run at the same time).

The bound is start-up + the longest chain. The engine (first event to ``discover.done``) is
compared with the chain alone, the wall time with the whole bound.
"""

from __future__ import annotations

import argparse
import asyncio
from contextlib import ExitStack
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .commits import checkout, launcher
from .discovery import TAG_PAGE, DiscoveryBed
from .runner import base_env, run_sync
from .sync import Measurement, summarize_runs

from mirror import helm as helmlib  # noqa: E402  (bench.discovery put the repository root on sys.path)
from tests.support.charts import find_helm  # noqa: E402
from tests.support.data import REAL_LIST  # noqa: E402

__all__ = ["bound", "main", "measure"]

PER_PAGE = 100  # GitHub's page size (mirror.github.PER_PAGE)


def _best_wall(argv: list[str], env: dict[str, str], logdir: Path, name: str, rounds: int = 7) -> float:
    walls = [run_sync(argv, env=env, logdir=logdir, name=f"{name}-{i}").wall for i in range(rounds + 1)]
    return min(walls[1:])  # a floor: the best case (the first run writes bytecode)


def _chart_jobs(bed: DiscoveryBed) -> list[tuple[str, str, list[str]]]:
    """(repository, archive path, --set values) of every render a run makes: the newest version of
    each configured chart, once per chartConfig (or once plainly)."""
    jobs = []
    for entry in bed.config.values():
        kind, _, url = entry["versionSource"].partition(":")
        if kind != "helm-latest":
            continue
        base = {"docs.tigera.io": "/calico/charts", "helm.cilium.io": "/cilium"}[url.split("/")[2]]
        for chart, spec in entry["helmCharts"].items():
            archives = {path.rsplit("-", 1)[1].removesuffix(".tgz"): path for path in bed.chart_files
                        if path.startswith(f"{base}/{chart}-")}
            newest = helmlib.select_version(archives)
            assert newest is not None
            configs = spec.get("chartConfig") or {"(plain)": {}}
            jobs += [(base, archives[newest], list(c.get("values", []))) for c in configs.values()]
    return jobs


def render_seconds(bed: DiscoveryBed, workdir: Path, rounds: int = 5) -> dict[str, list[float]]:
    """Each render alone, one at a time, best of ``rounds``: ``helm template`` of the archive, as the
    renderer runs it."""
    helm = find_helm()
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
        for sub in ("config", "cache", "data"):
            (home / sub).mkdir()
            env[f"HELM_{sub.upper()}_HOME"] = str(home / sub)
        for base, path, values in _chart_jobs(bed):
            archive = home / path.rsplit("/", 1)[1]
            archive.write_bytes(bed.chart_files[path])
            argv = [helm, "template", "image-mirror", str(archive), "--namespace=default",
                    *(f"--set={v}" for v in values)]
            times = []
            for _ in range(rounds + 1):
                started = time.monotonic()
                subprocess.run(argv, env=env, capture_output=True, check=True)
                times.append(time.monotonic() - started)
            out.setdefault(base, []).append(min(times[1:]))  # a floor: the best case
    return out


def _release_count(bed: DiscoveryBed, repo: str) -> int:
    return len(bed.github.repos[repo.lower()].releases)


def bound(bed: DiscoveryBed, delay: float, renders: dict[str, list[float]], startup: float) -> dict[str, Any]:
    """The chains of this config (seconds each), the longest, and start-up + the longest."""
    chains: dict[str, float] = {}
    for repo, tags in bed.tags.items():
        pages = math.ceil(len(tags) / TAG_PAGE)
        chains[f"{repo.rsplit('/', 1)[1]}: {pages} tag pages"] = pages * delay
    for entry in bed.config.values():
        kind, _, repo = entry["versionSource"].partition(":")
        if kind in ("github-releases", "github-tagged-images-file"):
            steps = 1 + (math.ceil(_release_count(bed, repo) / PER_PAGE) > 1) + (kind == "github-tagged-images-file")
            chains[f"{repo}: {steps} GitHub requests"] = steps * delay
    cores = os.cpu_count() or 1
    every = [seconds for times in renders.values() for seconds in times]
    for base, times in renders.items():
        chains[f"{base}: index, archive, its slowest render"] = 2 * delay + max(times)
    # No render can start before an index and an archive have come back, and all of them share the cores.
    chains[f"helm: index, archive, then all {len(every)} renders on {cores} cores"] = 2 * delay + sum(every) / cores
    longest = max(chains, key=lambda k: chains[k])
    return {"chains": {k: round(v, 3) for k, v in chains.items()}, "longest": longest,
            "chain": round(chains[longest], 3), "startup": round(startup, 3),
            "bound": round(startup + chains[longest], 3), "renders": renders, "cores": cores,
            "network_only": round(max(v for k, v in chains.items() if "render" not in k), 3)}


def _phases(runs: list[Measurement]) -> dict[str, float]:
    keys = sorted({k for r in runs for k in r.extra.get("phases", {})})
    out = {}
    for key in keys:
        values = [r.extra["phases"][key] for r in runs if key in r.extra.get("phases", {})]
        out[key] = round(statistics.median(values), 3)
    return out


def _shape(runs: list[Measurement]) -> dict[str, Any]:
    peaks = {name: max(int(r.extra["requests"][name]["peak_in_flight"]) for r in runs) for name in runs[0].extra["requests"]}
    return {"wall": round(statistics.median(r.wall for r in runs), 3), "walls": [round(r.wall, 3) for r in runs],
            "engine": round(statistics.median(r.engine or 0 for r in runs), 3),
            "engines": [r.engine for r in runs], "requests": runs[0].requests,
            "ok": all(r.ok for r in runs), "cpu": round(statistics.median(r.cpu or 0 for r in runs), 3),
            "rss_mib": max(r.rss_mib or 0 for r in runs), "peak_in_flight": peaks, "phases": _phases(runs),
            "stdout_sha256": sorted({r.extra.get("stdout_sha256", "") for r in runs})}


async def measure(*, rundir: Path, delay: float, repeats: int, github: list[int], log: Any,
                  images_list: Path = REAL_LIST, old: tuple[str, Path] | None = None,
                  ) -> tuple[dict[str, Any], list[Measurement]]:
    """The bound, then the shapes interleaved; the document and each shape's median run.

    ``old``: (commit, checkout) of an earlier commit, run in the default shape as one more shape.
    """
    bed = DiscoveryBed(rundir=rundir, delay=delay, images_list=images_list, log=log)
    await bed.start()
    env = base_env(rundir / "home")
    logdir = rundir / "logs"
    try:
        floors = {"python -c pass": await asyncio.to_thread(_best_wall, [sys.executable, "-c", "pass"], env, logdir,
                                                              "floor-pass"),
                  "python -c 'import aiohttp'": await asyncio.to_thread(
                      _best_wall, [sys.executable, "-c", "import aiohttp"], env, logdir, "floor-aiohttp")}
        renders = await asyncio.to_thread(render_seconds, bed, rundir)
        limit = bound(bed, delay, renders, floors["python -c 'import aiohttp'"])
        log(f"bound: {limit}")
        await bed.discover("discover-warmup", sequential=False)  # bytecode, helm's page cache
        shapes: dict[str, list[Measurement]] = {"default": [], "sequential": []}
        shapes.update({f"github {c}": [] for c in github})
        if old is not None:
            shapes[f"old {old[0][:10]}"] = []
        names = list(shapes)
        for index in range(repeats):
            for name in names if index % 2 == 0 else names[::-1]:
                concurrency = int(name.split()[1]) if name.startswith("github") else None
                tree = launcher(rundir, old[1]) if old is not None and name.startswith("old") else None
                m = await bed.discover(f"discover-{name.replace(' ', '')}-{index}", sequential=name == "sequential",
                                       github_concurrency=concurrency, tree=tree)
                if tree is not None:
                    m.tool += f" [code of {name.split()[1]}]"
                shapes[name].append(m)
    finally:
        await bed.stop()
    result = {"delay_ms": delay * 1000, "repeats": repeats, "floors": {k: round(v, 3) for k, v in floors.items()},
              "bound": limit, "shapes": {name: _shape(runs) for name, runs in shapes.items()},
              "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    # The seed-compatible JSON is the same, byte for byte, in every run of every shape.
    result["outputs_identical"] = len({d for s in result["shapes"].values() for d in s["stdout_sha256"]}) == 1
    return result, [summarize_runs(runs) for runs in shapes.values()]


def target(doc: dict[str, Any]) -> tuple[str, str, bool]:
    """The issue's goal: wall time of the default shape within 1.5 × the critical-path bound."""
    b, d = doc["bound"], doc["shapes"]["default"]
    ratio = d["wall"] / b["bound"]
    return ("discovery wall ≤ 1.5 × its critical-path bound (start-up + longest chain)",
            f"{d['wall']:.3f} s ÷ {b['bound']:.3f} s = {ratio:.2f}×", ratio <= 1.5)


def render(doc: dict[str, Any]) -> str:
    b = doc["bound"]
    lines = [f"{doc['delay_ms']:g} ms per request, median of {doc['repeats']}, load average at the end "
             f"{doc['loadavg_end']}", "",
             "| shape | wall s (median) | runs | engine s (median) | GitHub done after s | requests | CPU s "
             "| peak in flight github/tags/charts |",
             "|---|---|---|---|---|---|---|---|"]
    for name, s in doc["shapes"].items():
        peaks = "/".join(str(s["peak_in_flight"].get(k, "?")) for k in ("github", "tags", "charts"))
        ph = s["phases"]
        span = ph.get("github last answer at", 0) - ph.get("github first request at", 0)
        lines.append(f"| {name} | **{s['wall']:.3f}** | {', '.join(f'{w:.2f}' for w in s['walls'])} | "
                     f"{s['engine']:.3f} | {span:.3f} | {s['requests']} | {s['cpu']:.2f} | {peaks} |")
    d, q = doc["shapes"]["default"], doc["shapes"]["sequential"]
    lines += ["", "Chains (s): " + "; ".join(f"{k} {v}" for k, v in b["chains"].items()),
              f"Longest: {b['longest']} = {b['chain']} s; start-up floor {b['startup']} s "
              f"(python -c pass {doc['floors']['python -c pass']} s); **bound {b['bound']} s**; "
              f"network-only chain {b['network_only']} s.",
              f"Default: wall ÷ bound = **{d['wall'] / b['bound']:.2f}**, engine ÷ chain = **{d['engine'] / b['chain']:.2f}**, "
              f"engine ÷ network-only chain = {d['engine'] / b['network_only']:.2f}; "
              f"sequential ÷ default: wall {q['wall'] / d['wall']:.2f}×, engine {q['engine'] / d['engine']:.2f}×.",
              f"As the bed served it: {d['phases'].get('tags seconds at the proxy per request', 0) * 1000:.0f} ms per "
              f"request at the tags proxy (median; nominal {doc['delay_ms']:g}), "
              f"{d['phases'].get('traefik gap between pages (ours)', 0) * 1000:.0f} ms between a page's answer and the "
              f"next request (ours), traefik's chain {d['phases'].get('traefik chain', 0):.3f} s; "
              f"engine ÷ that chain = {d['engine'] / max(d['phases'].get('traefik chain', 0), 1e-9):.2f}.",
              *[f"{name} (its code, same bed, interleaved) → now: wall {o['wall']:.3f} → {d['wall']:.3f} s "
                f"({d['wall'] / o['wall']:.2f}×), engine {o['engine']:.3f} → {d['engine']:.3f} s, start-up to the first "
                f"entry {o['phases'].get('set-up to first entry', 0):.3f} → {d['phases'].get('set-up to first entry', 0):.3f} s, "
                f"helm processes {o['phases'].get('helm processes', 0):g} → {d['phases'].get('helm processes', 0):g}."
                for name, o in doc["shapes"].items() if name.startswith("old ")],
              f"stdout (the seed-compatible JSON) identical in every run of every shape: {doc['outputs_identical']} "
              f"(sha256 {next(iter(d['stdout_sha256']))[:12]}…).",
              "", "Where the default shape's wall time goes (medians, s): "
              + "; ".join(f"{k} {v}" for k, v in d["phases"].items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.discovery_run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay-ms", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--github", default="", help="comma list of GitHub concurrency values to try as well")
    parser.add_argument("--old", metavar="REV", help="also run this commit's code in the default shape (a worktree "
                                                       "in a temporary directory, removed afterwards)")
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm/image-mirror-bench"))
    args = parser.parse_args(argv)
    rundir = args.workdir / "runs" / f"discovery-{time.strftime('%Y%m%d-%H%M%S')}"
    rundir.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    github = [int(x) for x in args.github.split(",") if x.strip()]
    with ExitStack() as stack:
        old = None
        if args.old:
            sha = subprocess.run(["git", "-C", str(Path(__file__).resolve().parents[1]), "rev-parse", args.old],
                                 capture_output=True, text=True, check=True).stdout.strip()
            old = (sha, stack.enter_context(checkout(sha)))
        doc, _ = asyncio.run(measure(rundir=rundir, delay=args.delay_ms / 1000, repeats=args.repeats, github=github,
                                     log=log, old=old))
    (rundir / "discovery.json").write_text(json.dumps(doc, indent=2))
    text = render(doc)
    (rundir / "discovery.md").write_text(text + "\n")
    print(text)
    log(f"results in {rundir}")
    return 0 if all(s["ok"] for s in doc["shapes"].values()) and doc["outputs_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
