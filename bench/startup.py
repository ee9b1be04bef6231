"""Start-up: what a short command costs before it does any work, against bare Python.

Every ``image-mirror`` run pays the interpreter, the imports of what it uses and argparse
before its first request; for ``--version`` or ``sort --check`` that is all there is. Three
processes are timed, interleaved round by round so that load on a shared machine hits them
alike, and the median of the rounds is kept:

* ``python -c pass`` — the interpreter with ``site`` (and the editable install's finder);
* ``image-mirror --version`` — target: at most ``python -c pass`` + 100 ms;
* ``image-mirror sort --check`` on the real 1,995-line list (a copy in a temporary
  directory; the shared file is only read) — target: at most ``python -c pass`` + 250 ms.

``image-mirror`` is the installed console script, run by the same interpreter (``PYTHONPATH``
picks the work tree). The environment is :func:`bench.runner.base_env`'s:
``PYTHONDONTWRITEBYTECODE`` unset and bytecode kept outside the work tree, as an installed
package has it; a first round, not counted, writes that bytecode.

``python -m bench.startup [--rounds N]`` runs this alone (about 10 s); ``python -m bench``
runs it first, unless ``--skip startup``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from .runner import base_env, run_sync

__all__ = ["measure", "render", "targets"]

#: Most a case may take over ``python -c pass``, in seconds.
BUDGET = {"version": 0.100, "sort_check": 0.250}
LABELS = {"python": "`python -c pass`", "version": "`image-mirror --version`",
          "sort_check": "`image-mirror sort --check` (real list, 1,995 lines)"}


def _image_mirror() -> list[str]:
    """The console script as a user runs it, on this interpreter (not a pyenv shim)."""
    script = Path(sys.executable).parent / "image-mirror"
    return [sys.executable, str(script)] if script.exists() else [sys.executable, "-m", "mirror"]


def measure(workdir: Path, images_list: Path, rounds: int = 7) -> dict[str, Any]:
    """Median wall time of each case over ``rounds`` interleaved rounds (after one warm-up)."""
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / "images-list"
    shutil.copyfile(images_list, copy)
    cli = _image_mirror()
    cases = {
        "python": [sys.executable, "-c", "pass"],
        "version": [*cli, "--version"],
        "sort_check": [*cli, "--log-format", "plain", "sort", "--check", "--images-list", str(copy)],
    }
    env = base_env(workdir / "home")
    load_before = os.getloadavg()[0]
    walls: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    failed: dict[str, int] = {}
    for index in range(rounds + 1):
        for name, argv in cases.items():
            result = run_sync(argv, env=env, logdir=workdir / "logs", name=f"{name}-{index}", cwd=workdir)
            if result.returncode != 0:
                failed[name] = result.returncode
            if index:  # round 0 writes the bytecode
                walls[name].append(round(result.wall, 4))
                cpu[name].append(result.cpu)
    medians = {name: round(statistics.median(values), 4) for name, values in walls.items()}
    # CPU seconds (user + system) move less with the machine's load than wall time does.
    cpu_medians = {name: round(statistics.median(values), 4) for name, values in cpu.items()}
    return {"rounds": rounds, "median": medians, "walls": walls, "cpu_median": cpu_medians, "failed": failed,
            "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "over_python": {name: round(medians[name] - medians["python"], 4) for name in BUDGET}}


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    rows: list[tuple[str, str, bool | None]] = []
    for name, budget in BUDGET.items():
        over = result["over_python"][name]
        ok = over <= budget and name not in result["failed"]
        rows.append((f"start-up: {LABELS[name]} ≤ `python -c pass` + {budget * 1000:.0f} ms",
                     f"+{over * 1000:.0f} ms ({result['median'][name]:.3f} s vs {result['median']['python']:.3f} s)",
                     ok))
    return rows


def render(result: dict[str, Any]) -> list[str]:
    out = [f"### Start-up (median of {result['rounds']} interleaved rounds, bytecode cached)", "",
           "| command | median wall | over `python -c pass` | budget | median CPU | runs (wall) |",
           "|---|---|---|---|---|---|"]
    for name in ("python", "version", "sort_check"):
        over = "–" if name == "python" else f"+{result['over_python'][name] * 1000:.0f} ms"
        budget = f"+{BUDGET[name] * 1000:.0f} ms" if name in BUDGET else "–"
        runs = ", ".join(f"{w:.3f}" for w in result["walls"][name])
        out.append(f"| {LABELS[name]} | {result['median'][name]:.3f} s | {over} | {budget} | "
                   f"{result['cpu_median'][name]:.3f} s | {runs} |")
    before, after = result["loadavg_1min"]
    out += ["", f"1-minute load average {before} before, {after} after."]
    if result["failed"]:
        out += ["", f"Non-zero exits: {result['failed']} (see the logs)."]
    return out + [""]


def main(argv: list[str] | None = None) -> int:
    from tests.support.data import REAL_LIST  # run from the repository root, as python -m bench is

    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="rounds counted (default 7; one more warms up)")
    parser.add_argument("--images-list", type=Path, default=REAL_LIST,
                        help=f"the list for sort --check, read in place and copied to a temporary directory "
                             f"(default {REAL_LIST})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="image-mirror-startup-") as tmp:
        result = measure(Path(tmp), args.images_list, args.rounds)
    print("\n".join(render(result)))
    for label, value, met in targets(result):
        print(f"- {label}: {value}: {'met' if met else 'NOT met'}")
    return 0 if all(met for _, _, met in targets(result)) else 1


if __name__ == "__main__":
    sys.exit(main())
