"""``image-mirror sort [--check]``: keep images-list ordered like ``LC_ALL=C sort -V``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .. import imageslist

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Rewrite images-list sorted like `LC_ALL=C sort -V`. The leading comment block stays "
        "on top; any other comment line travels with the entry below it."
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if not sorted; write nothing")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    path = settings.images_list
    if args.check:
        current = imageslist.load(path)
        if current.is_sorted():
            out.status(f"{path}: sorted")
            return 0
        first = next(
            (a for a, b in zip(current.lines, current.sorted().lines) if a.text != b.text), None
        )
        where = f" (first out of place: line {first.lineno}: {first.text})" if first else ""
        out.status(f"{path}: not sorted{where}; run `image-mirror sort`")
        return 1
    before, after = imageslist.update(path, lambda current: current.sorted())
    changed = before.render() != after.render()
    out.status(f"{path}: {'sorted' if changed else 'already sorted'} ({len(after)} entries)")
    return 0
