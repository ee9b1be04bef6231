"""The ``image-mirror`` command line: parse, build settings, run a command, pick the exit code.

Common options work before or after the subcommand. Precedence is always
flag > environment variable > default. Exit codes (:mod:`mirror.exitcodes`):
0 success, 1 some items failed (the rest completed), 2 bad input (config,
list, arguments), 3 internal error (a bug); several at once report 2 > 3 > 1.

Start-up imports only what the chosen command needs: the commands are a static
table here, ``--help`` lists them from it, and only the named command's module
is imported (so ``sort`` never loads aiohttp or the sync machinery).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import math
import os
import sys
import time
from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING, NoReturn, Protocol, cast

from . import __version__
from .errors import InputError, MirrorError
from .exitcodes import EXIT_FAILED, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, worst
from .text import escape
from .value import frozen

if TYPE_CHECKING:
    from .output import Output

__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_OK", "Settings", "main", "parse_args"]


@frozen
class CommandSpec:
    """One subcommand: its name, its one-line help, its module under mirror/commands/."""

    name: str
    module: str
    help: str


# In --help order. The help lines live here so that --help needs no command module.
COMMANDS = (
    CommandSpec("sort", "sort", "sort images-list like LC_ALL=C sort -V (header kept, comments travel with "
                "their entry); a config.yaml into Rancher's format"),
    CommandSpec("validate", "validate", "validate config.json or autoupdate.yaml, images-list or config.yaml "
                "(and the registries file when given)"),
    CommandSpec("discover", "discover", "find new tags from every config entry; print the seed-compatible JSON "
                "(--apply adds them, --open-prs opens pull requests)"),
    CommandSpec("add-tag", "add_tag", "add tags to images that already have entries (four safety checks)"),
    CommandSpec("add-full-image", "add_full_image", "add IMAGE:TAG items through the add-tag checks"),
    CommandSpec("check-new-images", "check_new_images",
                "check lines added since a git revision: new target repos and source images exist"),
    CommandSpec("sync", "sync", "mirror every line of an images-list or config.yaml (copy source:tag to each "
                "destination unless up to date)"),
    CommandSpec("compare", "compare", "per line: MATCHED / NOT MATCHED / MISSING, per platform for indexes"),
)

EPILOG = ("Exit codes: 0 success, 1 some items failed, 2 bad input, 3 internal error (a bug; -v shows the "
          "traceback). When several apply, 2 wins over 3, and 3 over 1.")


@frozen
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
    #: ``--timeout``: when the run must end (a ``time.monotonic()`` value), None for no bound
    deadline: float | None = None


class Command(Protocol):
    """A module under mirror/commands/: adds its options and ``handler`` to its own sub-parser."""

    def register(self, parser: argparse.ArgumentParser) -> None: ...


def _common_parser(suppress: bool) -> argparse.ArgumentParser:
    """The shared options; sub-parsers get SUPPRESS defaults so a value given
    before the subcommand is not overwritten by the sub-parser's default."""
    parser = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("common options")
    group.add_argument("--images-list", metavar="PATH", default=default(None),
                       help="the mirror list: an images-list or Rancher's artifact-mirror config.yaml, "
                            "told apart by content (env IMAGES_FILE; default ./images-list)")
    group.add_argument("--list", metavar="PATH", dest="list_alias", default=default(None),
                       help="the same as --images-list (give one of them)")
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
                       help="longest wait for a GitHub reset or a registry pull quota (default 60)")
    group.add_argument("--timeout", type=_seconds, metavar="SECONDS", default=default(None),
                       help="end the run after this long: lines not done are reported failed (run timeout); "
                            "the report and metrics still follow")
    group.add_argument("--metrics-file", metavar="PATH", default=default(None),
                       help="write Prometheus metrics of the run here (textfile collector; env IMAGE_MIRROR_METRICS_FILE)")
    group.add_argument("--pushgateway", metavar="URL", default=default(None),
                       help="push Prometheus metrics of the run to this Pushgateway (env IMAGE_MIRROR_PUSHGATEWAY)")
    # Counted separately before and after the subcommand (the sub-parser would overwrite the
    # count otherwise); resolve_settings adds them up.
    group.add_argument("-v", "--verbose", action="count", default=default(0),
                       dest="verbose_after" if suppress else "verbose", help="more output")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a number of seconds > 0")
    return value


class _NoCommand(Exception):
    """The probe could not make sense of the arguments; the full parser will say why."""


class _Probe(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NoCommand(message)


def find_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``, or None (``--version``, ``--help``, a typo).

    Parsed with the common options' own definitions, so their values (``--config sort``,
    ``--config=sort``, an abbreviation such as ``--images x``) are never taken for it.
    """
    probe = _Probe(add_help=False, exit_on_error=False, parents=[_common_parser(suppress=False)])
    probe.add_argument("command", nargs="?")
    try:
        known, _ = probe.parse_known_args(argv)
    except (_NoCommand, argparse.ArgumentError):
        return None
    names = {spec.name for spec in COMMANDS}
    return known.command if known.command in names else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser; only ``command``'s module is imported to add its options.

    Every other command gets a sub-parser with its help line only, enough for the
    top-level ``--help`` and for argparse to know the name.
    """
    parser = argparse.ArgumentParser(
        prog="image-mirror",
        description="Keep third-party container images mirrored into your own registry.",
        parents=[_common_parser(suppress=False)],
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"image-mirror {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common_parser(suppress=True)
    for spec in COMMANDS:
        sub = subparsers.add_parser(spec.name, parents=[common], help=spec.help)
        if spec.name == command:
            module = cast(Command, import_module(f".commands.{spec.module}", __package__))
            module.register(sub)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line, importing only the named command's module (exits on bad arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return build_parser(find_command(argv)).parse_args(argv)


def resolve_settings(args: argparse.Namespace, env: dict[str, str]) -> Settings:
    """Raises :class:`InputError` when ``--images-list`` and its alias ``--list`` are both given."""
    if args.images_list and args.list_alias:
        raise InputError("--images-list and --list are the same option: give one of them")
    return Settings(
        images_list=args.images_list or args.list_alias or env.get("IMAGES_FILE") or "images-list",
        config=args.config or "config.json",
        registries=args.registries or env.get("IMAGE_MIRROR_REGISTRIES") or None,
        log_format=args.log_format,
        verbose=args.verbose + getattr(args, "verbose_after", 0),
        cache=args.cache,
        no_cache=args.no_cache,
        max_wait=args.max_wait,
        metrics_file=args.metrics_file or env.get("IMAGE_MIRROR_METRICS_FILE") or None,
        pushgateway=args.pushgateway or env.get("IMAGE_MIRROR_PUSHGATEWAY") or None,
        deadline=time.monotonic() + args.timeout if args.timeout else None,
    )


def check_settings(args: argparse.Namespace, settings: Settings) -> None:
    """Bad values of the common options, found before any command starts (exit 2)."""
    if settings.pushgateway:
        from .metrics import parse_gateway  # only when asked for: prometheus_client is not light

        parse_gateway(settings.pushgateway, "--pushgateway" if args.pushgateway else "IMAGE_MIRROR_PUSHGATEWAY")


def _skip_the_last_collection() -> None:
    """At interpreter exit, before its final garbage collection: nothing is left to collect.

    Why: that collection walks every object of every loaded module (aiohttp, the
    registry client…) only for the OS to free the memory anyway; it took 35–50 ms of a
    discover run's wall time. :func:`gc.freeze` moves everything out of the collector's
    reach; finalizers, ``atexit`` handlers and file flushes still run as before.
    """
    gc.freeze()


def _parse_loading(argv: Sequence[str] | None) -> argparse.Namespace:
    """:func:`parse_args`, which loads the command's modules, with no garbage collection
    meanwhile; what they made is frozen afterwards.

    Why: a command loads ~300 modules (aiohttp, the registry client…) whose objects live
    as long as the run. Collections while they load free nothing, since every object is
    reachable from its module, and they cost 10–15 ms of a discover run's start-up.
    :func:`gc.freeze` then keeps later collections from walking them again and again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return parse_args(argv)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


_first_run = True


def main(argv: Sequence[str] | None = None) -> int:
    global _first_run
    first, _first_run = _first_run, False
    if first:  # once per process: tests call main() many times and must not freeze their garbage
        atexit.register(_skip_the_last_collection)
    try:
        args = _parse_loading(argv) if first else parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    try:
        settings = resolve_settings(args, dict(os.environ))
    except InputError as exc:
        sys.stderr.write(f"image-mirror: error: {exc}\n")
        return EXIT_INPUT
    json_lines = settings.log_format == "json" or (settings.log_format == "auto" and not sys.stderr.isatty())
    from .output import Output  # after parsing: --help and --version need no rich console

    out = Output(verbose=settings.verbose, json_lines=json_lines)
    try:
        check_settings(args, settings)
        return int(args.handler(args, settings, out))
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130
    except Exception as exc:  # a MirrorError exits 1/2; anything else is an internal error: exit 3, traceback with -v
        return _report(exc, out)


def _report(exc: Exception, out: Output) -> int:
    """Report what escaped the handler, one message per error, and the exit code it means.

    A :class:`MirrorError` is an expected failure (2 for bad input, else 1). Anything else
    is a bug: ``internal error: <type>: <message>``, exit 3, the traceback with ``-v``.
    Errors from task groups arrive grouped; each one is reported and the worst code wins.
    """
    leaves = _leaves(exc)
    codes = []
    for error in leaves:
        if isinstance(error, MirrorError):
            out.error(str(error))
            codes.append(EXIT_INPUT if isinstance(error, InputError) else EXIT_FAILED)
        else:
            out.error(escape(f"internal error: {type(error).__name__}: {error}"))
            codes.append(EXIT_INTERNAL)
    if EXIT_INTERNAL in codes:
        import traceback  # only on this path: every start-up would pay for it

        out.debug(escape("".join(traceback.format_exception(exc)).rstrip("\n"), multiline=True))
    return worst(*codes)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
