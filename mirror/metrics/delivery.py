"""Where a run's metrics go: a textfile for node-exporter, a Pushgateway, or both.

:func:`publish` is the CLI's one call, made inside the run's event loop once the run's exit
code is known (it decides ``image_mirror_run_success``) and before the run's transport
closes (the push goes through it). File reads and writes run in worker threads.
Messages name the file or the Pushgateway URL without credentials.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from ..errors import MetricsError
from ..events import Stats
from .collector import MetricsCollector
from .families import LAST_SUCCESS
from .gateway import parse_gateway, push

if TYPE_CHECKING:
    from ..transport import Transport

__all__ = ["last_success_from_text", "publish", "read_last_success", "write_textfile"]


def write_textfile(path: str | os.PathLike[str], registry: CollectorRegistry) -> None:
    """Write ``registry`` to ``path`` with ``write_to_textfile`` (blocking): a temporary file
    next to it, then a rename, so node-exporter's textfile collector (which reads only
    ``*.prom``) never reads half a file. The directory is made if missing, and the file is
    made readable by all (mode 0644) whatever the umask: node-exporter runs as another user."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(target), registry)
        os.chmod(target, 0o644)
    except OSError as exc:
        raise MetricsError(f"cannot write metrics file {target}: {exc.strerror or exc}") from None


def read_last_success(path: str | os.PathLike[str], command: str | None = None) -> float | None:
    """``image_mirror_last_success_timestamp_seconds`` (of ``command``) from an earlier metrics
    file, to carry over after a failed run; None when absent or unreadable (blocking)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return last_success_from_text(text, command)


def last_success_from_text(text: str, command: str | None = None) -> float | None:
    """The same, from the text (read with ``prometheus_client``'s parser); None when the text
    does not parse or has no such sample."""
    try:
        for family in text_string_to_metric_families(text):
            if family.name != LAST_SUCCESS.name:
                continue
            for sample in family.samples:
                if command is None or sample.labels.get("command") == command:
                    return float(sample.value)
    except (ValueError, TypeError, IndexError):
        return None
    return None


async def publish(
    collector: MetricsCollector,
    stats: Stats | None,
    transport: Transport | None,
    *,
    succeeded: bool,
    metrics_file: str | os.PathLike[str] | None = None,
    pushgateway: str | None = None,
    job: str | None = None,
    instance: str | None = None,
) -> CollectorRegistry:
    """Take the run's metrics once and deliver them where the user asked.

    - ``metrics_file``: written atomically; after a failed run the previous file's
      last-success timestamp is carried over.
    - ``pushgateway``: pushed through ``transport`` to group ``job`` (default
      ``image-mirror-<command>``) and ``instance`` (e.g. ``shard-2`` for ``--shard 2/4``, so
      shards do not overwrite each other); a successful run with PUT, a failed one with POST
      so the group keeps its last success.

    Both destinations are tried; if either failed, raises one :class:`MetricsError` naming
    them. Returns the registry that was delivered.
    """
    last = None
    if metrics_file is not None and not succeeded:
        last = await anyio.to_thread.run_sync(read_last_success, metrics_file, collector.command)
    registry = collector.registry(stats, succeeded=succeeded, last_success=last)
    problems: list[str] = []
    if metrics_file is not None:
        try:
            await anyio.to_thread.run_sync(write_textfile, metrics_file, registry)
        except MetricsError as exc:
            problems.append(str(exc))
    if pushgateway:
        if transport is None:
            raise ValueError("a push needs the run's transport")
        try:
            await push(transport, parse_gateway(pushgateway), registry,
                       job or f"image-mirror-{collector.command or 'run'}", instance, replace=succeeded)
        except MetricsError as exc:
            problems.append(str(exc))
    if problems:
        raise MetricsError("; ".join(problems))
    return registry
