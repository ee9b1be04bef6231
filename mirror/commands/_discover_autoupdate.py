"""``image-mirror discover --config autoupdate.yaml``: Rancher's update strategies, against config.yaml.

Reached from :mod:`mirror.commands.discover` when ``--config`` is an autoupdate.yaml (by
content). Same runtime (limits, cache, events), same output, same exit codes as config.json;
the list must be Rancher's config.yaml, since "new" is per config.yaml artifact.

``--apply`` writes :func:`mirror.pipeline.autoupdate.additions` of the results into the
config.yaml: a tag of an artifact that exists goes to its ``Tags`` (the add-tag path: inserted,
every other byte kept); an artifact the file does not have yet is created on the default
targets, as Rancher's tool does (listing it in autoupdate.yaml is its approval).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

import anyio

from .. import autoupdate
from ..errors import InputError
from ..events import EventSink, Stats
from ..lists import ArtifactsConfig
from ..lists.mirrorlist import load_mirror_list
from .. import artifactsfile
from ..pipeline.autoupdate import additions, discover_autoupdate
from ..lists.edit import add_found
from ..pipeline.discover import ArtifactAddition, EntryResult
from ..runtime import Runtime, open_runtime, open_transport
from ..ui import open_sink
from ._metrics import collector_for, deliver
from ._results import exit_code
from ._discover_report import report

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output

__all__ = ["measured", "run_autoupdate"]


def _artifacts(settings: Settings) -> ArtifactsConfig:
    listed = load_mirror_list(settings.images_list)
    if listed.artifacts is None:
        raise InputError(
            f"{settings.images_list}: discover --config {settings.config} (an autoupdate.yaml) needs Rancher's "
            "config.yaml (Repositories and Artifacts) as --images-list/--list, because new tags are "
            "counted per config.yaml artifact; this file is an images-list"
        )
    return listed.artifacts


def run_autoupdate(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    config = autoupdate.load(settings.config)
    artifacts = _artifacts(settings)
    after = partial(_apply, settings.images_list, out) if args.apply else None
    return measured(args, settings, out, partial(_pipeline, config, artifacts), after)


async def _apply(path: str, out: Output, results: list[EntryResult]) -> None:
    """Write what the entries found: tags to existing artifacts, new artifacts on the default targets."""
    found = additions(results)
    if found:
        message = await anyio.to_thread.run_sync(apply_additions, path, found)
        out.status(message)


def apply_additions(path: str, found: list[ArtifactAddition]) -> str:
    """One locked, validated write of every addition (blocking); returns what it did."""
    counts = (0, 0)

    def change(text: str, config: ArtifactsConfig) -> str:
        nonlocal counts
        new, *rest = add_found(text, config, ((a.source, a.name, a.tag, a.explicit_name) for a in found))
        counts = (rest[0], rest[1])
        return new

    written = artifactsfile.update(path, change)
    note = f"; {artifactsfile.REGSYNC_NAME} regenerated" if written.regsync_changed else ""
    return f"{path}: added {counts[0]} tag(s), {counts[1]} new artifact(s) on the default targets{note}"


async def _pipeline(config: autoupdate.AutoupdateConfig, artifacts: ArtifactsConfig, runtime: Runtime,
                    sink: EventSink) -> list[EntryResult]:
    return await discover_autoupdate(config, artifacts, runtime.run_strategy, sink)


def measured(args: argparse.Namespace, settings: Settings, out: Output,
             pipeline: Callable[[Runtime, EventSink], Awaitable[list[EntryResult]]],
             after: Callable[[list[EntryResult]], Awaitable[None]] | None = None) -> int:
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
            if after is not None:
                await after(results)
            code = exit_code(out, failed=bool(failed), tracebacks=[r.traceback for r in failed if r.internal])
            await deliver(collector, stats, settings, code, out, transport)
        return code

    return anyio.run(main)
