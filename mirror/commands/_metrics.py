"""The CLI's glue to :mod:`mirror.metrics`: a collector when the user asked for metrics,
and one delivery at the end of the run whose failure is reported, never fatal.

:func:`deliver` is awaited inside the run's event loop, after the command's exit code is
known and before the run's transport closes: the push is one more request of the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..events import Stats

if TYPE_CHECKING:
    from ..cli import Settings
    from ..metrics import MetricsCollector
    from ..output import Output
    from ..transport import Transport


def collector_for(settings: Settings, command: str, targets: Mapping[str, int] | None = None) -> MetricsCollector | None:
    """A collector when metrics were asked for; ``targets``: the run's lines per target label."""
    if settings.metrics_file or settings.pushgateway:
        from ..metrics import MetricsCollector  # prometheus_client only when metrics were asked for

        return MetricsCollector(command=command, targets=dict(targets or {}))
    return None


async def deliver(collector: MetricsCollector | None, stats: Stats, settings: Settings, exit_code: int,
                  out: Output, transport: Transport, instance: str | None = None) -> None:
    """Write / push the run's metrics; ``exit_code == 0`` is the run's success."""
    if collector is None:
        return
    from ..metrics import MetricsError, publish

    try:
        await publish(collector, stats, transport, succeeded=exit_code == 0, metrics_file=settings.metrics_file,
                      pushgateway=settings.pushgateway, instance=instance)
    except MetricsError as exc:
        out.error(str(exc))
