"""Prometheus metrics for one run: collected from events, delivered with ``prometheus_client``.

:class:`MetricsCollector` is an :class:`~mirror.events.EventSink`: put it next to the UI sink
(``ui.Fanout``) and it keeps what it needs from the events the pipeline emits anyway.
At the end of the run :meth:`MetricsCollector.registry` puts those and the per-host counters
of :class:`~mirror.events.Stats` into a private ``prometheus_client`` ``CollectorRegistry``
(the families of :mod:`.families`, none of the library's process or Python ones), which
:func:`publish` writes with ``write_to_textfile`` where node-exporter's textfile collector
reads it, and pushes to a Pushgateway through the run's transport (:mod:`.gateway`). The
reference library, maintained by the Prometheus project, owns the exposition format and
the Pushgateway protocol (grouping key encoding, methods); we own the values.

Every family is a gauge: a run is a batch job, and the values describe *the last run*
(the Prometheus guidance for pushed batch metrics), so there are no ``_total`` counters.

The families (README's Metrics table, checked by a test) are declared in :mod:`.families`;
a family without samples is left out.

``image_mirror_last_success_timestamp_seconds`` is written only when the run succeeded, or
when the caller carries the previous value over (``registry(last_success=...)``, see
:func:`read_last_success`), so that a failed run does not make the series vanish and an
alert such as ``time() - image_mirror_last_success_timestamp_seconds > 86400`` keeps
working. For the same reason :func:`push` of a failed run uses ``replace=False``
(``pushadd_to_gateway``, HTTP POST: the Pushgateway keeps the families this push does not carry).

Label values never hold secrets: entry keys, registry hosts, sync targets (a registry and a path),
HTTP statuses, command names.
"""

from __future__ import annotations

from ..errors import MetricsError
from .collector import MetricsCollector
from .delivery import last_success_from_text, publish, read_last_success, write_textfile
from .families import DECLARED, Family
from .gateway import Gateway, parse_gateway, push

__all__ = [
    "DECLARED",
    "Family",
    "Gateway",
    "MetricsCollector",
    "MetricsError",
    "last_success_from_text",
    "parse_gateway",
    "publish",
    "push",
    "read_last_success",
    "write_textfile",
]
