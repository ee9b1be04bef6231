"""``image-mirror add-tag --images A,B --tags X,Y``: the seed's four safety checks, then append and sort."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from .. import imageslist
from ..errors import InputError
from ..pipeline.discover import check_additions
from ..runtime import open_runtime

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output


def split_list(value: str | None) -> list[str]:
    """Comma-separated list, items trimmed, empty items dropped."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "For every image and tag: (1) the image has an entry; (2) exactly one destination "
        "mapping, or exactly one containing '/mirrored-'; (3) the tag is new (else skipped); (4) the "
        "tag exists upstream (HEAD). Then append and sort. A failed check exits 1 and writes nothing."
    )
    parser.add_argument("--images", help="comma-separated source images (env IMAGES)")
    parser.add_argument("--tags", help="comma-separated tags (env TAGS)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    images = split_list(args.images if args.images is not None else os.environ.get("IMAGES"))
    tags = split_list(args.tags if args.tags is not None else os.environ.get("TAGS"))
    if not images:
        raise InputError("no images given: use --images A,B or the IMAGES environment variable")
    if not tags:
        raise InputError("no tags given: use --tags X,Y or the TAGS environment variable")
    return add_pairs([(image, tag) for image in images for tag in tags], settings, out)


def add_pairs(pairs: Sequence[tuple[str, str]], settings: Settings, out: Output) -> int:
    """Shared by add-tag and add-full-image: check every pair, write only if all pass."""
    current = imageslist.load(settings.images_list)

    async def check() -> list:  # type: ignore[type-arg]
        async with open_runtime(settings) as runtime:
            return await check_additions(current, pairs, runtime.image_exists)

    additions = anyio.run(check)
    failed = False
    for addition in additions:
        if addition.status in ("failed", "needs approval"):
            failed = True
            out.error(addition.message)
        else:
            out.status(addition.message)
    if failed:
        out.status(f"{settings.images_list}: not changed (a check failed)")
        return 1
    new_lines = [a.line for a in additions if a.status == "add" and a.line is not None]
    if new_lines:
        imageslist.update(settings.images_list, lambda cur: cur.with_lines(new_lines))
    out.status(f"{settings.images_list}: added {len(new_lines)} line(s)")
    return 0
