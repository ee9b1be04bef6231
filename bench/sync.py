"""Sync scenarios: cold, warm no-op and ``--missing``, each beside its baselines.

The bed: the seeded source registry behind a latency proxy, mapped host by host
through a registries file (``endpoint`` = the proxy, ``repository_prefix`` =
the host name), and for each run a fresh or kept destination registry behind
its own latency proxy, reached as ``registry.mirror.test`` through
``DEST_REGISTRY_OVERRIDE`` (so ``rancher/mirrored-x`` lands in
``registry.mirror.test/rancher/mirrored-x``, another host than every source).

Baselines:

* ``skopeo sync --all --src yaml --dest docker`` over the same source tags;
* the seed's per-line loop (``image-mirror.sh``): for each line ``skopeo
  inspect --raw`` of source and destination, ``skopeo copy --all`` when they
  differ — run on an evenly spaced sample and extrapolated per line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirror.imageslist import Line

from .proxy import LatencyProxy
from .runner import base_env, image_mirror_argv, run
from .seed import SourceSide  # also puts the repository root on sys.path for ``tests``

from tests.support.registry import RegistryServer  # noqa: E402

__all__ = ["DEST_HOST", "Destination", "Measurement", "SyncBed", "median_of", "per_line", "summarize_runs"]

REPO_ROOT = Path(__file__).resolve().parents[1]

DEST_HOST = "registry.mirror.test"
DEFAULT_CONCURRENCY = 8  # mirror.registry.hosts.DEFAULT_CONCURRENCY: no limit is written in our file


@dataclass
class Measurement:
    """One run of one tool in one scenario."""

    tool: str
    scenario: str
    wall: float
    ok: bool
    lines: int
    engine: float | None = None  # the tool's own elapsed (image-mirror's report), no interpreter start
    cpu: float | None = None
    rss_mib: float | None = None
    source: dict[str, Any] = field(default_factory=dict)
    destination: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return int(self.source.get("total", 0)) + int(self.destination.get("total", 0))

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def median_of(runs: list[Measurement], attr: str) -> float | None:
    values = [getattr(r, attr) for r in runs if getattr(r, attr) is not None]
    return statistics.median(values) if values else None


class Destination:
    """A destination registry (fresh storage on /dev/shm) behind a latency proxy."""

    def __init__(self, delay: float, name: str) -> None:
        self.server = RegistryServer()
        self.proxy = LatencyProxy("http://unset", delay=delay, name=name)

    async def start(self) -> Destination:
        await asyncio.to_thread(self.server.start)
        self.proxy.upstream = self.server.url
        await self.proxy.start()
        return self

    async def stop(self) -> None:
        await self.proxy.close()
        await asyncio.to_thread(self.server.stop)


class SyncBed:
    def __init__(self, *, workdir: Path, rundir: Path, lines: list[Line], list_path: Path, delay: float,
                 all_lines: int, log: Any) -> None:
        self.workdir = workdir
        self.rundir = rundir
        self.lines = lines
        self.list_path = list_path
        self.delay = delay
        self.all_lines = all_lines
        self.log = log
        self.source = SourceSide(workdir)
        self.src_proxy = LatencyProxy("http://unset", delay=delay, name="source")
        self.hosts = sorted({line.source_image.host for line in lines})
        self.home = rundir / "home"
        self.seed_seconds = 0.0

    def subset(self, lines: list[Line], label: str) -> SyncBed:
        """The same source and proxy, fewer lines (for the slow baselines)."""
        if len(lines) == len(self.lines):
            return self
        other = SyncBed.__new__(SyncBed)
        other.__dict__.update(self.__dict__)
        other.lines = lines
        other.list_path = self.rundir / f"images-list-{label}"
        other.list_path.write_text("".join(line.text + "\n" for line in lines))
        return other

    async def start(self, seed_lines: list[Line]) -> None:
        self.seed_seconds = await asyncio.to_thread(self.source.start, seed_lines, self.log)
        assert self.source.server is not None
        self.src_proxy.upstream = self.source.server.url
        await self.src_proxy.start()

    async def stop(self) -> None:
        await self.src_proxy.close()
        await asyncio.to_thread(self.source.stop)

    # -- files -------------------------------------------------------------------------------

    def registries_file(self, dest: Destination, name: str, concurrency: int | None = None) -> Path:
        limit = f"  concurrency: {concurrency}\n" if concurrency else ""
        text = ""
        for host in self.hosts:
            text += f"{host}:\n  endpoint: {self.src_proxy.url}\n  repository_prefix: {host}\n{limit}"
        text += f"{DEST_HOST}:\n  endpoint: {dest.proxy.url}\n{limit}"
        path = self.rundir / f"registries-{name}.yaml"
        path.write_text(text)
        return path

    def src_ref(self, line: Line) -> str:
        return f"{self.src_proxy.host}/{line.source_image.host}/{line.source_image.repository}:{line.tag}"

    @staticmethod
    def dest_ref(dest: Destination, line: Line) -> str:
        return f"{dest.proxy.host}/{line.destination_image.repository}:{line.tag}"

    def expected_blob_pairs(self) -> int:
        """Distinct (destination repository, blob) pairs the lines need."""
        # Two lines writing one destination tag from different sources: the last line wins
        # (image-mirror skips the others as superseded), so only the winner's blobs are needed.
        winners = {(line.destination_image.repository, line.tag): line for line in self.lines}
        pairs: dict[str, set[str]] = defaultdict(set)
        for (repository, _), line in winners.items():
            pairs[repository].update(self.source.image(line).blobs)
        return sum(len(v) for v in pairs.values())

    def destination_repositories(self) -> int:
        return len({line.destination_image.repository for line in self.lines})

    def source_repositories(self) -> int:
        return len({line.source_image.name for line in self.lines})

    def latency_bound(self, m: Measurement, concurrency: int = DEFAULT_CONCURRENCY) -> float:
        """requests × delay ÷ allowed concurrency, per host (hosts run side by side: the largest)."""
        per_host = [n for n in m.source.get("by_prefix", {}).values()]
        per_host.append(int(m.destination.get("total", 0)))
        return max(per_host) * self.delay / concurrency if per_host else 0.0

    def _cpu(self, dest: Destination) -> dict[str, float]:
        """CPU seconds so far of what else serves a run: this process (the proxies) and the registries."""
        return {
            "bench_proxies": time.process_time(),
            "source_registry": _proc_cpu(self.source.server),
            "destination_registry": _proc_cpu(dest.server),
        }

    # -- image-mirror ------------------------------------------------------------------------

    async def image_mirror(self, dest: Destination, scenario: str, name: str, *sync_args: str,
                           profile: Path | None = None, concurrency: int | None = None,
                           terminal: bool = False, tree: tuple[list[str], Path] | None = None) -> Measurement:
        """One ``image-mirror sync``; with ``terminal`` on a pseudo-terminal with ``--log-format
        auto`` (the rich dashboard), else ``--log-format json`` to a file. ``tree``: another
        checkout's code (the launcher's argv, the checkout), as :mod:`bench.commits` runs it."""
        registries = self.registries_file(dest, name, concurrency)
        report = self.rundir / f"{name}.report.json"
        report.unlink(missing_ok=True)
        extra = {"DEST_REGISTRY_OVERRIDE": DEST_HOST}
        if profile is not None:
            extra["BENCH_PROFILE"] = str(profile)
        env = base_env(self.home, extra)
        args = ("--registries", str(registries), "--images-list", str(self.list_path),
                "--no-cache", "--log-format", "auto" if terminal else "json", "sync", *sync_args, "--report", str(report))
        argv, cwd = image_mirror_argv(*args), REPO_ROOT
        if tree is not None:
            argv, cwd = [*tree[0], *args], tree[1]
            env["BENCH_ROOT"] = str(tree[1])
        self.src_proxy.reset()
        dest.proxy.reset()
        cpu_before = self._cpu(dest)
        result = await run(argv, env=env, logdir=self.rundir / "logs", name=name, cwd=cwd, terminal=terminal)
        cpu_after = self._cpu(dest)
        src, dst = self.src_proxy.reset(), dest.proxy.reset()
        engine = None
        totals: dict[str, Any] = {}
        try:
            doc = json.loads(report.read_text())
            totals = doc["totals"]
            engine = float(totals["elapsed"])
        except (OSError, ValueError, KeyError):
            pass
        copier = sync_args[sync_args.index("--copier") + 1] if "--copier" in sync_args else "native"
        tool = f"image-mirror sync --copier {copier}" + (" --missing" if "--missing" in sync_args else "") + \
            (" --referrers" if "--referrers" in sync_args else "")
        ok = result.returncode == 0 and totals.get("failed", 1) == 0
        m = Measurement(tool, scenario, result.wall, ok, len(self.lines), engine, result.cpu, result.rss_mib,
                        src.snapshot(), dst.snapshot(),
                        extra={"totals": totals, "expected_blob_pairs": self.expected_blob_pairs(),
                               "destination_repositories": self.destination_repositories(),
                               "concurrency": concurrency or DEFAULT_CONCURRENCY,
                               "cpu_others": {k: round(cpu_after[k] - cpu_before[k], 2) for k in cpu_before}})
        if concurrency:
            m.tool += f" (concurrency {concurrency})"
        if terminal:
            m.tool += " (dashboard on a pty)"
        if not ok:
            m.note = f"exit {result.returncode}: {result.tail(5)}"
        self.log(f"  {name}: {m.wall:.2f}s wall, engine {engine}s, {m.requests} requests, "
                 f"rss {m.rss_mib and round(m.rss_mib, 1)} MiB, ok={ok} {m.note[:300]}")
        return m

    # -- skopeo sync ---------------------------------------------------------------------------

    def _skopeo_yamls(self) -> list[Path]:
        """``--src yaml`` files listing every source repository and tag of the lines.

        skopeo sync names a destination after the source's last path component
        (``--scoped`` would put ``host:port`` in the path, which is not a valid
        reference), and 34 base names of the real list collide (``calico/node``…),
        so repositories are split into groups without a collision, one sync each,
        under ``skopeo-sync/g<N>/``: the same set, nothing overwritten.
        """
        images: dict[str, list[str]] = {}
        for line in self.lines:
            repo = f"{line.source_image.host}/{line.source_image.repository}"
            tags = images.setdefault(repo, [])
            if line.tag not in tags:
                tags.append(line.tag)
        groups: list[dict[str, list[str]]] = []
        for repo, tags in sorted(images.items()):
            base = repo.rsplit("/", 1)[-1]
            group = next((g for g in groups if all(r.rsplit("/", 1)[-1] != base for r in g)), None)
            if group is None:
                group = {}
                groups.append(group)
            group[repo] = tags
        paths = []
        for number, group in enumerate(groups):
            lines = [f"{self.src_proxy.host}:", "  tls-verify: false", "  images:"]
            for repo, tags in sorted(group.items()):
                lines.append(f"    {repo}:")
                lines += [f"      - {json.dumps(tag)}" for tag in tags]
            path = self.rundir / f"skopeo-sync-g{number}.yaml"
            path.write_text("\n".join(lines) + "\n")
            paths.append(path)
        return paths

    async def skopeo_sync(self, dest: Destination, scenario: str, name: str) -> Measurement:
        env = base_env(self.home)
        self.src_proxy.reset()
        dest.proxy.reset()
        wall = cpu = 0.0
        rss = 0.0
        notes = []
        ok = True
        yamls = self._skopeo_yamls()
        for number, source_yaml in enumerate(yamls):
            argv = ["skopeo", "sync", "--all", "--src", "yaml", "--dest", "docker", "--src-tls-verify=false",
                    "--dest-tls-verify=false", "--retry-times", "3", str(source_yaml),
                    f"{dest.proxy.host}/skopeo-sync/g{number}"]
            result = await run(argv, env=env, logdir=self.rundir / "logs", name=f"{name}-g{number}")
            wall += result.wall
            cpu += result.cpu
            rss = max(rss, result.rss_mib or 0)
            if result.returncode != 0:
                ok = False
                notes.append(f"exit {result.returncode}: {result.tail(5)}")
        src, dst = self.src_proxy.reset(), dest.proxy.reset()
        images = len({(l.source_image.name, l.tag) for l in self.lines})
        m = Measurement("skopeo sync --all", scenario, wall, ok, len(self.lines), None, cpu, rss or None,
                        src.snapshot(), dst.snapshot(), extra={"source_images": images, "groups": len(yamls)})
        m.note = "; ".join(notes)
        self.log(f"  {name}: {m.wall:.2f}s wall ({len(yamls)} syncs), {m.requests} requests, ok={m.ok} {m.note[:300]}")
        return m

    # -- the seed's per-line loop --------------------------------------------------------------

    def sample(self, size: int) -> list[Line]:
        if size >= len(self.lines):
            return list(self.lines)
        return [self.lines[i * len(self.lines) // size] for i in range(size)]

    def _seed_loop(self, dest: Destination, sample: list[Line], logdir: Path) -> dict[str, Any]:
        env = base_env(self.home)
        copies = inspects = failures = 0
        started = time.monotonic()
        with open(logdir / "seed-loop.log", "ab") as log:
            for line in sample:
                src, dst = self.src_ref(line), self.dest_ref(dest, line)
                raw: list[bytes | None] = []
                for ref in (src, dst):
                    proc = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                                          capture_output=True, env=env, check=False)
                    inspects += 1
                    raw.append(proc.stdout if proc.returncode == 0 else None)
                if raw[0] is None:
                    failures += 1
                    continue
                if raw[1] is not None and hashlib.sha256(raw[0]).digest() == hashlib.sha256(raw[1]).digest():
                    continue
                proc = subprocess.run(
                    ["skopeo", "copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
                     f"docker://{src}", f"docker://{dst}"],
                    stdout=subprocess.DEVNULL, stderr=log, env=env, check=False,
                )
                copies += 1
                failures += proc.returncode != 0
        return {"wall": time.monotonic() - started, "copies": copies, "inspects": inspects, "failures": failures}

    async def seed_loop(self, dest: Destination, scenario: str, size: int) -> Measurement:
        sample = self.sample(size)
        logdir = self.rundir / "logs"
        logdir.mkdir(parents=True, exist_ok=True)
        self.src_proxy.reset()
        dest.proxy.reset()
        done = await asyncio.to_thread(self._seed_loop, dest, sample, logdir)
        src, dst = self.src_proxy.reset(), dest.proxy.reset()
        per_line = done["wall"] / len(sample)
        m = Measurement("seed loop (skopeo inspect ×2 + copy)", scenario, per_line * len(self.lines),
                        done["failures"] == 0, len(self.lines), None, None, None, src.snapshot(), dst.snapshot(),
                        note=f"sample of {len(sample)} lines took {done['wall']:.1f}s, extrapolated per line",
                        extra={"sample": len(sample), "sample_wall": done["wall"], "per_line": per_line,
                               "copies": done["copies"], "inspects": done["inspects"]})
        self.log(f"  seed loop ({scenario}): {len(sample)} lines in {done['wall']:.1f}s "
                 f"({per_line * 1000:.0f} ms/line, {done['copies']} copies, {done['failures']} failures)")
        return m


def _proc_cpu(server: RegistryServer | None) -> float:
    proc = getattr(server, "_proc", None)
    if proc is None:
        return 0.0
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def per_line(m: Measurement, attr: str = "wall") -> float:
    value = getattr(m, attr)
    return value / m.lines if value is not None and m.lines else float("nan")


def summarize_runs(runs: list[Measurement]) -> Measurement:
    """The median run (by wall time) stands for the scenario; the others are kept in ``extra``."""
    ordered = sorted(runs, key=lambda r: r.wall)
    chosen = ordered[len(ordered) // 2]
    chosen.extra = {**chosen.extra, "walls": [round(r.wall, 3) for r in runs],
                    "engines": [r.engine for r in runs], "repeats": len(runs)}
    return chosen

