"""``image-mirror discover --config autoupdate.yaml``: Rancher's update strategies, against config.yaml.

Reached from :mod:`mirror.commands.discover` when ``--config`` is an autoupdate.yaml (by
content). Same runtime (limits, cache, events), same output, same exit codes as config.json;
the list must be Rancher's config.yaml, since "new" is per config.yaml artifact.

``--apply`` is refused for now (exit 2): the config.yaml write path is being built
separately. What it will write is :func:`mirror.pipeline.autoupdate.additions` of the results.
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import TYPE_CHECKING

from .. import autoupdate
from ..errors import InputError
from ..events import EventSink, Stats
from ..lists import ArtifactsConfig
from ..lists.mirrorlist import load_mirror_list
from ..pipeline.autoupdate import discover_autoupdate
from ..runtime import open_runtime
from ..ui import open_sink
from ._results import exit_code
from .discover import measured, report

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output

__all__ = ["run"]


def _artifacts(settings: Settings) -> ArtifactsConfig:
    listed = load_mirror_list(settings.images_list)
    if listed.artifacts is None:
        raise InputError(
            f"{settings.images_list}: discover --config {settings.config} (an autoupdate.yaml) needs Rancher's "
            "config.yaml (Repositories and Artifacts) as --images-list/--list, because new tags are "
            "counted per config.yaml artifact; this file is an images-list"
        )
    return listed.artifacts


def run(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    config = autoupdate.load(settings.config)
    artifacts = _artifacts(settings)
    if args.apply:
        raise InputError(
            "discover --apply with an autoupdate.yaml is not yet supported: adding tags to a config.yaml "
            "is not built yet; run without --apply and add the tags with the JSON it prints"
        )
    return measured(settings, out, partial(_run, args, settings, out, config, artifacts))


async def _run(args: argparse.Namespace, settings: Settings, out: Output, config: autoupdate.AutoupdateConfig,
               artifacts: ArtifactsConfig, stats: Stats, collector: EventSink | None) -> int:
    with open_sink(settings.log_format, stats, out.stderr, "image-mirror discover", collector) as sink:
        async with open_runtime(settings, stats, sink) as runtime:
            results = await discover_autoupdate(config, artifacts, runtime.run_strategy, sink)
    failed = await report(args, out, results)
    return exit_code(out, failed=bool(failed), tracebacks=[r.traceback for r in failed if r.internal])
