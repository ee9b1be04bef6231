"""``image-mirror add-tag --images A,B --tags X,Y``: the seed's four safety checks, then write.

One path for both layouts (:mod:`mirror.layouts`): an images-list gets new lines and stays
sorted; a ``config.yaml`` gets the tags in the chosen artifact's ``Tags``, everything else kept
as written, and its ``regsync.yaml`` regenerated.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from .. import layouts
from ..errors import InputError
from ..pipeline.discover import Addition, check_additions
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
        "mapping, or exactly one containing '/mirrored-' (a config.yaml: the image's only artifact, or "
        "the one with the default target name, or the one --target-name names); (3) the tag is new "
        "(else skipped); (4) the tag exists upstream (HEAD). Then write: an images-list gets the lines "
        "and stays sorted, a config.yaml gets the tags and keeps its comments and layout. A failed "
        "check exits 1 and writes nothing."
    )
    parser.add_argument("--images", help="comma-separated source images (env IMAGES)")
    parser.add_argument("--tags", help="comma-separated tags (env TAGS)")
    parser.add_argument("--target-name", metavar="NAME",
                        help="a config.yaml: add to the artifact with this (effective) TargetArtifactName")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    images = split_list(args.images if args.images is not None else os.environ.get("IMAGES"))
    tags = split_list(args.tags if args.tags is not None else os.environ.get("TAGS"))
    if not images:
        raise InputError("no images given: use --images A,B or the IMAGES environment variable")
    if not tags:
        raise InputError("no tags given: use --tags X,Y or the TAGS environment variable")
    return add_pairs([(image, tag) for image in images for tag in tags], settings, out, args.target_name)


def add_pairs(pairs: Sequence[tuple[str, str]], settings: Settings, out: Output,
              target_name: str | None = None) -> int:
    """Shared by add-tag and add-full-image: check every pair, write only if all pass."""
    current = layouts.open_list(settings.images_list)

    async def check() -> list[Addition]:
        async with open_runtime(settings) as runtime:
            return await check_additions(current, pairs, runtime.image_exists, target_name)

    additions = anyio.run(check)
    failed = False
    for addition in additions:
        if addition.status in ("failed", "needs approval"):
            failed = True
            out.error(addition.message)
        else:
            out.status(addition.message)
    if failed:
        out.status(f"{current.path}: not changed (a check failed)")
        return 1
    out.status(current.add([a.line for a in additions if a.status == "add" and a.line is not None]))
    return 0
