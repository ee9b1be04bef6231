"""Run ``image-mirror`` (``mirror.cli.main``) and record its own peak RSS.

``python -m bench._cli ARGS…`` is exactly the console script, plus:

* ``BENCH_RSS_FILE``: write this process's peak RSS there on exit (KiB): ``VmHWM``
  from ``/proc/self/status``, the high-water mark of this program's own memory
  (not the skopeo/helm children). Not ``ru_maxrss``: Linux carries the
  *parent's* peak into a child across fork/vfork + exec, so a small child of a
  big benchmark process would report the benchmark's size;
* ``BENCH_PROFILE``: run under cProfile and dump the stats there;
* ``BENCH_SEQUENTIAL=1``: the seed's sequential shape for discovery — the
  helm renderer gets a concurrency of 1 (it has no setting; the registries
  file sets every other limit, the GitHub API host's included).
"""

from __future__ import annotations

import os
import resource
import sys


def _helm_limit(limit: int) -> None:
    from mirror import helm

    original = helm.HelmRenderer.__init__

    def helm_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["concurrency"] = limit
        original(self, *args, **kwargs)

    helm.HelmRenderer.__init__ = helm_init  # type: ignore[method-assign]


def peak_rss_kib() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for raw in status:
                if raw.startswith("VmHWM:"):
                    return int(raw.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main() -> int:
    from mirror.cli import main as cli_main

    if os.environ.get("BENCH_SEQUENTIAL") == "1":
        _helm_limit(1)
    profile = os.environ.get("BENCH_PROFILE")
    try:
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            code = profiler.runcall(cli_main, sys.argv[1:])
            profiler.dump_stats(profile)
        else:
            code = cli_main(sys.argv[1:])
    finally:
        rss_file = os.environ.get("BENCH_RSS_FILE")
        if rss_file:
            with open(rss_file, "w", encoding="ascii") as handle:
                handle.write(str(peak_rss_kib()))
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
