"""``image-mirror compare [--json]``: MATCHED / NOT MATCHED / MISSING per line (the seed's compare.sh).

The listing (or, with ``--json``, a JSON list of objects) goes to stdout;
exit 1 unless every line is MATCHED (invalid images-list lines count too).
The destination overrides and ``--shard`` select lines exactly as ``sync`` does.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

import anyio

from ..events import Stats
from ..pipeline.compare import MATCHED, Comparison, compare, render_text
from ..pipeline.selection import Shard
from ..registry import CredentialStore, Registries, load_registries
from ..runtime import open_runtime, open_transport
from ..ui import open_sink
from ._results import exit_code
from ._selection import Selection, apply_list_settings, select_lines
from ..referrers import ReferrerMirror, ReferrerOptions
from .sync import referrer_options

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "HEAD source and destination of every line. NOT MATCHED lines list each source platform "
        "as FOUND or NOT FOUND at the destination. Exit 1 unless every line is MATCHED."
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects")
    parser.add_argument("--target", action="append", default=[], metavar="REGISTRY[/PATH]",
                        help="compare every line at this target too (repeatable; as sync)")
    parser.add_argument("--shard", metavar="I/N", help="only the lines of shard I of N (as sync)")
    parser.add_argument("--referrers", action="store_true",
                        help="a line is NOT MATCHED while a referrer of its image (signature, attestation, SBOM, "
                             "cosign tag) is missing at the destination (as sync --referrers copies them)")
    parser.add_argument("--referrers-types", metavar="LIST",
                        help="only these artifact types of referrers (as sync): media types or sig, att, sbom")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    shard = Shard.parse(args.shard) if args.shard is not None else None
    selection = select_lines(settings.images_list, os.environ, shard, args.target)
    credentials = CredentialStore.from_environment()
    registries = apply_list_settings(selection, load_registries(settings.registries), credentials, os.environ)
    referrers = referrer_options(args, registries, selection, "compare")
    results = anyio.run(_run, settings, out, selection, registries, credentials, referrers)
    if args.json:
        out.data(json.dumps([r.as_json() for r in results], indent=2))
    elif results:
        out.data(render_text(results))
    for problem in selection.problems:
        out.error(f"invalid line skipped: {problem}")
    status = "compare: " + (_counts(results) or "no lines")
    if len(selection.targets) > 1:
        status += "; per target: " + "; ".join(
            f"{target} {_counts([r for r in results if r.target == target]) or 'no lines'}"
            for target in selection.targets)
    out.status(status)
    failed = not all(r.status == MATCHED for r in results) or bool(selection.problems)
    return exit_code(out, failed=failed, tracebacks=(r.traceback for r in results if r.internal))


def _counts(results: list[Comparison]) -> str:
    """``3 MATCHED, 1 MISSING``: the statuses in alphabetical order."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


async def _run(settings: Settings, out: Output, selection: Selection, registries: Registries,
               credentials: CredentialStore, referrers: ReferrerOptions | None) -> list[Comparison]:
    stats = Stats()
    async with open_transport(settings, stats, registries) as transport:
        with open_sink(settings.log_format, stats, out.stderr, "image-mirror compare",
                       targets=selection.lines_per_target()) as sink:
            async with open_runtime(settings, stats, sink, transport, credentials=credentials,
                                    discovery=False) as runtime:
                return await compare(selection.work, runtime.registry, sink, deadline=settings.deadline,
                                     referrers=ReferrerMirror(runtime.registry, referrers) if referrers else None)
