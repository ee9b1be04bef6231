"""Markdown tables and the target check from a run's ``results.json`` document."""

from __future__ import annotations

from typing import Any

from . import artifacts, biglayers, discovery_run, rancher2026, startup

__all__ = ["render", "targets"]

DEFAULT_CONCURRENCY = 8


def _find(doc: dict[str, Any], scenario: str, prefix: str) -> dict[str, Any] | None:
    for m in doc["measurements"]:
        if m["scenario"] == scenario and m["tool"].startswith(prefix):
            return m
    return None


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _requests(m: dict[str, Any]) -> int:
    return int(m["source"].get("total", 0)) + int(m["destination"].get("total", 0))


def _per_line(m: dict[str, Any]) -> float:
    if m["tool"].startswith("seed loop"):
        return float(m["extra"]["per_line"])
    return float(m["wall"]) / max(1, int(m["lines"]))


def _same_set_native(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Native cold run on the same lines as the skopeo baselines (the baseline set or the main run)."""
    found = _find(doc, "cold", "image-mirror sync --copier native (baseline set)")
    return found or _find(doc, "cold", "image-mirror sync --copier native")


def _bound(m: dict[str, Any], delay: float) -> float:
    per_host = list(m["source"].get("by_prefix", {}).values()) + [int(m["destination"].get("total", 0))]
    return max(per_host) * delay / int(m.get("extra", {}).get("concurrency", DEFAULT_CONCURRENCY))


def _walls(m: dict[str, Any]) -> str:
    walls = m.get("extra", {}).get("walls")
    return f" ({', '.join(f'{w:.1f}' for w in walls)})" if walls and len(walls) > 1 else ""


def _cpu_notes(rows: list[dict[str, Any]], cores: int) -> list[str]:
    out = []
    for m in rows:
        other = m.get("extra", {}).get("cpu_others")
        if not other or m.get("cpu") is None:
            continue
        total = m["cpu"] + sum(other.values())
        out.append(f"- CPU, {m['tool']}: image-mirror {m['cpu']:.1f} s, latency proxies (bench) "
                   f"{other['bench_proxies']:.1f} s, source registry {other['source_registry']:.1f} s, destination "
                   f"registry {other['destination_registry']:.1f} s = {total:.1f} s in {m['wall']:.1f} s wall "
                   f"({total / m['wall']:.2f} of {cores} cores)")
    return out


def targets(doc: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    info = doc["info"]
    delay = info["delay_ms"] / 1000
    rows: list[tuple[str, str, bool | None]] = []
    warm = _find(doc, "warm", "image-mirror sync --copier native")
    if warm and "(concurrency" in warm["tool"]:
        warm = next((m for m in doc["measurements"] if m["scenario"] == "warm"
                     and m["tool"] == "image-mirror sync --copier native"), warm)
    if warm:
        per_line = _requests(warm) / warm["lines"]
        rows.append(("warm no-op ≤ 2 requests per line", f"{per_line:.2f}", per_line <= 2))
        bound = _bound(warm, delay)
        for label, value in (("wall", warm["wall"]), ("engine", warm["engine"])):
            r = _ratio(value, bound)
            rows.append((f"warm no-op within 1.5× of the latency bound ({label})",
                         f"{_f(value)} s vs {bound:.2f} s = {_f(r)}×", None if r is None else r <= 1.5))
        loop = _find(doc, "warm", "seed loop")
        if loop:
            r = _ratio(_per_line(loop), _per_line(warm))
            rows.append(("warm ≥ 20× faster than the seed's loop", f"{_f(r, 1)}×", None if r is None else r >= 20))
    missing = _find(doc, "missing", "image-mirror")
    if missing:
        per_repo = _requests(missing) / max(1, info["destination_repositories"])
        rows.append(("--missing ≤ 2 requests per repository", f"{per_repo:.2f}", per_repo <= 2))
    cold = _find(doc, "cold", "image-mirror sync --copier native")
    same = _same_set_native(doc)
    sync = _find(doc, "cold", "skopeo sync")
    if same and sync:
        r = _ratio(_per_line(sync), _per_line(same))
        rows.append((f"cold ≥ 3× faster than skopeo sync (same {sync['lines']} lines)", f"{_f(r, 2)}×",
                     None if r is None else r >= 3))
    if cold:
        puts = cold["destination"].get("blob_puts", 0)
        dups = cold["destination"].get("blob_put_duplicates", 0)
        expected = cold["extra"].get("expected_blob_pairs", info["expected_blob_pairs"])
        mounts = cold["destination"].get("mounts", 0)
        rows.append(("every distinct blob sent once per destination repository",
                     f"{puts} PUTs + {mounts} mounts for {expected} (repository, blob) pairs, {dups} duplicates",
                     dups == 0 and puts + mounts <= expected))
    seq = _find(doc, "discovery", "image-mirror discover (every")
    par = _find(doc, "discovery", "image-mirror discover (default")
    if seq and par:
        r = _ratio(seq["wall"], par["wall"])
        rows.append(("discovery ≥ 10× faster than the sequential shape (wall)", f"{_f(r, 2)}×",
                     None if r is None else r >= 10))
        r2 = _ratio(seq["engine"], par["engine"])
        rows.append(("discovery ≥ 10× faster than the sequential shape (engine)", f"{_f(r2, 2)}×",
                     None if r2 is None else r2 >= 10))
    if doc.get("discovery"):
        rows.append(discovery_run.target(doc["discovery"]))
    rss = [m["rss_mib"] for m in doc["measurements"] if m["tool"].startswith("image-mirror") and m["rss_mib"]]
    if rss:
        rows.append(("peak RSS ≤ 150 MB (largest image-mirror run)", f"{max(rss):.1f} MiB", max(rss) <= 150))
    if doc.get("startup"):
        rows += startup.targets(doc["startup"])
    return rows + artifacts.targets(doc)


def render(doc: dict[str, Any]) -> str:
    info = doc["info"]
    delay = info["delay_ms"] / 1000
    mach = info["machine"]
    out = [
        f"## Run: {info['lines']} lines ({'quick' if info['quick'] else 'full'}), "
        f"{info['delay_ms']:g} ms per request",
        "",
        f"Machine: {mach['nproc']} cores, {mach['memory']}, kernel {mach['kernel']}, Python {mach['python']}, "
        f"{mach['skopeo']}, docker-registry {mach['docker-registry']}; load average at start "
        f"{mach['loadavg_at_start']}, at end {info.get('loadavg_at_end')}. Code: {info.get('code')}.",
        "",
        f"Set: {info['lines']} lines, {info['source_images']} distinct source images in "
        f"{info['source_repositories']} repositories → {info['destination_repositories']} destination "
        f"repositories, {info['expected_blob_pairs']} distinct (destination repository, blob) pairs. "
        f"image-mirror start-up (`--version`): {info.get('startup_seconds')} s. "
        f"Seeding this run: {info.get('seed_seconds')} s ({info.get('seeded_images')} images stored).",
        "",
        "*wall* is the process's wall time (start-up included); *engine* is the tool's own elapsed "
        "(image-mirror's report / event log). Times in seconds; medians where repeated (runs in brackets).",
        "",
    ]

    cold_rows = [m for m in doc["measurements"] if m["scenario"] == "cold"]
    if cold_rows:
        native = _find(doc, "cold", "image-mirror sync --copier native")
        same = _same_set_native(doc)
        all_lines = info["all_lines"]
        out += ["### 1. Cold sync", "",
                "| tool | lines run | wall | engine | ms/line | est. wall for the full list | requests src+dst | "
                "blob PUTs (dup) / needed | mounts | CPU s | peak RSS MiB | ok | ms/line ÷ native's (same set) |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for m in cold_rows:
            ref = same if same and m["lines"] == same["lines"] else native
            ratio = _ratio(_per_line(m), _per_line(ref)) if ref else None
            needed = m.get("extra", {}).get("expected_blob_pairs", "–")
            out.append(
                f"| {m['tool']} | {m['extra'].get('sample', m['lines'])} | {_f(m['extra'].get('sample_wall', m['wall']), 1)}"
                f"{_walls(m)} | {_f(m['engine'], 1)} | {_per_line(m) * 1000:.0f} | {_per_line(m) * all_lines:.0f} | "
                f"{m['source'].get('total', 0)}+{m['destination'].get('total', 0)} | "
                f"{m['destination'].get('blob_puts', '–')} ({m['destination'].get('blob_put_duplicates', '–')}) / "
                f"{needed} | {m['destination'].get('mounts', '–')} | {_f(m['cpu'], 1)} | {_f(m['rss_mib'], 1)} | "
                f"{'yes' if m['ok'] else 'NO'} | {_f(ratio, 2)} |")
        out += ["", "The seed loop runs on a sample; its *wall* is the sample's, *ms/line* extrapolates it. "
                "skopeo sync copies each distinct source tag once (lines sharing a source tag count once). "
                "*needed* = distinct (destination repository, blob) pairs of the set.", ""]
        for m in cold_rows:
            if m.get("note") and not m["tool"].startswith("seed loop"):
                out.append(f"- {m['tool']}: {m['note']}")
        out += _cpu_notes(cold_rows, mach["nproc"])
        out.append("")

    warm_rows = [m for m in doc["measurements"] if m["scenario"] == "warm"]
    if warm_rows:
        native = next((m for m in warm_rows if m["tool"] == "image-mirror sync --copier native"), None)
        out += ["### 2. Warm no-op (everything present)", "",
                "| tool | lines run | wall | engine | ms/line | requests | per line | latency bound | wall ÷ bound | CPU s | peak RSS MiB | ms/line ÷ native's |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for m in warm_rows:
            bound = _bound(m, delay)
            ratio = _ratio(_per_line(m), _per_line(native)) if native else None
            run_lines = m["extra"].get("sample", m["lines"])
            out.append(
                f"| {m['tool']} | {run_lines} | {_f(m['extra'].get('sample_wall', m['wall']), 2)}{_walls(m)} | "
                f"{_f(m['engine'], 2)} | {_per_line(m) * 1000:.1f} | {_requests(m)} | "
                f"{_requests(m) / run_lines:.2f} | {bound:.2f} | {_f(_ratio(m['extra'].get('sample_wall', m['wall']), bound), 2)} | "
                f"{_f(m['cpu'], 1)} | {_f(m['rss_mib'], 1)} | {_f(ratio, 1)} |")
        out += ["", "Latency bound = the busiest host's requests × delay ÷ its allowed concurrency "
                f"({DEFAULT_CONCURRENCY}, the default, unless the row says; source hosts and the destination run side by side). "
                "The seed loop's requests are those of its sample only.", ""]
        for m in warm_rows:
            if m.get("note"):
                out.append(f"- {m['tool']}: {m['note']}")
        out += _cpu_notes(warm_rows, mach["nproc"])
        out.append("")

    missing = _find(doc, "missing", "image-mirror")
    if missing:
        repos = info["destination_repositories"]
        out += ["### 3. Warm `--missing`", "",
                "| tool | wall | engine | requests | destination repositories | per repository | peak RSS MiB |",
                "|---|---|---|---|---|---|---|",
                f"| {missing['tool']} | {_f(missing['wall'], 2)}{_walls(missing)} | {_f(missing['engine'], 2)} | "
                f"{_requests(missing)} | {repos} | {_requests(missing) / max(1, repos):.2f} | "
                f"{_f(missing['rss_mib'], 1)} |", ""]

    disc = [m for m in doc["measurements"] if m["scenario"] == "discovery"]
    if disc:
        out += ["### 4. Discovery (config shaped like rancher-config-2024-12.json, 22 entries)", "",
                "| shape | wall | engine | requests (github/tags/charts) | CPU s | peak RSS MiB | ok |",
                "|---|---|---|---|---|---|---|"]
        for m in disc:
            req = m["extra"]["requests"]
            parts = "/".join(str(req[k]["total"]) for k in ("github", "tags", "charts"))
            out.append(f"| {m['tool']} | {_f(m['wall'], 2)}{_walls(m)} | {_f(m['engine'], 2)} | "
                       f"{m['source']['total']} ({parts}) | {_f(m['cpu'], 1)} | {_f(m['rss_mib'], 1)} | "
                       f"{'yes' if m['ok'] else 'NO'} |")
        out.append("")
        for m in disc:
            if m.get("note"):
                out.append(f"- {m['tool']}: {m['note']}")
        out.append("")
        if doc.get("discovery"):
            out += [discovery_run.render(doc["discovery"]), ""]

    if doc.get("biglayers"):
        out += biglayers.render(doc["biglayers"])
    out += artifacts.render(doc)
    if doc.get("rancher2026"):
        out += ["### Rancher-2026-shaped sync", "", rancher2026.render(doc["rancher2026"])]
    if doc.get("startup"):
        out += startup.render(doc["startup"])
    out += ["### Targets", "", "| target | measured | met |", "|---|---|---|"]
    for label, value, met in targets(doc):
        out.append(f"| {label} | {value} | {'–' if met is None else ('yes' if met else '**no**')} |")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # python -m bench.report results.json: re-render a run's tables
    import json
    import sys

    print(render(json.loads(open(sys.argv[1], encoding="utf-8").read())))
