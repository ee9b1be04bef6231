"""``image-mirror discover [--apply] [--output FILE]``: find new tags from every config entry."""

from __future__ import annotations

import argparse
from functools import partial
from typing import TYPE_CHECKING

import anyio

from .. import config as configfile
from ..diff import MirrorFile
from ..flight import Pending
from ..pipeline.discover import Addition, check_additions, discover, pairs_to_add
from ..events import DiscoverApply, EventSink, Stats
from ..runtime import open_runtime, open_transport
from ..sniff import ConfigKind, file_config_kind
from ..ui import open_sink
from ._open_prs_options import add_options as add_pr_options
from ._metrics import collector_for, deliver
from ._discover_report import report
from ._results import exit_code

if TYPE_CHECKING:
    from ..cli import Settings
    from ..metrics import MetricsCollector
    from ..output import Output
    from ..transport import Transport


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run every config.json entry concurrently and print, as one JSON object on stdout, "
        "the tags (or full images) not yet in images-list. Failed entries are left out of the JSON, "
        "reported on stderr, and make the exit code 1. --apply adds what was found through the "
        "add-tag checks in one atomic write; images without an entry yet are reported as "
        "'needs approval' and not added. With --config autoupdate.yaml (told by content) the list "
        "must be a config.yaml, and each entry also says which target_names its images go to."
    )
    parser.add_argument("--apply", action="store_true", help="add the found tags to images-list")
    parser.add_argument("--output", metavar="FILE", help="write the JSON here instead of stdout")
    add_pr_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    if args.open_prs or args.dry_run:
        from . import _open_prs  # only here: the pull-request pipeline is not light

        return _open_prs.run(args, settings, out)
    if file_config_kind(settings.config) is ConfigKind.AUTOUPDATE_YAML:  # told by content
        from ._discover_autoupdate import run_autoupdate  # only here: its readers are ~30 modules

        return run_autoupdate(args, settings, out)

    config = configfile.load(settings.config)
    # The list is parsed in a worker thread while the first requests are in flight (a bad
    # list still ends the run with exit 2): nothing needs it before a source has answered.
    current = Pending(partial(_open_list, settings.images_list))
    stats = Stats()
    collector = collector_for(settings, "discover")
    return anyio.run(_delivered, args, settings, out, config, current, stats, collector)


def _open_list(path: str) -> MirrorFile:
    """The list in either layout; in the worker thread, so its readers' imports (the
    config.yaml machinery, ~12 ms) are paid there too, off the first requests' path."""
    from .. import layouts

    return layouts.open_list(path)


async def _delivered(args: argparse.Namespace, settings: Settings, out: Output, config: configfile.Config,
                     current: Pending[MirrorFile], stats: Stats, collector: MetricsCollector | None) -> int:
    """The run, then its metrics through the run's transport (still open)."""
    async with open_transport(settings, stats) as transport:
        code = await _run(args, settings, out, config, current, stats, collector, transport)
        await deliver(collector, stats, settings, code, out, transport)
    return code


async def _run(args: argparse.Namespace, settings: Settings, out: Output, config: configfile.Config,
               listing: Pending[MirrorFile], stats: Stats, collector: EventSink | None,
               transport: Transport) -> int:
    with open_sink(settings.log_format, stats, out.stderr, "image-mirror discover", collector) as sink:
        async with open_runtime(settings, stats, sink, transport) as runtime:
            results = await discover(config, listing, runtime.run_source, sink)
            current = await listing.get()
            additions: list[Addition] = []
            if args.apply:
                additions = await check_additions(current, pairs_to_add(results), runtime.image_exists)
                for addition in additions:
                    sink.emit(DiscoverApply(**addition.as_json()))
    failed = await report(args, out, results)
    apply_failed = False
    if args.apply:
        new_entries = [a.line for a in additions if a.status == "add" and a.line is not None]
        written = await anyio.to_thread.run_sync(current.add, new_entries)
        for addition in additions:
            if addition.status == "failed":
                apply_failed = True
                out.error(addition.message)
            elif addition.status == "needs approval":
                out.status(f"needs approval: {addition.image}:{addition.tag} has no entry in {current.path} yet; "
                           "add its first entry by hand (new destination repositories must exist first)")
        out.status(written)
    tracebacks = [r.traceback for r in failed if r.internal] + [a.traceback for a in additions if a.traceback]
    return exit_code(out, failed=bool(failed or apply_failed), tracebacks=tracebacks)
