"""Run a command under ``/usr/bin/time -v`` and follow its memory: peak RSS of the process itself.

Why ``time`` and not ``wait4``'s ``ru_maxrss``: Linux carries a parent's peak into a child
across fork + exec, so a small child of the (large) benchmark process would report the
benchmark's size. ``time`` is a 1.4 MB parent: its child's maximum resident set size is the
child's own. A sampler thread also reads ``VmRSS`` and ``VmHWM`` of the command (the child of
``time``) from ``/proc/<pid>/status`` every 100 ms: memory over the run, to see in which phase
it grows.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MIB", "Timed", "run_timed"]

MIB = 1024.0  # KiB per MiB: /proc and time report KiB


@dataclass
class Timed:
    returncode: int
    wall: float
    #: ``time -v``'s fields, e.g. "Maximum resident set size (kbytes)", "User time (seconds)"
    fields: dict[str, str]
    #: (seconds since start, VmRSS MiB), every 100 ms
    samples: list[tuple[float, float]] = field(default_factory=list)
    #: the last VmHWM the sampler read (KiB): misses a peak in the last 100 ms of the run
    hwm_kib: int | None = None


def _status(pid: int) -> dict[str, int]:
    """``VmRSS``/``VmHWM`` (KiB) of a live process; empty once it is gone."""
    values = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for raw in status:
                if raw.startswith(("VmRSS:", "VmHWM:")):
                    key, value = raw.split(":", 1)
                    values[key] = int(value.split()[0])
    except OSError:
        pass
    return values


def _child(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _sample(parent: int, started: float, samples: list[tuple[float, float]], hwm: list[int],
            stop: threading.Event) -> None:
    """Follow the process under ``time``: its VmRSS every 100 ms, its last VmHWM."""
    pid = None
    while not stop.is_set():
        pid = pid or _child(parent)
        if pid is not None:
            values = _status(pid)
            if "VmRSS" in values:
                samples.append((time.monotonic() - started, values["VmRSS"] / MIB))
                hwm[:] = [values["VmHWM"]]
        stop.wait(0.1)


def _time_fields(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(": ") for line in text.splitlines()) if v}


def run_timed(argv: Sequence[str], *, env: Mapping[str, str], logdir: Path, name: str, cwd: Path) -> Timed:
    """``/usr/bin/time -v ARGV`` (blocking), stdout and stderr to ``logdir/<name>.*``."""
    logdir.mkdir(parents=True, exist_ok=True)
    timing = logdir / f"{name}.time"
    samples: list[tuple[float, float]] = []
    hwm: list[int] = []
    stop = threading.Event()
    with open(logdir / f"{name}.stdout", "wb") as out, open(logdir / f"{name}.stderr", "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(timing), *argv], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, env=dict(env), cwd=str(cwd))
        sampler = threading.Thread(target=_sample, args=(proc.pid, started, samples, hwm, stop), daemon=True)
        sampler.start()
        proc.wait()
        wall = time.monotonic() - started
        stop.set()
        sampler.join()
    return Timed(proc.returncode, wall, _time_fields(timing), samples, hwm[0] if hwm else None)
