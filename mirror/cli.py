"""The ``image-mirror`` command line: parse, build settings, run a command, pick the exit code.

Common options work before or after the subcommand. Precedence is always
flag > environment variable > default. Exit codes: 0 success, 1 some items
failed (the rest completed), 2 bad input (config, list, arguments).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Protocol

from . import __version__
from .errors import InputError, MirrorError
from .output import Output

__all__ = ["Settings", "main"]

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2

# Subcommand modules under mirror/commands/, in --help order.
COMMANDS = (
    "sort",
    "validate",
    "discover",
    "add_tag",
    "add_full_image",
    "check_new_images",
    "sync",
    "compare",
)


@dataclass(frozen=True)
class Settings:
    """Options every command shares, resolved flag > env > default."""

    images_list: str
    config: str
    registries: str | None
    log_format: str
    verbose: int
    cache: str | None
    no_cache: bool
    max_wait: float
    metrics_file: str | None = None
    pushgateway: str | None = None


class Command(Protocol):
    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None: ...


def _common_parser(suppress: bool) -> argparse.ArgumentParser:
    """The shared options; sub-parsers get SUPPRESS defaults so a value given
    before the subcommand is not overwritten by the sub-parser's default."""
    parser = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("common options")
    group.add_argument("--images-list", metavar="PATH", default=default(None),
                       help="images-list file (env IMAGES_FILE; default ./images-list)")
    group.add_argument("--config", metavar="PATH", default=default(None),
                       help="config.json of version sources (default ./config.json)")
    group.add_argument("--registries", metavar="PATH", default=default(None),
                       help="registries.yaml with per-host settings (env IMAGE_MIRROR_REGISTRIES)")
    group.add_argument("--log-format", choices=("auto", "rich", "json", "plain"), default=default("auto"),
                       help="auto: rich dashboard on a terminal, JSON lines otherwise")
    group.add_argument("--cache", metavar="PATH", default=default(None),
                       help="state database (default ~/.cache/image-mirror/state.db)")
    group.add_argument("--no-cache", action="store_true", default=default(False),
                       help="do not read or write the state database")
    group.add_argument("--max-wait", type=float, metavar="SECONDS", default=default(60.0),
                       help="longest wait for a rate-limit reset before failing (default 60)")
    group.add_argument("--metrics-file", metavar="PATH", default=default(None),
                       help="write Prometheus metrics of the run here (textfile collector; env IMAGE_MIRROR_METRICS_FILE)")
    group.add_argument("--pushgateway", metavar="URL", default=default(None),
                       help="push Prometheus metrics of the run to this Pushgateway (env IMAGE_MIRROR_PUSHGATEWAY)")
    # Counted separately before and after the subcommand (the sub-parser would overwrite the
    # count otherwise); resolve_settings adds them up.
    group.add_argument("-v", "--verbose", action="count", default=default(0),
                       dest="verbose_after" if suppress else "verbose", help="more output")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="image-mirror",
        description="Keep third-party container images mirrored into your own registry.",
        parents=[_common_parser(suppress=False)],
        epilog="Exit codes: 0 success, 1 some items failed, 2 bad input.",
    )
    parser.add_argument("--version", action="version", version=f"image-mirror {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common_parser(suppress=True)
    for name in COMMANDS:
        module: Command = import_module(f".commands.{name}", __package__)
        module.register(subparsers, common)
    return parser


def resolve_settings(args: argparse.Namespace, env: dict[str, str]) -> Settings:
    return Settings(
        images_list=args.images_list or env.get("IMAGES_FILE") or "images-list",
        config=args.config or "config.json",
        registries=args.registries or env.get("IMAGE_MIRROR_REGISTRIES") or None,
        log_format=args.log_format,
        verbose=args.verbose + getattr(args, "verbose_after", 0),
        cache=args.cache,
        no_cache=args.no_cache,
        max_wait=args.max_wait,
        metrics_file=args.metrics_file or env.get("IMAGE_MIRROR_METRICS_FILE") or None,
        pushgateway=args.pushgateway or env.get("IMAGE_MIRROR_PUSHGATEWAY") or None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    settings = resolve_settings(args, dict(os.environ))
    json_lines = settings.log_format == "json" or (settings.log_format == "auto" and not sys.stderr.isatty())
    out = Output(verbose=settings.verbose, json_lines=json_lines)
    try:
        return int(args.handler(args, settings, out))
    except InputError as exc:
        out.error(str(exc))
        return EXIT_INPUT
    except MirrorError as exc:
        out.error(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
