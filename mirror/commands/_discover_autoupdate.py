"""``image-mirror discover --config autoupdate.yaml``: Rancher's update strategies, against config.yaml.

Reached from :mod:`mirror.commands.discover` when ``--config`` is an autoupdate.yaml (by
content). Same runtime (limits, cache, events), same output, same exit codes as config.json;
the list must be Rancher's config.yaml, since "new" is per config.yaml artifact.

``--apply`` is refused for now (exit 2): the config.yaml write path is being built
separately. What it will write is :func:`mirror.pipeline.autoupdate.additions` of the results.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

import anyio

from .. import autoupdate
from ..errors import InputError
from ..events import EventSink, Stats
from ..lists import ArtifactsConfig
from ..lists.mirrorlist import load_mirror_list
from ..pipeline.autoupdate import discover_autoupdate
from ..pipeline.discover import EntryResult, to_seed_json
from ..runtime import Runtime, open_runtime, open_transport
from ..ui import open_sink
from ._metrics import collector_for, deliver
from ._results import exit_code

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output

__all__ = ["is_autoupdate", "measured", "report", "run_autoupdate"]


def _artifacts(settings: Settings) -> ArtifactsConfig:
    listed = load_mirror_list(settings.images_list)
    if listed.artifacts is None:
        raise InputError(
            f"{settings.images_list}: discover --config {settings.config} (an autoupdate.yaml) needs Rancher's "
            "config.yaml (Repositories and Artifacts) as --images-list/--list, because new tags are "
            "counted per config.yaml artifact; this file is an images-list"
        )
    return listed.artifacts


def is_autoupdate(path: str) -> bool:
    return autoupdate.file_config_kind(path) is autoupdate.ConfigKind.AUTOUPDATE_YAML


def run_autoupdate(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    config = autoupdate.load(settings.config)
    artifacts = _artifacts(settings)
    if args.apply:
        raise InputError(
            "discover --apply with an autoupdate.yaml is not yet supported: adding tags to a config.yaml "
            "is not built yet; run without --apply and add the tags with the JSON it prints"
        )
    return measured(args, settings, out, partial(_pipeline, config, artifacts))


async def _pipeline(config: autoupdate.AutoupdateConfig, artifacts: ArtifactsConfig, runtime: Runtime,
                    sink: EventSink) -> list[EntryResult]:
    return await discover_autoupdate(config, artifacts, runtime.run_strategy, sink)


# measured() and report() are meant for config.json's path in commands/discover.py too (the same
# lines are there today); they live here until that file's --apply changes are merged.


def measured(args: argparse.Namespace, settings: Settings, out: Output,
             pipeline: Callable[[Runtime, EventSink], Awaitable[list[EntryResult]]]) -> int:
    """One run of ``pipeline`` on the run's runtime and event sink: the JSON, the failed
    entries, the exit code, then the run's metrics."""
    stats = Stats()
    collector = collector_for(settings, "discover")

    async def main() -> int:
        async with open_transport(settings, stats) as transport:
            with open_sink(settings.log_format, stats, out.stderr, "image-mirror discover", collector) as sink:
                async with open_runtime(settings, stats, sink, transport) as runtime:
                    results = await pipeline(runtime, sink)
            failed = await report(args, out, results)
            code = exit_code(out, failed=bool(failed), tracebacks=[r.traceback for r in failed if r.internal])
            await deliver(collector, stats, settings, code, out, transport)
        return code

    return anyio.run(main)


async def report(args: argparse.Namespace, out: Output, results: list[EntryResult]) -> list[EntryResult]:
    """The JSON document to stdout (or ``--output``), each failed entry to stderr; the failed."""
    document = json.dumps(to_seed_json(results))
    if args.output:
        await anyio.Path(args.output).write_text(document + "\n", encoding="utf-8")
    else:
        out.data(document)
    failed = [r for r in results if r.error]
    for result in failed:
        out.error(f"entry {result.key!r} ({result.source}) failed: {result.error}")
    return failed
