"""Cold and warm sync of an OLD commit beside the working tree (NEW), in one bench run.

Why: "the redesign did not make sync slower" is only worth something when both sides run on
the same machine, minutes apart, against the same seeded source registry, the same latency
proxy and the same list. Run-to-run spread on this shared machine is ±5 %, which is the
size of the effect being checked, so the two sides are interleaved (old, new, new, old, …)
and each scenario is the median of ``--repeats`` runs.

* OLD is a git commit (default: the main line just before the one-transport redesign was
  merged, found as the first parent of the merge that brought ``mirror/transport/``). It
  is checked out with ``git worktree add --detach`` into a temporary directory created
  here, and that exact worktree is removed (``git worktree remove``) at the end.
* Both sides run the same launcher (this tree's :mod:`bench._cli`, for peak RSS) with
  ``BENCH_ROOT`` = the checkout, which is put first on ``sys.path``; the launcher checks
  that ``mirror`` was imported from there.
* Cold: a fresh destination registry per run. Warm: the destination of the last NEW cold
  run (everything present), the same one for both sides.

``python -m bench.commits [--old REV] [--lines N] [--repeats 3]``; the tables go to stdout
and ``commits.md`` / ``commits.json`` in the run directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import runner
from .seed import read_lines
from .sync import Destination, Measurement, SyncBed
from tests.support.data import REAL_LIST  # noqa: E402  (bench.seed put the repository root on sys.path)

__all__ = ["checkout", "default_old", "launcher", "main"]

REPO_ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = """\
import os, runpy, sys
root = os.environ["BENCH_ROOT"]
sys.path.insert(0, root)
import mirror
if not os.path.realpath(mirror.__file__).startswith(os.path.realpath(root) + os.sep):
    sys.exit(f"bench.commits: mirror imported from {mirror.__file__}, not from {root}")
sys.argv[0] = "image-mirror"
runpy.run_path(%r, run_name="__main__")
"""


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()


def default_old() -> str:
    """The main line just before ``mirror/transport/`` arrived: the first parent of the first
    first-parent commit (a merge, or a direct commit) that has ``mirror/transport/__init__.py``."""
    for commit in _git("rev-list", "--first-parent", "--reverse", "HEAD").splitlines():
        if subprocess.run(["git", "-C", str(REPO_ROOT), "cat-file", "-e", f"{commit}:mirror/transport/__init__.py"],
                          capture_output=True, check=False).returncode == 0:
            return _git("rev-parse", f"{commit}^1")
    raise SystemExit("bench.commits: no commit with mirror/transport/ on the first-parent line; pass --old")


@contextmanager
def checkout(commit: str) -> Iterator[Path]:
    """``commit`` in a worktree under a temporary directory made here; both removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="image-mirror-old-"))
    tree = parent / "tree"
    _git("worktree", "add", "--detach", str(tree), commit)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(tree)],
                       capture_output=True, check=False)
        shutil.rmtree(parent, ignore_errors=True)


def launcher(rundir: Path, root: Path) -> tuple[list[str], Path]:
    """The argv prefix that runs this tree's :mod:`bench._cli` on ``root``'s code (and ``root``)."""
    path = rundir / "launcher.py"
    path.write_text(LAUNCHER % str(REPO_ROOT / "bench" / "_cli.py"))
    return [sys.executable, str(path)], root


def _kinds(m: Measurement) -> dict[str, int]:
    """Requests by side of the wire, method and kind, and 404 answers per side."""
    out: dict[str, int] = {}
    for side, counts in (("source", m.source), ("destination", m.destination)):
        for key, value in counts.get("by_kind", {}).items():
            out[f"{side} {key}"] = int(value)
        out[f"{side} answers 404"] = int(counts.get("by_status", {}).get("404", 0))
    return out


def _summary(runs: list[Measurement]) -> dict[str, Any]:
    kinds = [_kinds(r) for r in runs]
    return {
        "wall_median": statistics.median(r.wall for r in runs),
        "walls": [round(r.wall, 2) for r in runs],
        "engine_median": statistics.median(r.engine for r in runs if r.engine is not None)
        if any(r.engine is not None for r in runs) else None,
        "requests": [r.requests for r in runs],
        "source_requests": [int(r.source.get("total", 0)) for r in runs],
        "destination_requests": [int(r.destination.get("total", 0)) for r in runs],
        "kinds": kinds[0],
        "kinds_stable": all(k == kinds[0] for k in kinds),
        "ok": all(r.ok for r in runs),
        "rss_mib": max((r.rss_mib or 0) for r in runs),
    }


def render(doc: dict[str, Any]) -> str:
    lines = [f"OLD `{doc['old'][:10]}` against NEW `{doc['new'][:10]}` (uncommitted changes in mirror/: "
             f"{doc['dirty']}; mirror/*.py tree hash `{doc.get('mirror_tree_sha256', '?')}`), "
             f"{doc['lines']} lines, {doc['delay_ms']:g} ms per request, median of {doc['repeats']}, "
             f"load average {doc['load_start']} → {doc['load_end']}", "",
             "| scenario | side | wall s (median) | runs | engine s | requests src+dst | ok |",
             "|---|---|---|---|---|---|---|"]
    for scenario in ("cold", "warm"):
        for side in ("old", "new"):
            s = doc["results"].get(scenario, {}).get(side)
            if s:
                lines.append(f"| {scenario} | {side} | **{s['wall_median']:.2f}** | {', '.join(map(str, s['walls']))} | "
                             f"{s['engine_median']} | {s['source_requests'][0]:,}+{s['destination_requests'][0]:,} | "
                             f"{s['ok']} |")
    lines.append("")
    for scenario, sides in doc["results"].items():
        old, new = sides.get("old"), sides.get("new")
        if not (old and new):
            continue
        ratio = new["wall_median"] / old["wall_median"]
        lines.append(f"**{scenario}**: NEW ÷ OLD wall = {ratio:.3f} (target ≤ 1.05, NEW no slower than OLD by more "
                     f"than 5 %: {'met' if ratio <= 1.05 else 'NOT met'}); "
                     f"requests {old['requests'][0]:,} → {new['requests'][0]:,}"
                     f"{' (identical)' if old['kinds'] == new['kinds'] else ''}; counts stable across runs: "
                     f"old {old['kinds_stable']}, new {new['kinds_stable']}")
        differ = sorted(k for k in set(old["kinds"]) | set(new["kinds"])
                        if old["kinds"].get(k, 0) != new["kinds"].get(k, 0))
        if differ:
            lines += ["", f"| {scenario}: requests that differ | old | new |", "|---|---|---|"]
            lines += [f"| {k} | {old['kinds'].get(k, 0):,} | {new['kinds'].get(k, 0):,} |" for k in differ]
        lines.append("")
    return "\n".join(lines)


async def measure(args: argparse.Namespace, old_root: Path, log: Any) -> dict[str, Any]:
    runner.PYCACHE = args.workdir / "pycache"
    delay = args.delay_ms / 1000
    all_lines = read_lines(args.images_list)
    lines = all_lines if not args.lines else [all_lines[i * len(all_lines) // args.lines] for i in range(args.lines)]
    rundir = args.workdir / "runs" / f"commits-{time.strftime('%Y%m%d-%H%M%S')}"
    rundir.mkdir(parents=True, exist_ok=True)
    list_path = args.images_list
    if lines is not all_lines:
        list_path = rundir / "images-list"
        list_path.write_text("".join(line.text + "\n" for line in lines))
    trees = {"old": launcher(rundir, old_root), "new": launcher(rundir, REPO_ROOT)}
    for argv, root in trees.values():  # writes each tree's bytecode once, and checks the launcher
        subprocess.run([*argv, "--version"], env=runner.base_env(rundir / "home", {"BENCH_ROOT": str(root)}),
                       cwd=root, check=True, capture_output=True)
    bed = SyncBed(workdir=args.workdir, rundir=rundir, lines=lines, list_path=list_path, delay=delay,
                  all_lines=len(all_lines), log=log)
    await bed.start(lines)
    results: dict[str, dict[str, list[Measurement]]] = {"cold": {"old": [], "new": []}, "warm": {"old": [], "new": []}}
    order = [("old", "new"), ("new", "old")]
    kept: Destination | None = None
    load_start = [round(x, 2) for x in os.getloadavg()]
    try:
        for index in range(args.repeats):
            for side in order[index % 2]:
                dest = await Destination(delay, "dest").start()
                log(f"cold, {side}, run {index + 1}")
                results["cold"][side].append(await bed.image_mirror(
                    dest, "cold", f"cold-{side}-{index}", "--copier", "native", tree=trees[side]))
                if side == "new":
                    if kept is not None:
                        await kept.stop()
                    kept = dest
                else:
                    await dest.stop()
        assert kept is not None
        for index in range(args.repeats):
            for side in order[index % 2]:
                log(f"warm, {side}, run {index + 1}")
                results["warm"][side].append(await bed.image_mirror(
                    kept, "warm", f"warm-{side}-{index}", "--copier", "native", tree=trees[side]))
    finally:
        if kept is not None:
            await kept.stop()
        await bed.stop()
    doc = {"old": args.old_sha,
           "new": args.new_sha, "dirty": args.dirty, "mirror_tree_sha256": args.mirror_tree,
           "lines": len(lines), "delay_ms": args.delay_ms, "repeats": args.repeats, "load_start": load_start,
           "load_end": [round(x, 2) for x in os.getloadavg()], "rundir": str(rundir),
           "results": {sc: {side: _summary(runs) for side, runs in sides.items() if runs}
                       for sc, sides in results.items()},
           "runs": {sc: {side: [r.as_json() for r in runs] for side, runs in sides.items()}
                    for sc, sides in results.items()}}
    (rundir / "commits.json").write_text(json.dumps(doc, indent=2, default=str))
    (rundir / "commits.md").write_text(render(doc) + "\n")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.commits", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", help="the OLD commit (default: the main line before mirror/transport/ arrived)")
    parser.add_argument("--images-list", type=Path, default=REAL_LIST)
    parser.add_argument("--lines", type=int, help="evenly spaced subset (default: every line)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm/image-mirror-bench"))
    args = parser.parse_args(argv)
    args.old_sha = _git("rev-parse", args.old or default_old())
    # What NEW is, taken before the first run (the tree may get commits while the bench runs).
    args.new_sha = _git("rev-parse", "HEAD")
    args.dirty = bool(_git("status", "--porcelain", "--", "mirror"))
    from .__main__ import code_state  # here: bench.__main__ imports the report, which imports this module

    args.mirror_tree = code_state()["mirror_tree_sha256"]

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    log(f"OLD {args.old_sha[:10]}, NEW working tree at {_git('rev-parse', '--short', 'HEAD')}")
    with checkout(args.old_sha) as old_root:
        doc = asyncio.run(measure(args, old_root, log))
    print(render(doc))
    ok = all(s["ok"] for sides in doc["results"].values() for s in sides.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
