"""How every discovery run ends on the terminal: the seed's JSON document, then the failed entries.

One place for config.json and autoupdate.yaml runs (``discover`` and ``--config autoupdate.yaml``),
so both print the same shape and say the same about a failed entry.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

import anyio

from ..pipeline.discover import EntryResult, to_seed_json

if TYPE_CHECKING:
    from ..output import Output

__all__ = ["report"]


async def report(args: argparse.Namespace, out: Output, results: list[EntryResult]) -> list[EntryResult]:
    """The JSON document to stdout (or ``--output``), each failed entry to stderr; the failed."""
    document = json.dumps(to_seed_json(results))
    if args.output:
        await anyio.Path(args.output).write_text(document + "\n", encoding="utf-8")
    else:
        out.data(document)
    failed = [r for r in results if r.error]
    for result in failed:
        out.error(f"entry {result.key!r} ({result.source}) failed: {result.error}")
    return failed
