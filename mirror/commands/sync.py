"""``image-mirror sync``: mirror every images-list line (the seed's image-mirror.sh).

Reads every valid line (bad lines are reported and make the exit code 1, they
do not stop the others), applies ``DEST_REGISTRY_OVERRIDE`` / ``DEST_ORG_OVERRIDE``
and ``--shard``, then runs :func:`mirror.pipeline.sync.sync`. Bad options exit 2
before any request is made.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import anyio

from ..copy import COPIERS, check_supported, make_copier
from ..errors import InputError, WriteError
from ..events import EventSink, Stats
from ..events.sync import SyncInvalid
from ..pipeline.platforms import PlatformSpec, parse_platforms
from ..pipeline.selection import Shard
from ..pipeline.sync import Outcome, SyncOptions, SyncReport, sync
from ..registry import CredentialStore, Registries, load_registries
from ..runtime import open_runtime, open_transport
from ..referrers import ReferrerMirror, ReferrerOptions, parse_types
from ..pipeline.results import DEFAULT_JOBS, LineResult
from ..ui import open_sink
from ._metrics import collector_for, deliver
from ._results import exit_code
from ._selection import Selection, apply_list_settings, select_lines

if TYPE_CHECKING:
    from ..cli import Settings
    from ..metrics import MetricsCollector
    from ..output import Output

__all__ = ["by_target", "pulls", "register", "report_chunks", "run", "write_report"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Plan every line (HEAD source and destination; equal digests are skipped), then copy "
        "what differs with a bounded pool of workers. Every platform and digest is preserved unless "
        "--platforms is given. The destination's host and first path component can be replaced with "
        "DEST_REGISTRY_OVERRIDE and DEST_ORG_OVERRIDE, or a line sent to several --target registries. "
        "Exit 1 when any line failed or was invalid."
    )
    parser.add_argument("--missing", action="store_true",
                        help="only copy tags absent at the destination (one tag list per repository, "
                             "no digest comparison)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; copy nothing")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, metavar="N",
                        help=f"copies at the same time: sources being copied, each to all its destinations "
                             f"(default {DEFAULT_JOBS}, chosen by measurement; the per-host request limits of the "
                             f"registries file bound the requests)")
    parser.add_argument("--copier", choices=COPIERS, default="native",
                        help="native (default, aiohttp), skopeo (skopeo copy --all) or oras (OCI artifacts)")
    parser.add_argument("--platforms", metavar="LIST",
                        help="copy only these platforms of an index, e.g. linux/amd64,linux/arm64 "
                             "(the index is re-written, so its digest changes)")
    parser.add_argument("--arch-tags", action="store_true",
                        help="also tag each platform as TAG-<arch><variant> (amd64, arm64, arm, s390x), "
                             "as the seed's image-mirror.sh did")
    parser.add_argument("--target", action="append", default=[], metavar="REGISTRY[/PATH]",
                        help="mirror every line to this target too (repeatable; env IMAGE_MIRROR_TARGETS, "
                             "comma-separated): REGISTRY replaces the destination's host, PATH its first path "
                             "component; each source is read once for all targets")
    parser.add_argument("--referrers", action="store_true",
                        help="also copy what is attached to each image: OCI 1.1 referrers (signatures, attestations, "
                             "SBOMs) and cosign's sha256-<hex>.sig/.att/.sbom tags (native copier only; a "
                             "destination host can ask for it with referrers: true in the registries file)")
    parser.add_argument("--referrers-types", metavar="LIST",
                        help="only these artifact types of referrers: media types, or the aliases sig, att, sbom "
                             "(which also select cosign's tags), comma-separated")
    parser.add_argument("--shard", metavar="I/N",
                        help="only lines whose source repository hashes to shard I of N (I from 0)")
    parser.add_argument("--report", metavar="FILE", help="write every line's result as JSON to FILE")
    parser.set_defaults(handler=run)


def _options(args: argparse.Namespace, settings: Settings) -> tuple[SyncOptions, Shard | None]:
    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: must be at least 1")
    platforms: tuple[PlatformSpec, ...] = parse_platforms(args.platforms) if args.platforms is not None else ()
    if args.copier == "skopeo":
        check_supported(platforms=bool(platforms))
    shard = Shard.parse(args.shard) if args.shard is not None else None
    options = SyncOptions(jobs=args.jobs, missing=args.missing, dry_run=args.dry_run, platforms=platforms,
                          arch_tags=args.arch_tags, deadline=settings.deadline)
    return options, shard


def referrer_options(args: argparse.Namespace, registries: Registries, selection: Selection,
                     command: str = "sync") -> ReferrerOptions | None:
    """``--referrers`` / ``--referrers-types`` and the registries file's ``referrers: true``; None
    when no selected line copies referrers. Exit 2 for what cannot work (other copiers, a type
    filter nothing uses)."""
    wanted = args.referrers or any(registries.config(item.destination.host).referrers for item in selection.work)
    if args.referrers_types is not None and not wanted:
        raise InputError("--referrers-types: no line copies referrers; add --referrers "
                         "(or referrers: true for the destination host in the registries file)")
    if not wanted:
        return None
    copier = getattr(args, "copier", "native")
    if copier != "native":
        why = "--referrers" if args.referrers else "referrers: true in the registries file"
        raise InputError(f"{why} cannot be used with --copier {copier}: referrers are copied by the native copier "
                         f"only (leave --copier out, or copy them in a separate {command} run)")
    if args.referrers_types is None:
        return ReferrerOptions(everywhere=args.referrers)
    types, cosign = parse_types(args.referrers_types)
    return ReferrerOptions(types=types, cosign=cosign, everywhere=args.referrers)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    options, shard = _options(args, settings)
    selection = select_lines(settings.images_list, os.environ, shard, args.target)
    credentials = CredentialStore.from_environment()
    registries = apply_list_settings(selection, load_registries(settings.registries), credentials, os.environ)
    referrers = referrer_options(args, registries, selection)
    stats = Stats()
    collector = collector_for(settings, "sync", selection.lines_per_target())
    return anyio.run(_run, args, settings, out, options, shard, selection, registries, credentials, stats, collector,
                     referrers)


async def _run(args: argparse.Namespace, settings: Settings, out: Output, options: SyncOptions, shard: Shard | None,
               selection: Selection, registries: Registries, credentials: CredentialStore,
               stats: Stats, collector: MetricsCollector | None, referrers: ReferrerOptions | None) -> int:
    """The run, its summary, then its metrics through the run's transport (still open)."""
    async with open_transport(settings, stats, registries) as transport:
        with open_sink(settings.log_format, stats, out.stderr, "image-mirror sync", collector,
                       selection.lines_per_target()) as sink:
            async with open_runtime(settings, stats, sink, transport, credentials=credentials,
                                    discovery=False) as runtime:
                _report_problems(sink, selection.problems)
                copier = make_copier(args.copier, runtime.registry, credentials)
                report = await sync(selection.work, runtime.registry, copier, options, sink,
                                    referrers=ReferrerMirror(runtime.registry, referrers) if referrers else None)
        # The summary and the --report file are blocking writes: a worker thread.
        code = await anyio.to_thread.run_sync(_finish, args, settings, out, options, selection, shard, report,
                                              stats)
        await deliver(collector, stats, settings, code, out, transport,
                      instance=f"shard-{shard.index}" if shard else None)
    return code


def _report_problems(sink: EventSink, problems: list[str]) -> None:
    for problem in problems:
        sink.emit(SyncInvalid(problem))


def _finish(args: argparse.Namespace, settings: Settings, out: Output, options: SyncOptions,
            selection: Selection, shard: Shard | None, report: SyncReport, stats: Stats) -> int:
    if options.dry_run:
        for result in report.results:
            action = "copy" if result.outcome == Outcome.PLANNED else str(result.outcome)
            if result.outcome == Outcome.SKIPPED:
                action = "skip"
            out.data(f"{action:<6} {result.source}:{result.tag} -> {result.destination}:{result.tag}"
                     f"  ({result.reason})")
    for problem in selection.problems:
        out.error(f"invalid line skipped: {problem}")
    several = len(selection.targets) > 1
    for result in report.failed:
        where = f" (target {result.target})" if several else ""
        out.error(f"{result.source}:{result.tag} -> {result.destination}:{result.tag}{where}: {result.reason}")
    for result in report.referrers_failed:
        where = f" (target {result.target})" if several else ""
        for failure in result.referrers_failed:
            out.error(f"{result.source}:{result.tag} -> {result.destination}:{result.tag}{where}: referrer {failure}")
    totals = report.totals()
    per_target = by_target(report, selection.targets)
    scope = f" (shard {shard}: {len(selection.work)} of {selection.total} lines)" if shard else ""
    out.status(
        f"sync{scope}: {_counts(totals, options.dry_run)}"
        + (f", {len(selection.problems)} invalid line(s)" if selection.problems else "")
        + _referrers_summary(report)
        + f" in {totals['elapsed']:.1f}s"
        + ("; per target: " + "; ".join(f"{target} {_counts(counts, options.dry_run)}"
                                        for target, counts in per_target.items()) if several else "")
    )
    written = True
    if args.report:
        document = {
            "images_list": settings.images_list,
            "copier": args.copier,
            "shard": str(shard) if shard else None,
            "dry_run": options.dry_run,
            "totals": {**totals, "invalid": len(selection.problems)},
            "targets": per_target,
            "invalid": selection.problems,
            "pulls": pulls(stats),
        }
        try:
            write_report(args.report, document, report.results)
        except WriteError as exc:
            # The run itself is done: report the file, keep the summary and the metrics.
            out.error(str(exc))
            written = False
    return exit_code(out, failed=bool(report.failed or report.referrers_failed or selection.problems or not written),
                     tracebacks=(r.traceback for r in report.internal))


def _counts(totals: Mapping[str, int | float], dry_run: bool) -> str:
    return (f"{totals['copied']} copied, {totals['skipped']} skipped, {totals['failed']} failed"
            + (f", {totals['planned']} to copy (dry run)" if dry_run else ""))


#: What ``--report``'s ``targets`` holds for each target.
TARGET_TOTALS = ("lines", "copied", "skipped", "failed", "planned", "bytes")


def by_target(report: SyncReport, targets: Sequence[str]) -> dict[str, dict[str, int]]:
    """Every target's lines by outcome and its bytes sent, the list's targets first, in order."""
    out = {target: dict.fromkeys(TARGET_TOTALS, 0) for target in targets}
    for result in report.results:
        counts = out.setdefault(result.target, dict.fromkeys(TARGET_TOTALS, 0))
        counts["lines"] += 1
        counts[str(result.outcome)] += 1
        counts["bytes"] += result.bytes_sent
    return out


def _referrers_summary(report: SyncReport) -> str:
    copied = sum(r.referrers_copied for r in report.results)
    present = sum(r.referrers_present for r in report.results)
    failed = sum(len(r.referrers_failed) for r in report.results)
    if not (copied or present or failed):
        return ""
    return f"; referrers: {copied} copied, {present} present" + (f", {failed} failed" if failed else "")


def pulls(stats: Stats) -> dict[str, int]:
    """Manifest GETs answered 2xx per registry host (pulls, where the registry keeps a pull quota)."""
    return {name: host.pulls for name, host in sorted(stats.hosts.items())
            if host.pulls or host.pull_quota_remaining is not None}


def write_report(path: str, document: Mapping[str, object], results: Iterable[LineResult] = ()) -> None:
    """Write the ``--report`` JSON (blocking); a disk that is full, read-only or closed to us
    raises :class:`WriteError` naming the file."""
    try:
        _write_text(path, report_chunks(document, results))
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror}") from None


def report_chunks(document: Mapping[str, object], results: Iterable[LineResult]) -> Iterator[str]:
    """``json.dumps({**document, "results": [...]}, indent=2) + "\n"``, one line result at a time.

    Why not ``json.dumps``: with ``indent`` it encodes in Python and joins a list of every
    token of the document, which on a 6,000-line list is the run's peak memory (some 20 MiB
    for a few seconds at the very end, after the copies are done). Here only one result is
    in the encoder at a time. JSON strings never hold a raw newline, so re-indenting a result
    by its newlines gives the same bytes as encoding it in place.
    """
    head = json.dumps({**document, "results": []}, indent=2)
    empty = "[]\n}"
    assert head.endswith(empty)
    first = True
    for result in results:
        item = json.dumps(result.as_json(), indent=2).replace("\n", "\n    ")
        yield (head[: -len(empty)] + "[\n    " if first else ",\n    ") + item
        first = False
    yield head + "\n" if first else "\n  ]\n}\n"


def _write_text(path: str, chunks: Iterable[str]) -> None:
    # The seam where tests inject ENOSPC / EROFS / EACCES (they run as root).
    with open(path, "w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(chunk)
