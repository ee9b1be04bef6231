"""``image-mirror add-full-image --full-images I:T,…``: add-tag for each ``image:tag``."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from ..diff import split_full_image
from ..errors import InputError
from .add_tag import add_pairs, split_list

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Split each IMAGE:TAG at the last colon after the last '/' (host:5000/x:1.0 -> "
        "host:5000/x and 1.0) and run the add-tag checks for it."
    )
    parser.add_argument("--full-images", help="comma-separated IMAGE:TAG items (env FULL_IMAGES)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    raw = args.full_images if args.full_images is not None else os.environ.get("FULL_IMAGES")
    items = split_list(raw)
    if not items:
        raise InputError("no images given: use --full-images IMAGE:TAG,… or the FULL_IMAGES environment variable")
    return add_pairs([split_full_image(item) for item in items], settings, out)
