"""Big layers: a few images with 100–300 MiB incompressible layers, image-mirror beside ``skopeo sync``.

Why: the Rancher list's images are small, but real layers are not; a copier that holds a
blob in memory, or that cannot overlap download and upload, shows it here. Both tools
copy the same images from one seeded ``docker-registry`` into a fresh one each (no latency
proxy: the point is bytes, and a Python proxy would be the bottleneck), in the same run, so
the two numbers are comparable:

* throughput = layer bytes ÷ wall seconds, image-mirror's over skopeo's (target ≥ 0.9);
* image-mirror's peak RSS (``VmHWM`` of the process, bench._cli), target ≤ 150 MB.

``python -m bench.biglayers [--workdir DIR] [--sizes 100,200,300] [--repeats N]``, or as the
``biglayers`` scenario of ``python -m bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .runner import base_env, image_mirror_argv, run
from .seed import REPO_ROOT  # also puts the repository root on sys.path for ``tests``

from tests.support.images import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, push_blob, push_manifest  # noqa: E402
from tests.support.registry import RegistryServer  # noqa: E402

__all__ = ["measure", "render"]

MIB = 1024 * 1024
SIZES_MIB = (100, 200, 300)


def _seed(url: str, sizes: tuple[int, ...]) -> list[tuple[str, int]]:
    """One image per size: ``big/layer-<size>:1`` with one random layer; (repository, bytes)."""
    images = []
    for size in sizes:
        repo = f"big/layer-{size}"
        layer = os.urandom(size * MIB)
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": push_blob(url, repo, config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": push_blob(url, repo, layer), "size": len(layer)}],
        }).encode()  # fmt: skip
        push_manifest(url, repo, "1", manifest, OCI_MANIFEST)
        images.append((repo, len(layer) + len(config)))
    return images


async def _image_mirror(source: RegistryServer, dest: RegistryServer, images: list[tuple[str, int]],
                        rundir: Path, name: str) -> dict[str, Any]:
    listing = rundir / f"{name}.images-list"
    listing.write_text("".join(f"{source.host}/{repo} {dest.host}/mirror/{repo} 1\n" for repo, _ in images))
    registries = rundir / f"{name}.registries.yaml"
    registries.write_text(f"{source.host}:\n  endpoint: {source.url}\n{dest.host}:\n  endpoint: {dest.url}\n")
    env = base_env(rundir / "home", {"PYTHONPATH": str(REPO_ROOT)})
    argv = image_mirror_argv("--registries", str(registries), "--images-list", str(listing), "--no-cache",
                             "--log-format", "json", "sync", "--report", str(rundir / f"{name}.report.json"))
    result = await run(argv, env=env, logdir=rundir / "logs", name=name, cwd=REPO_ROOT)
    return {"wall": result.wall, "ok": result.returncode == 0, "rss_mib": result.rss_mib, "cpu": result.cpu,
            "note": "" if result.returncode == 0 else result.tail(5)}


async def _skopeo(source: RegistryServer, dest: RegistryServer, images: list[tuple[str, int]],
                  rundir: Path, name: str) -> dict[str, Any]:
    yaml = rundir / f"{name}.yaml"
    yaml.write_text(f"{source.host}:\n  tls-verify: false\n  images:\n"
                    + "".join(f"    {repo}:\n      - \"1\"\n" for repo, _ in images))
    argv = ["skopeo", "sync", "--all", "--src", "yaml", "--dest", "docker", "--src-tls-verify=false",
            "--dest-tls-verify=false", str(yaml), f"{dest.host}/skopeo"]
    result = await run(argv, env=base_env(rundir / "home"), logdir=rundir / "logs", name=name)
    return {"wall": result.wall, "ok": result.returncode == 0, "cpu": result.cpu,
            "note": "" if result.returncode == 0 else result.tail(5)}


async def measure(workdir: Path, log: Callable[[str], None], sizes: tuple[int, ...] = SIZES_MIB,
                  repeats: int = 3) -> dict[str, Any]:
    """Seed once, then ``repeats`` rounds of (image-mirror, skopeo sync), each into a fresh registry."""
    rundir = workdir / "biglayers"
    shutil.rmtree(rundir, ignore_errors=True)
    rundir.mkdir(parents=True)
    storage = Path(tempfile.mkdtemp(prefix="reg-big-", dir="/dev/shm"))
    source = RegistryServer(storage_dir=storage)
    await asyncio.to_thread(source.start)
    rounds: list[dict[str, Any]] = []
    try:
        started = time.monotonic()
        images = await asyncio.to_thread(_seed, source.url, sizes)
        total = sum(size for _, size in images)
        log(f"biglayers: seeded {len(images)} images, {total / MIB:.0f} MiB, in {time.monotonic() - started:.1f}s")
        for index in range(repeats):
            row: dict[str, Any] = {}
            for tool, copy in (("image-mirror", _image_mirror), ("skopeo", _skopeo)):
                dest = RegistryServer()
                await asyncio.to_thread(dest.start)
                try:
                    row[tool] = await copy(source, dest, images, rundir, f"{tool}-{index}")
                finally:
                    await asyncio.to_thread(dest.stop)
                row[tool]["mib_per_s"] = total / MIB / row[tool]["wall"]
            log(f"  round {index}: image-mirror {row['image-mirror']['wall']:.2f}s "
                f"({row['image-mirror']['mib_per_s']:.0f} MiB/s, rss {row['image-mirror']['rss_mib']:.0f} MiB, "
                f"ok={row['image-mirror']['ok']}), skopeo {row['skopeo']['wall']:.2f}s "
                f"({row['skopeo']['mib_per_s']:.0f} MiB/s, ok={row['skopeo']['ok']})")
            rounds.append(row)
    finally:
        await asyncio.to_thread(source.stop)
        shutil.rmtree(storage, ignore_errors=True)
    ours = statistics.median(r["image-mirror"]["mib_per_s"] for r in rounds)
    theirs = statistics.median(r["skopeo"]["mib_per_s"] for r in rounds)
    peak = max(r["image-mirror"]["rss_mib"] or 0 for r in rounds)
    return {"sizes_mib": list(sizes), "bytes": total, "rounds": rounds, "image_mirror_mib_per_s": ours,
            "skopeo_mib_per_s": theirs, "ratio": ours / theirs, "peak_rss_mib": peak,
            "ok": all(r["image-mirror"]["ok"] and r["skopeo"]["ok"] for r in rounds)}


def render(result: dict[str, Any]) -> list[str]:
    """The report's section (bench/report.py)."""
    out = [f"### Big layers ({', '.join(f'{s} MiB' for s in result['sizes_mib'])}, one image each, no latency)", "",
           "| round | image-mirror s | MiB/s | peak RSS MiB | skopeo sync s | MiB/s |", "|---|---|---|---|---|---|"]
    for index, row in enumerate(result["rounds"]):
        ours, theirs = row["image-mirror"], row["skopeo"]
        out.append(f"| {index} | {ours['wall']:.2f} | {ours['mib_per_s']:.0f} | {ours['rss_mib'] or 0:.0f} | "
                   f"{theirs['wall']:.2f} | {theirs['mib_per_s']:.0f} |")
    out += ["", f"Throughput (medians): image-mirror {result['image_mirror_mib_per_s']:.0f} MiB/s, skopeo sync "
            f"{result['skopeo_mib_per_s']:.0f} MiB/s: **{result['ratio']:.2f}×** (target ≥ 0.9×); image-mirror's "
            f"peak RSS {result['peak_rss_mib']:.0f} MiB (target ≤ 150 MB).", ""]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.biglayers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm/image-mirror-bench"))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES_MIB)), help="layer sizes in MiB")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    result = asyncio.run(measure(args.workdir, lambda m: print(m, file=sys.stderr, flush=True), sizes,
                                 args.repeats))
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
