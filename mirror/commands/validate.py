"""``image-mirror validate``: every problem in config.json and images-list, with file:line or key."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .. import config as configfile
from .. import imageslist
from ..errors import ConfigError, ImagesListError, InputError
from ..userfile import quote

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Check config.json and images-list and list every problem with its file:line or key. "
        "Exit 2 when anything is wrong, including duplicate lines."
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    problems: list[str] = []
    try:
        config = configfile.load(settings.config)
        out.status(f"{settings.config}: {len(config.entries)} entries OK")
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        images = imageslist.load(settings.images_list)
        for first, repeat in images.duplicates():
            problems.append(
                f"{settings.images_list}:{repeat.lineno}: duplicate of line {first.lineno}: {quote(repeat.text.strip())}"
            )
        if not images.duplicates():
            out.status(f"{settings.images_list}: {len(images)} entries OK")
    except ImagesListError as exc:
        problems.extend(exc.problems)
    if settings.registries:
        problems.extend(_registries_problems(settings.registries))
    if problems:
        raise InputError("\n".join(problems))
    return 0


def _registries_problems(path: str) -> list[str]:
    from ..registry import load_registries

    try:
        load_registries(path)
    except InputError as exc:
        return [str(exc)]
    return []
