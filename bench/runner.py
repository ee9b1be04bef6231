"""Running the tools under measurement: wall time, exit code, peak RSS, logs to files.

Processes run in a worker thread (``asyncio.to_thread``) so the proxies and fakes
in the benchmark's event loop keep serving while we wait. ``os.wait4`` gives
the child's CPU time; for ``image-mirror`` the wrapper :mod:`bench._cli` reports
its own peak RSS (``VmHWM``, without the skopeo or helm processes it starts),
which is the number the RSS target is about. (``wait4``'s ``ru_maxrss`` is not
used for that: Linux carries the parent's peak into the child across exec.)
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Run", "base_env", "image_mirror_argv", "run", "run_sync"]

#: Variables the tools read that must not leak in from the caller's environment.
_CLEARED = (
    "GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_STEP_SUMMARY", "IMAGES", "TAGS", "FULL_IMAGES", "IMAGES_FILE",
    "DEST_REGISTRY_OVERRIDE", "DEST_ORG_OVERRIDE", "IMAGE_MIRROR_REGISTRIES", "DOCKER_CONFIG",
    "REGISTRY_AUTH_FILE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy",
)


#: Where the measured Python processes keep bytecode (``__main__`` puts it under --workdir).
PYCACHE = Path("/dev/shm/image-mirror-bench/pycache")


@dataclass
class Run:
    argv: list[str]
    returncode: int
    wall: float
    rss_kib: int | None  # image-mirror's own peak (VmHWM, see bench._cli); None for other tools
    #: wait4's ru_maxrss. Beware: on Linux it includes this (parent) process's peak, carried
    #: across fork + exec, so it is only an upper bound for a child smaller than the benchmark.
    tree_rss_kib: int
    cpu: float  # user + system seconds of the child and its waited-for descendants
    stdout: Path
    stderr: Path
    #: wall-clock (``time.time()``) just before the process was started
    started_at: float = 0.0

    @property
    def rss_mib(self) -> float | None:
        return None if self.rss_kib is None else self.rss_kib / 1024

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.stderr.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])


def base_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment minus the tools' variables, HOME/XDG in ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED and not k.startswith("HELM_")}
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    # This sandbox sets PYTHONDONTWRITEBYTECODE=1, so an editable install recompiles every
    # module of mirror/ at each start (~0.3 s). An installed package has its .pyc files:
    # measure that, with the bytecode cache kept outside the work tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(extra or {})
    return env


def image_mirror_argv(*args: str) -> list[str]:
    """``image-mirror ARGS`` through the measuring wrapper (same code as the console script)."""
    return [sys.executable, "-m", "bench._cli", *args]


#: The pseudo-terminal of ``run_sync(..., terminal=True)``: rows, columns.
TERMINAL_SIZE = (50, 160)


def _drain(fd: int, path: Path) -> None:
    """Copy a pty master to ``path`` until the child side closes (EIO), as a terminal reads it."""
    with open(path, "wb") as sink:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            sink.write(chunk)
    os.close(fd)


def run_sync(argv: Sequence[str], *, env: Mapping[str, str], logdir: Path, name: str,
             cwd: Path | None = None, terminal: bool = False) -> Run:
    """Run and measure ``argv``; with ``terminal`` its stderr is a pseudo-terminal (the dashboard's
    case), read by a thread into ``<name>.stderr`` as fast as a terminal emulator would."""
    logdir.mkdir(parents=True, exist_ok=True)
    stdout_path = logdir / f"{name}.stdout"
    stderr_path = logdir / f"{name}.stderr"
    rss_file = logdir / f"{name}.rss"
    rss_file.unlink(missing_ok=True)
    full_env = {**env, "BENCH_RSS_FILE": str(rss_file)}
    reader: threading.Thread | None = None
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        errfd: int | object = err
        if terminal:
            master, slave = os.openpty()
            rows, cols = TERMINAL_SIZE
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            full_env["TERM"] = "xterm-256color"
            reader = threading.Thread(target=_drain, args=(master, stderr_path), daemon=True)
            reader.start()
            errfd = slave
        started_at = time.time()
        started = time.monotonic()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=errfd, stdin=subprocess.DEVNULL,  # type: ignore[arg-type]
                                env=full_env, cwd=str(cwd) if cwd else None)
        if terminal:
            os.close(slave)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    if reader is not None:
        reader.join(timeout=30)
    own: int | None = None
    try:
        own = int(rss_file.read_text().strip())
    except (OSError, ValueError):
        own = None
    return Run(list(argv), proc.returncode, wall, own,
               usage.ru_maxrss, usage.ru_utime + usage.ru_stime, stdout_path, stderr_path, started_at)


async def run(argv: Sequence[str], *, env: Mapping[str, str], logdir: Path, name: str,
              cwd: Path | None = None, terminal: bool = False) -> Run:
    return await asyncio.to_thread(run_sync, argv, env=env, logdir=logdir, name=name, cwd=cwd, terminal=terminal)
