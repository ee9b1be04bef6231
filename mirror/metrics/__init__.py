"""Prometheus metrics for one run: collected from events, rendered as text, written or pushed.

:class:`MetricsCollector` is an :class:`~mirror.events.EventSink`: put it next to the UI sink
(``ui.Fanout``) and it keeps what it needs from the events the pipeline emits anyway.
At the end of the run :meth:`MetricsCollector.render` turns those and the per-host counters
of :class:`~mirror.events.Stats` into the Prometheus text exposition format (0.0.4), which
either :func:`write_textfile` puts atomically where node-exporter's textfile collector reads
it, or :func:`push` sends to a Pushgateway.

Every family is a gauge: a run is a batch job, and the values describe *the last run*
(the Prometheus guidance for pushed batch metrics), so there are no ``_total`` counters.

Metrics (labels in braces; a family without samples is left out)::

    image_mirror_discover_tags_seen{entry}           tags the version source returned
    image_mirror_discover_tags_found{entry}          tags left after the filters
    image_mirror_discover_tags_new{entry}            found tags not yet in images-list
    image_mirror_discover_entry_failed{entry}        1 when the entry failed, else 0
    image_mirror_discover_entry_duration_seconds{entry}
    image_mirror_sync_lines{result}                  copied | skipped | failed (| planned on --dry-run)
    image_mirror_sync_lines_planned                  lines in the run (after --shard)
    image_mirror_sync_bytes_sent                     blob bytes uploaded by the copies
    image_mirror_sync_blobs{result}                  sent | mounted | present
    image_mirror_http_requests{host,status}          responses by host and HTTP status
    image_mirror_http_retries{host}
    image_mirror_http_in_flight_peak{host}
    image_mirror_http_concurrency_limit{host}
    image_mirror_rate_limit_waits{host}              waits for a rate limit (Retry-After, quota, --rate)
    image_mirror_rate_limit_wait_seconds{host}       ... and their total length
    image_mirror_github_quota_remaining{host}        when the API said so
    image_mirror_github_quota_reset_timestamp_seconds{host}
    image_mirror_run_duration_seconds{command}
    image_mirror_run_success{command}                1 when the run succeeded, else 0
    image_mirror_last_success_timestamp_seconds{command}

``image_mirror_last_success_timestamp_seconds`` is written only when the run succeeded, or
when the caller carries the previous value over (``render(last_success=...)``, see
:func:`read_last_success`), so that a failed run does not make the series vanish and an
alert such as ``time() - image_mirror_last_success_timestamp_seconds > 86400`` keeps
working. For the same reason :func:`push` of a failed run should use ``replace=False``
(HTTP POST: the Pushgateway keeps the metric names this push does not carry).

Label values never hold secrets: entry keys, registry hosts, HTTP statuses, command names.
"""

from __future__ import annotations

from ..errors import MetricsError
from .collector import MetricsCollector
from .delivery import (
    last_success_from_text,
    publish,
    push,
    push_url,
    read_last_success,
    redact_url,
    write_textfile,
)
from .exposition import CONTENT_TYPE, escape_label_value

__all__ = [
    "CONTENT_TYPE",
    "MetricsCollector",
    "MetricsError",
    "escape_label_value",
    "last_success_from_text",
    "publish",
    "push",
    "push_url",
    "read_last_success",
    "redact_url",
    "write_textfile",
]
