"""Rancher's real ``config.yaml`` (7,526 copies), warm: image-mirror's defaults against regsync's shape.

Rancher's workflow turns its ``config.yaml`` into a ``regsync.yaml`` of 7,526 entries and runs
regsync, which handles one entry at a time. ``image-mirror sync --images-list config.yaml``
does the same copies. Most runs find everything already mirrored, so the warm no-op is the
number that matters (issue 19: the ratio, goal ≥ 50 ×).

The bed: one ``docker-registry`` (storage kept under ``--workdir``) stands in for every host of
the file, each host under its own ``repository_prefix`` (as in
``tests/integration/sync/test_real_artifacts_plan.py``), behind one latency proxy. Every
distinct source tag (2,390) is a tiny image, and every copy's target already holds the same
manifest: it is pushed directly, with the same content, so the warm state needs no slow copy
through the proxy. The proxy counts requests per host (``by_prefix``).

Runs (scenario ``artifacts``):

* the tool's defaults on the whole file;
* regsync's shape as the issue states it: ``--jobs 1`` and ``concurrency: 1`` for every host
  in the registries file, on the whole file. Lines are still planned by the tool's worker
  pool, so the hosts still answer side by side, one request each at a time;
* one entry at a time, strictly: the same flags, and the proxy lets one request through at a
  time (regsync waits for each request of an entry, and for each entry, before the next).
  This one is slow (a request per copy, plus one per source tag, each 20 ms and more), so it
  runs on an evenly spaced subset of the artifact tags (``--artifacts-copies``), written as a
  ``config.yaml`` in the run directory, beside the defaults on that same subset; the
  comparison is per copy.

``python -m bench.artifacts`` runs this alone; ``python -m bench`` runs it unless
``--skip artifacts``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from mirror.imageslist import Line
from mirror.lists.artifacts import ArtifactsConfig
from mirror.lists.artifacts_format import render_config
from mirror.lists.artifacts_read import read_artifacts
from mirror.lists.mirrorlist import artifacts_lines

from .proxy import LatencyProxy
from .runner import base_env, image_mirror_argv, run
from .seed import REPO_ROOT  # also puts the repository root on sys.path for ``tests``
from .sync import Measurement, _proc_cpu, summarize_runs

from tests.support.data import REAL_ARTIFACTS  # noqa: E402
from tests.support.images import get_manifest, push_image  # noqa: E402
from tests.support.registry import RegistryServer  # noqa: E402

__all__ = ["ArtifactsBed", "measure", "render", "subset_config", "targets"]

SCENARIO = "artifacts"
#: Bump when the shape of seeded images changes: the stored data is then rebuilt.
SCHEME = 1
GOAL = 50.0
DEFAULT_CONCURRENCY = 8  # mirror.registry.hosts.DEFAULT_CONCURRENCY (the file sets no ReqConcurrent)
TOOL_DEFAULT = "image-mirror sync (defaults)"
TOOL_REGSYNC = "image-mirror sync --jobs 1, concurrency: 1 for every host"
TOOL_STRICT = "one entry at a time (--jobs 1, concurrency: 1, one request on the wire at a time)"


def _prefix(host: str) -> str:
    return host.replace(":", "-")


def _source_key(line: Line) -> str:
    return f"{line.source.name}:{line.tag}"


def subset_config(config: ArtifactsConfig, copies: int) -> ArtifactsConfig:
    """About ``copies`` copies of ``config``: evenly spaced (artifact, mirrored tag) pairs, each
    with all its targets. Names and targets are kept; ``DoNotMirror`` tags are left out."""
    pairs = [(index, tag) for index, artifact in enumerate(config.artifacts) for tag in artifact.mirrored_tags]
    total = len(artifacts_lines(config))
    wanted = max(1, round(len(pairs) * copies / total))
    if wanted >= len(pairs):
        return config
    kept: dict[int, list[str]] = {}
    for i in range(wanted):
        index, tag = pairs[i * len(pairs) // wanted]
        kept.setdefault(index, []).append(tag)
    artifacts = tuple(replace(config.artifacts[index], tags=tuple(tags), do_not_mirror=None)
                      for index, tags in sorted(kept.items()))
    return replace(config, artifacts=artifacts)


class _OneAtATime(LatencyProxy):
    """A latency proxy that forwards one request at a time, as a client doing one entry at a time."""

    def __init__(self, upstream: str, *, delay: float, name: str) -> None:
        super().__init__(upstream, delay=delay, name=name)
        self._turn = asyncio.Lock()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        async with self._turn:
            return await super()._handle(request)


class ArtifactsBed:
    """The seeded registry for every host of ``config``, its latency proxies, and the runs."""

    def __init__(self, *, workdir: Path, rundir: Path, delay: float, log: Callable[[str], None],
                 config: Path = REAL_ARTIFACTS) -> None:
        self.config_path = config
        self.config = read_artifacts(config)
        self.lines = artifacts_lines(self.config)
        self.rundir = rundir / SCENARIO
        self.delay = delay
        self.log = log
        self.storage = workdir / "artifacts-storage"
        self.index_path = workdir / "artifacts-seed.json"
        self.hosts = sorted({line.source.host for line in self.lines} | {line.destination.host for line in self.lines})
        self.server: RegistryServer | None = None
        self.proxy = LatencyProxy("http://unset", delay=delay, name="artifacts")
        self.serial = _OneAtATime("http://unset", delay=delay, name="artifacts-one-at-a-time")
        self.seed_seconds = 0.0
        self.digests: dict[str, str] = {}

    # -- seeding ---------------------------------------------------------------------------------

    def _fingerprint(self) -> str:
        text = "\n".join(f"{_source_key(line)} {line.destination.name}" for line in self.lines)
        return hashlib.sha256(text.encode()).hexdigest()

    def _stored(self) -> dict[str, str] | None:
        try:
            doc = json.loads(self.index_path.read_text())
        except (OSError, ValueError):
            return None
        if doc.get("scheme") != SCHEME or doc.get("fingerprint") != self._fingerprint():
            return None
        return dict(doc["digests"])

    def _targets(self) -> dict[str, list[str]]:
        """Source tag → destination repositories holding it (a target written twice: the last line's)."""
        winner: dict[tuple[str, str], Line] = {(line.destination.name, line.tag): line for line in self.lines}
        out: dict[str, list[str]] = {}
        for line in self.lines:
            out.setdefault(_source_key(line), [])
        for (destination, _), line in winner.items():
            out[_source_key(line)].append(f"{_prefix(line.destination.host)}/{line.destination.repository}")
        return out

    def _push(self, url: str, line: Line, destinations: list[str]) -> tuple[str, str]:
        """The source tag, then the same image (same seed, same digest) at every target."""
        source = f"{_prefix(line.source.host)}/{line.source.repository}"
        kind = "oci-index" if int(hashlib.sha256(source.encode()).hexdigest(), 16) % 2 == 0 else "docker-list"
        digest = ""
        for repo in (source, *destinations):
            pushed = push_image(url, repo, line.tag, kind=kind,  # type: ignore[arg-type]
                                layers_seed=_source_key(line), shared_layer=f"base layer of {source}\n".encode())
            if digest and pushed.digest != digest:
                raise RuntimeError(f"{repo}:{line.tag}: digest {pushed.digest}, source has {digest}")
            digest = pushed.digest
        return _source_key(line), digest

    def _seed(self) -> float:
        stored = self._stored() if self.storage.is_dir() else None
        if stored is not None:
            self.server = RegistryServer(storage_dir=self.storage).start()
            if self._spot_check(stored):
                self.digests = stored
                self.log(f"artifacts seed: reusing {len(stored)} source tags and their copies in {self.storage}")
                return 0.0
            self.log("artifacts seed: stored data does not answer as recorded; reseeding")
            self.server.stop()
        shutil.rmtree(self.storage, ignore_errors=True)
        self.index_path.unlink(missing_ok=True)
        self.storage.mkdir(parents=True)
        self.server = RegistryServer(storage_dir=self.storage).start()
        targets = self._targets()
        first = {_source_key(line): line for line in reversed(self.lines)}
        self.log(f"artifacts seed: pushing {len(targets)} source tags and {len(self.lines)} copies to {self.storage}")
        started = time.monotonic()
        url = self.server.url
        with ThreadPoolExecutor(max_workers=8) as pool:
            self.digests = dict(pool.map(lambda key: self._push(url, first[key], targets[key]), sorted(targets)))
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"scheme": SCHEME, "fingerprint": self._fingerprint(), "digests": self.digests}))
        tmp.replace(self.index_path)
        elapsed = time.monotonic() - started
        self.log(f"artifacts seed: done in {elapsed:.1f}s")
        return elapsed

    def _spot_check(self, stored: dict[str, str]) -> bool:
        assert self.server is not None
        lines = random.Random(1).sample(list(self.lines), min(5, len(self.lines)))
        for line in lines:
            for host, repo in ((line.source.host, line.source.repository),
                               (line.destination.host, line.destination.repository)):
                try:
                    found = get_manifest(self.server.url, f"{_prefix(host)}/{repo}", line.tag)
                except Exception:
                    return False
                if found.digest != stored.get(_source_key(line)):
                    return False
        return True

    async def start(self) -> None:
        self.rundir.mkdir(parents=True, exist_ok=True)
        self.seed_seconds = await asyncio.to_thread(self._seed)
        assert self.server is not None
        for proxy in (self.proxy, self.serial):
            proxy.upstream = self.server.url
            await proxy.start()

    async def stop(self) -> None:
        for proxy in (self.proxy, self.serial):
            await proxy.close()
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)
            self.server = None

    # -- runs ------------------------------------------------------------------------------------

    def write_subset(self, copies: int) -> tuple[Path, int]:
        """A config.yaml of about ``copies`` copies in the run directory, and its exact count."""
        config = subset_config(self.config, copies)
        if config is self.config:
            return self.config_path, len(self.lines)
        path = self.rundir / f"config-{copies}.yaml"
        path.write_text(render_config(config))
        return path, len(artifacts_lines(read_artifacts(path)))

    def _registries(self, proxy: LatencyProxy, name: str, concurrency: int | None) -> Path:
        limit = f"  concurrency: {concurrency}\n" if concurrency else ""
        text = "".join(f"{host}:\n  endpoint: {proxy.url}\n  repository_prefix: {_prefix(host)}\n{limit}"
                       for host in self.hosts)
        path = self.rundir / f"registries-{name}.yaml"
        path.write_text(text)
        return path

    def _env(self) -> dict[str, str]:
        """The run's environment: every ``{{ env "NAME" }}`` of the file set (the local registry
        asks for no credentials, but an unset variable would fail its registry's lines)."""
        names = {credential.env_name for repo in self.config.repositories
                 for credential in (repo.username, repo.password)} - {None}
        return base_env(self.rundir / "home", {str(name): "bench" for name in names})

    async def sync(self, name: str, tool: str, config: Path, copies: int, *, sequential: bool = False,
                   strict: bool = False, concurrency: int | None = None, profile: Path | None = None,
                   tree: Path = REPO_ROOT) -> Measurement:
        """One ``image-mirror sync`` of ``config``; ok only when every copy was found present.

        ``concurrency``: that limit for every host in the registries file (an experiment; the
        defaults set none). ``profile``: run under cProfile, stats written there (not a measured run).
        ``tree``: the checkout whose ``mirror/`` (and ``bench/_cli.py``) runs: the working directory."""
        proxy = self.serial if strict else self.proxy
        limit = 1 if sequential else concurrency
        registries = self._registries(proxy, name, limit)
        report = self.rundir / f"{name}.report.json"
        report.unlink(missing_ok=True)
        argv = image_mirror_argv("--registries", str(registries), "--images-list", str(config), "--no-cache",
                                 "--log-format", "json", "sync", *(["--jobs", "1"] if sequential else []),
                                 "--report", str(report))
        proxy.reset()
        before = (time.process_time(), _proc_cpu(self.server), os.getloadavg()[0])
        env = self._env()
        if profile is not None:
            env["BENCH_PROFILE"] = str(profile)
        result = await run(argv, env=env, logdir=self.rundir / "logs", name=name, cwd=tree)
        counted = proxy.reset().snapshot()
        # What else served the run: this process (the latency proxy) and the registry; the load.
        others = {"bench_proxies": round(time.process_time() - before[0], 2),
                  "registry": round(_proc_cpu(self.server) - before[1], 2)}
        load = [round(before[2], 1), round(os.getloadavg()[0], 1)]
        totals: dict[str, Any] = {}
        engine = None
        try:
            totals = json.loads(report.read_text())["totals"]
            engine = float(totals["elapsed"])
        except (OSError, ValueError, KeyError):
            pass
        skipped = int(totals.get("skipped", -1))
        ok = result.returncode == 0 and skipped == copies and not totals.get("failed") and not totals.get("copied")
        m = Measurement(tool, SCENARIO, result.wall, ok, copies, engine, result.cpu, result.rss_mib,
                        source={"total": counted["total"]},
                        extra={"proxy": counted, "totals": totals, "config": str(config),
                               "concurrency": limit or DEFAULT_CONCURRENCY,
                               "jobs": 1 if sequential else None, "one_request_at_a_time": strict,
                               "cpu_others": others, "loadavg_1min": load})
        if not ok:
            m.note = f"exit {result.returncode}, {skipped} of {copies} found present: {result.tail(5)}"
        self.log(f"  {name}: {m.wall:.2f}s wall, engine {engine}s, {m.requests} requests, "
                 f"rss {m.rss_mib and round(m.rss_mib, 1)} MiB, cpu {m.cpu:.1f}s + {others}, load {load}, "
                 f"ok={ok} {m.note[:300]}")
        return m


async def _repeat(make: Callable[[int], Any], repeats: int, slow: float) -> Measurement:
    runs = [await make(0)]
    if runs[0].wall < slow:
        for index in range(1, repeats):
            runs.append(await make(index))
    return summarize_runs(runs)


async def _interleaved(bed: ArtifactsBed, trees: dict[str, Path], repeats: int) -> list[Measurement]:
    """The defaults on the whole file from each checkout in turn, the order reversed every round
    (A B, B A, A B…): the median of ``repeats`` runs each, on the same bed minutes apart."""
    runs: dict[str, list[Measurement]] = {tool: [] for tool in trees}
    order = list(trees)
    for index in range(repeats):
        for tool in order if index % 2 == 0 else reversed(order):
            name = f"warm-default-{trees[tool].name}-{index}"
            runs[tool].append(await bed.sync(name, tool, bed.config_path, len(bed.lines), tree=trees[tool]))
    return [summarize_runs(measured) for measured in runs.values()]


#: The runs ``--shapes`` can pick, in the order they run.
SHAPES = ("defaults", "regsync", "subset")


async def measure(*, workdir: Path, rundir: Path, delay: float, log: Callable[[str], None], repeats: int = 3,
                  slow: float = 60.0, copies: int = 1000, quick: bool = False,
                  shapes: tuple[str, ...] = SHAPES, concurrency: tuple[int, ...] = (),
                  profile: bool = False, against: Path | None = None) -> tuple[dict[str, Any], list[Measurement]]:
    """Seed, then the runs of the module docstring: (info for the report, measurements).

    ``quick``: everything on the subset of ``copies`` only (the whole file is not run).
    ``shapes``: which of :data:`SHAPES` to run (``defaults``: the whole file, the tool's
    defaults; ``regsync``: the whole file, ``--jobs 1`` and ``concurrency: 1``; ``subset``:
    the subset runs). ``concurrency``: also the defaults shape on the whole file with each of
    these limits for every host (an experiment, not the defaults). ``profile``: one more run of
    the defaults on the whole file under cProfile (``warm-default.prof`` in the run directory).
    ``against``: another checkout; the defaults on the whole file then alternate between it and
    this tree (ABBA…, ``repeats`` runs each, medians), for a before/after on the same bed."""
    bed = ArtifactsBed(workdir=workdir, rundir=rundir, delay=delay, log=log)
    await bed.start()
    out: list[Measurement] = []
    try:
        subset, subset_copies = bed.write_subset(copies)
        info = {"config": str(bed.config_path), "copies": len(bed.lines), "source_tags": len(bed.digests),
                "hosts": len(bed.hosts), "subset_copies": subset_copies, "subset_config": str(subset),
                "seed_seconds": round(bed.seed_seconds, 1), "quick": quick}
        whole = bed.config_path, len(bed.lines)
        if not quick and "defaults" in shapes and against is not None:
            log(f"artifacts: the defaults on the whole file, {against} and this tree alternately")
            out += await _interleaved(bed, {f"{TOOL_DEFAULT} [{against.name}]": against,
                                            f"{TOOL_DEFAULT} [{REPO_ROOT.name}]": REPO_ROOT}, repeats)
        elif not quick and "defaults" in shapes:
            log(f"artifacts: warm sync of the whole config.yaml ({len(bed.lines)} copies), defaults")
            out.append(await _repeat(lambda i: bed.sync(f"warm-default-{i}", TOOL_DEFAULT, *whole), repeats, slow))
        for limit in () if quick else concurrency:
            log(f"artifacts: the same, concurrency: {limit} for every host (experiment)")
            out.append(await _repeat(lambda i: bed.sync(f"warm-concurrency{limit}-{i}",
                                                        f"{TOOL_DEFAULT}, concurrency: {limit} for every host",
                                                        *whole, concurrency=limit), repeats, slow))
        if profile and not quick:
            log("artifacts: the defaults once more under cProfile (not measured)")
            await bed.sync("warm-default-profiled", TOOL_DEFAULT, *whole, profile=bed.rundir / "warm-default.prof")
        if not quick and "regsync" in shapes:
            log("artifacts: the same, --jobs 1 and concurrency: 1 for every host")
            out.append(await bed.sync("warm-regsync-shape", TOOL_REGSYNC, *whole, sequential=True))
        if "subset" not in shapes:
            return info, out
        log(f"artifacts: subset of {subset_copies} copies ({subset.name}): defaults, then one entry at a time")
        m = await _repeat(lambda i: bed.sync(f"subset-default-{i}", TOOL_DEFAULT, subset, subset_copies),
                          repeats, slow)
        out.append(m)
        if quick:
            out.append(await bed.sync("subset-regsync-shape", TOOL_REGSYNC, subset, subset_copies, sequential=True))
        out.append(await bed.sync("subset-one-at-a-time", TOOL_STRICT, subset, subset_copies, sequential=True,
                                  strict=True))
    finally:
        await bed.stop()
    return info, out


# -- the report --------------------------------------------------------------------------------


def _rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in doc["measurements"] if m["scenario"] == SCENARIO]


def _per_copy(m: dict[str, Any]) -> float:
    return float(m["wall"]) / max(1, int(m["lines"]))


def _ratios(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(label, slow run, the defaults' run on the same copies) for each slow shape measured (the
    regsync shapes: the defaults with other limits, or from another checkout, are not baselines)."""
    rows = _rows(doc)
    out = []
    for slow in (m for m in rows if not m["tool"].startswith(TOOL_DEFAULT)):
        same = next((m for m in rows if m["tool"] == TOOL_DEFAULT and m["lines"] == slow["lines"]), None)
        if same is not None:
            out.append((slow["tool"], slow, same))
    return out


def targets(doc: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    rows: list[tuple[str, str, bool | None]] = []
    for label, slow, fast in _ratios(doc):
        ratio = _per_copy(slow) / _per_copy(fast)
        rows.append((f"config.yaml warm ≥ {GOAL:.0f}× faster per copy than {label} ({slow['lines']} copies)",
                     f"{ratio:.1f}× ({_per_copy(slow) * 1000:.1f} vs {_per_copy(fast) * 1000:.2f} ms per copy)",
                     ratio >= GOAL))
    return rows


def render(doc: dict[str, Any]) -> list[str]:
    rows = _rows(doc)
    if not rows:
        return []
    info = doc.get("artifacts", {})
    delay = doc["info"]["delay_ms"]
    out = [f"### Rancher's config.yaml, warm ({info.get('copies')} copies of {info.get('source_tags')} source tags, "
           f"{info.get('hosts')} hosts, {delay:g} ms per request)", "",
           "| run | copies | wall s | engine s | ms per copy | requests | per copy | busiest host | CPU s | "
           "CPU s proxy + registry | load (1 min) | peak RSS MiB | ok |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in rows:
        by_host = m["extra"]["proxy"].get("by_prefix", {})
        busiest = max(by_host.items(), key=lambda kv: kv[1]) if by_host else ("–", 0)
        walls = m["extra"].get("walls")
        spread = f" ({', '.join(f'{w:.1f}' for w in walls)})" if walls and len(walls) > 1 else ""
        engine = "–" if m["engine"] is None else f"{m['engine']:.2f}"
        cpu = "–" if m["cpu"] is None else f"{m['cpu']:.1f}"
        rss = "–" if m["rss_mib"] is None else f"{m['rss_mib']:.1f}"
        cpu_others = m["extra"].get("cpu_others")
        others = f"{cpu_others['bench_proxies']:.1f} + {cpu_others['registry']:.1f}" if cpu_others else "–"
        load = "–".join(str(x) for x in m["extra"].get("loadavg_1min", [])) or "–"
        out.append(f"| {m['tool']} | {m['lines']} | {m['wall']:.2f}{spread} | {engine} | {_per_copy(m) * 1000:.2f} | "
                   f"{m['source']['total']} | {m['source']['total'] / max(1, m['lines']):.2f} | "
                   f"{busiest[0]} {busiest[1]} | {cpu} | {others} | {load} | {rss} | {'yes' if m['ok'] else 'NO'} |")
    out.append("")
    for label, slow, fast in _ratios(doc):
        out.append(f"- {label}: {_per_copy(slow) / _per_copy(fast):.1f}× the defaults' time per copy "
                   f"(same {slow['lines']} copies)")
    for m in rows:
        if m.get("note"):
            out.append(f"- {m['tool']}: {m['note']}")
    return out + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.artifacts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the subset only (not the whole file)")
    parser.add_argument("--artifacts-copies", type=int, default=1000,
                        help="copies in the subset run one entry at a time (default 1000)")
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm/image-mirror-bench"))
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--shapes", default=",".join(SHAPES),
                        help=f"comma-separated runs to do, of {', '.join(SHAPES)} (default all)")
    parser.add_argument("--concurrency", default="",
                        help="comma-separated per-host limits: the defaults shape again with each (an experiment)")
    parser.add_argument("--profile", action="store_true",
                        help="one more defaults run on the whole file under cProfile (not measured)")
    parser.add_argument("--against", type=Path,
                        help="another checkout (e.g. a `git archive` of the base commit): the defaults on the "
                             "whole file alternate between it and this tree")
    args = parser.parse_args(argv)
    shapes = tuple(shape for shape in args.shapes.split(",") if shape)
    if not set(shapes) <= set(SHAPES):
        parser.error(f"--shapes: unknown {', '.join(sorted(set(shapes) - set(SHAPES)))}; choose from {', '.join(SHAPES)}")
    try:
        limits = tuple(int(limit) for limit in args.concurrency.split(",") if limit)
    except ValueError:
        parser.error(f"--concurrency: not a comma-separated list of numbers: {args.concurrency!r}")
    from . import __main__ as bench_main
    from . import runner

    runner.PYCACHE = args.workdir / "pycache"
    rundir = args.workdir / "runs" / time.strftime("%Y%m%d-%H%M%S")
    started = bench_main.machine()
    info, measurements = asyncio.run(measure(workdir=args.workdir, rundir=rundir, delay=args.delay_ms / 1000,
                                             log=bench_main._log, repeats=args.repeats,
                                             copies=args.artifacts_copies, quick=args.quick, shapes=shapes,
                                             concurrency=limits, profile=args.profile,
                                             against=args.against and args.against.resolve()))
    doc = {"info": {"delay_ms": args.delay_ms, "machine": started, "code": bench_main.code_state(),
                    "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
           "artifacts": info, "measurements": [m.as_json() for m in measurements]}
    (rundir / "artifacts-results.json").write_text(json.dumps(doc, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2, default=str))
    print("\n".join(render(doc)))
    for label, value, met in targets(doc):
        print(f"- {label}: {value}: {'met' if met else 'NOT met'}")
    print(f"machine: {started}, load at end {doc['info']['loadavg_at_end']}, code {doc['info']['code']}")
    return 0 if all(m.ok for m in measurements) else 1


if __name__ == "__main__":
    sys.exit(main())
