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
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from ..copy import COPIERS, check_supported, make_copier
from ..errors import InputError, WriteError
from ..events import EventSink, Stats, SyncInvalid
from ..lists import ArtifactsConfig, RegistryCredentials, registry_concurrency, registry_credentials
from ..lists.mirrorlist import load_mirror_list
from ..pipeline.plan import Overrides, PlatformSpec, Shard, parse_platforms
from ..pipeline.results import LineResult
from ..pipeline.sync import Outcome, SyncOptions, SyncReport, WorkItem, sync
from ..registry import CredentialStore, Registries, RegistryClient, load_registries
from ..registry.credentials import Credential
from ..ui import open_sink
from ._metrics import collector_for, deliver
from ._results import exit_code

if TYPE_CHECKING:
    from ..cli import Settings
    from ..metrics import MetricsCollector
    from ..output import Output

__all__ = ["Selection", "open_client", "pulls", "register", "report_chunks", "run", "select_lines", "write_report"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Plan every line (HEAD source and destination; equal digests are skipped), then copy "
        "what differs with a bounded pool of workers. Every platform and digest is preserved unless "
        "--platforms is given. The destination's host and first path component can be replaced with "
        "DEST_REGISTRY_OVERRIDE and DEST_ORG_OVERRIDE. Exit 1 when any line failed or was invalid."
    )
    parser.add_argument("--missing", action="store_true",
                        help="only copy tags absent at the destination (one tag list per repository, "
                             "no digest comparison)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; copy nothing")
    parser.add_argument("--jobs", type=int, default=4, metavar="N", help="copies at the same time (default 4)")
    parser.add_argument("--copier", choices=COPIERS, default="native",
                        help="native (default, aiohttp), skopeo (skopeo copy --all) or oras (OCI artifacts)")
    parser.add_argument("--platforms", metavar="LIST",
                        help="copy only these platforms of an index, e.g. linux/amd64,linux/arm64 "
                             "(the index is re-written, so its digest changes)")
    parser.add_argument("--arch-tags", action="store_true",
                        help="also tag each platform as TAG-<arch><variant> (amd64, arm64, arm, s390x), "
                             "as the seed's image-mirror.sh did")
    parser.add_argument("--shard", metavar="I/N",
                        help="only lines whose destination repository hashes to shard I of N (I from 0)")
    parser.add_argument("--report", metavar="FILE", help="write every line's result as JSON to FILE")
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class Selection:
    """The lines a command works on, and the images-list problems to report."""

    work: list[WorkItem]
    problems: list[str]
    total: int  # valid lines before sharding
    artifacts: ArtifactsConfig | None = None  # the list is a config.yaml


def select_lines(path: str, env: Mapping[str, str], shard: Shard | None) -> Selection:
    """Valid lines (bad ones listed in ``problems``), overrides applied, this shard only (blocking)."""
    mirror_list = load_mirror_list(path)
    overrides = Overrides.from_env(env)
    if mirror_list.artifacts is not None and (overrides.registry or overrides.org):
        raise InputError(f"{path} is a config.yaml: its targets come from its Repositories; "
                         "DEST_REGISTRY_OVERRIDE / DEST_ORG_OVERRIDE cannot be used with it")
    work = [WorkItem(line, overrides.destination(line)) for line in mirror_list.lines]
    total = len(work)
    if shard is not None:
        work = [item for item in work if shard.owns(item.destination)]
    return Selection(work, list(mirror_list.problems), total, mirror_list.artifacts)


def apply_list_settings(selection: Selection, registries: Registries, credentials: CredentialStore,
                        env: Mapping[str, str]) -> Registries:
    """What a config.yaml says about its registries: each repository's Username/Password for
    every request to its Registry (source reads included), winning over docker's config.json,
    resolved only when a request needs them; ``ReqConcurrent`` where the registries file sets
    no ``concurrency``."""
    config = selection.artifacts
    if config is None:
        return registries
    for host, login in registry_credentials(config).items():
        def resolve(login: RegistryCredentials = login) -> Credential | None:
            found = login.resolve(env)
            return Credential(found.username, found.password) if found is not None else None

        credentials.override(host, resolve)
    return registries.with_concurrency_defaults(registry_concurrency(config))


@asynccontextmanager
async def open_client(registries: Registries, stats: Stats, credentials: CredentialStore,
                      max_wait: float) -> AsyncIterator[RegistryClient]:
    """The run's registry client; a pull quota is waited for at most ``max_wait`` s (its waits
    reach the sink the caller sets as ``client.transport.events`` once its sink is open)."""
    async with RegistryClient.open(hosts=registries, stats=stats, credentials=credentials,
                                   max_wait=max_wait) as client:
        yield client


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


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    options, shard = _options(args, settings)
    selection = select_lines(settings.images_list, os.environ, shard)
    credentials = CredentialStore.from_environment()
    registries = apply_list_settings(selection, load_registries(settings.registries), credentials, os.environ)
    stats = Stats()
    collector = collector_for(settings, "sync")
    return anyio.run(_run, args, settings, out, options, shard, selection, registries, credentials, stats, collector)


async def _run(args: argparse.Namespace, settings: Settings, out: Output, options: SyncOptions, shard: Shard | None,
               selection: Selection, registries: Registries, credentials: CredentialStore,
               stats: Stats, collector: MetricsCollector | None) -> int:
    """The run, its summary, then its metrics through the run's transport (still open)."""
    async with open_client(registries, stats, credentials, settings.max_wait) as client:
        with open_sink(settings.log_format, stats, out.stderr, "image-mirror sync", collector) as sink:
            client.transport.events = sink  # pull-quota waits are shown (set before any request)
            _report_problems(sink, selection.problems)
            copier = make_copier(args.copier, client, credentials)
            report = await sync(selection.work, client, copier, options, sink)
        # The summary and the --report file are blocking writes: a worker thread.
        code = await anyio.to_thread.run_sync(_finish, args, settings, out, options, selection, shard, report,
                                              stats)
        await deliver(collector, stats, settings, code, out, client.transport,
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
    for result in report.failed:
        out.error(f"{result.source}:{result.tag} -> {result.destination}:{result.tag}: {result.reason}")
    totals = report.totals()
    scope = f" (shard {shard}: {len(selection.work)} of {selection.total} lines)" if shard else ""
    out.status(
        f"sync{scope}: {totals['copied']} copied, {totals['skipped']} skipped, {totals['failed']} failed"
        + (f", {totals['planned']} to copy (dry run)" if options.dry_run else "")
        + (f", {len(selection.problems)} invalid line(s)" if selection.problems else "")
        + f" in {totals['elapsed']:.1f}s"
    )
    written = True
    if args.report:
        document = {
            "images_list": settings.images_list,
            "copier": args.copier,
            "shard": str(shard) if shard else None,
            "dry_run": options.dry_run,
            "totals": {**totals, "invalid": len(selection.problems)},
            "invalid": selection.problems,
            "pulls": pulls(stats),
        }
        try:
            write_report(args.report, document, report.results)
        except WriteError as exc:
            # The run itself is done: report the file, keep the summary and the metrics.
            out.error(str(exc))
            written = False
    return exit_code(out, failed=bool(report.failed or selection.problems or not written),
                     tracebacks=(r.traceback for r in report.internal))


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
