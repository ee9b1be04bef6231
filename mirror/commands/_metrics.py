"""The CLI's glue to :mod:`mirror.metrics`: a collector when the user asked for metrics,
and one delivery at the end of the run whose failure is reported, never fatal."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import anyio

from ..events import Stats
from ..metrics import MetricsCollector, MetricsError, publish

if TYPE_CHECKING:
    from ..cli import Settings
    from ..output import Output


def collector_for(settings: Settings, command: str) -> MetricsCollector | None:
    if settings.metrics_file or settings.pushgateway:
        return MetricsCollector(command=command)
    return None


def deliver(collector: MetricsCollector | None, stats: Stats, settings: Settings, exit_code: int,
            out: Output, instance: str | None = None) -> None:
    """Write / push the run's metrics (called after the run, outside its event loop)."""
    if collector is None:
        return
    try:
        anyio.run(partial(publish, collector, stats, succeeded=exit_code == 0,
                          metrics_file=settings.metrics_file, pushgateway=settings.pushgateway,
                          instance=instance))
    except MetricsError as exc:
        out.error(str(exc))
