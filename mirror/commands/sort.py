"""``image-mirror sort [--check]``: keep the list in its layout's order.

An images-list is ordered like ``LC_ALL=C sort -V``; a ``config.yaml`` is written in Rancher's
format (their formatter's bytes; comments do not survive it, and ``--check`` ignores them).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .. import layouts

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Rewrite images-list sorted like `LC_ALL=C sort -V` (the leading comment block stays on top; "
        "any other comment line travels with the entry below it), or a config.yaml in Rancher's format "
        "(tags in byte order, artifacts by source and target name, repositories by BaseUrl, keys "
        "alphabetical, go-yaml's quoting; comments are dropped, as Rancher's formatter drops them)."
    )
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if not sorted (a config.yaml: not in Rancher's format, comments aside); "
                             "write nothing")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    current = layouts.open_list(settings.images_list)
    if args.check:
        problem = current.unsorted()
        if problem is None:
            out.status(f"{current.path}: sorted")
            return 0
        out.status(f"{current.path}: {problem}; run `image-mirror sort`")
        return 1
    out.status(current.sort())
    return 0
