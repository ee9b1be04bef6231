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
from ..pipeline.plan import Shard
from ..registry import CredentialStore, Registries, load_registries
from ..ui import open_sink
from ._results import exit_code
from ..referrers import ReferrerMirror, ReferrerOptions
from .sync import Selection, apply_list_settings, open_client, referrer_options, select_lines

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "HEAD source and destination of every line. NOT MATCHED lines list each source platform "
        "as FOUND or NOT FOUND at the destination. Exit 1 unless every line is MATCHED."
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects")
    parser.add_argument("--shard", metavar="I/N", help="only the lines of shard I of N (as sync)")
    parser.add_argument("--referrers", action="store_true",
                        help="a line is NOT MATCHED while a referrer of its image (signature, attestation, SBOM, "
                             "cosign tag) is missing at the destination (as sync --referrers copies them)")
    parser.add_argument("--referrers-types", metavar="LIST",
                        help="only these artifact types of referrers (as sync): media types or sig, att, sbom")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    shard = Shard.parse(args.shard) if args.shard is not None else None
    selection = select_lines(settings.images_list, os.environ, shard)
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
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    out.status("compare: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no lines"))
    failed = not all(r.status == MATCHED for r in results) or bool(selection.problems)
    return exit_code(out, failed=failed, tracebacks=(r.traceback for r in results if r.internal))


async def _run(settings: Settings, out: Output, selection: Selection, registries: Registries,
               credentials: CredentialStore, referrers: ReferrerOptions | None) -> list[Comparison]:
    stats = Stats()
    async with open_client(registries, stats, credentials, settings.max_wait) as client:
        with open_sink(settings.log_format, stats, out.stderr, "image-mirror compare") as sink:
            client.transport.events = sink
            return await compare(selection.work, client, sink, deadline=settings.deadline,
                                 referrers=ReferrerMirror(client, referrers) if referrers is not None else None)
