"""``image-mirror validate``: every problem in config.json and images-list, with file:line or key."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .. import config as configfile
from .. import imageslist
from ..sniff import ConfigKind, file_config_kind, is_artifacts_file
from ..errors import AutoupdateError, ConfigError, ImagesListError, InputError, ProblemsError
from ..userfile import quote

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Check config.json (or autoupdate.yaml) and images-list (or config.yaml) and list every "
        "problem with its file:line or key. "
        "Exit 2 when anything is wrong, including duplicate lines."
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    problems: list[str] = []
    if file_config_kind(settings.config) is ConfigKind.AUTOUPDATE_YAML:
        problems.extend(_autoupdate_problems(settings.config, out))
    else:
        try:
            config = configfile.load(settings.config)
            out.status(f"{settings.config}: {len(config.entries)} entries OK")
        except ConfigError as exc:
            problems.extend(exc.problems)
    if is_artifacts_file(settings.images_list):
        problems.extend(_artifacts_problems(settings.images_list, out))
    else:
        problems.extend(_images_list_problems(settings.images_list, out))
    if settings.registries:
        problems.extend(_registries_problems(settings.registries))
    if problems:
        raise InputError("\n".join(problems))
    return 0


def _artifacts_problems(path: str, out: Output) -> list[str]:
    """Every rule of the format; credentials are checked for form, never resolved."""
    from ..lists import read_artifacts
    from ..lists.mirrorlist import artifacts_lines

    try:
        config = read_artifacts(path)
    except InputError as exc:
        return exc.problems if isinstance(exc, ProblemsError) else [str(exc)]
    out.status(f"{path}: {len(config.repositories)} repositories, {len(config.artifacts)} artifacts, "
               f"{len(artifacts_lines(config))} copies OK")
    return []


def _autoupdate_problems(path: str, out: Output) -> list[str]:
    """Every rule of Rancher's autoupdate.yaml, each problem naming line, entry and field."""
    from .. import autoupdate

    try:
        config = autoupdate.load(path)
    except AutoupdateError as exc:
        return exc.problems
    out.status(f"{path}: {len(config.entries)} autoupdate entries OK")
    return []


def _images_list_problems(path: str, out: Output) -> list[str]:
    problems: list[str] = []
    try:
        images = imageslist.load(path)
        for first, repeat in images.duplicates():
            problems.append(f"{path}:{repeat.lineno}: duplicate of line {first.lineno}: {quote(repeat.text.strip())}")
        if not images.duplicates():
            out.status(f"{path}: {len(images)} entries OK")
    except ImagesListError as exc:
        problems.extend(exc.problems)
    return problems


def _registries_problems(path: str) -> list[str]:
    from ..registry import load_registries

    try:
        load_registries(path)
    except InputError as exc:
        return [str(exc)]
    return []
