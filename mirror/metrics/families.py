"""Every metric family of a run, declared once: name, help text, labels — README's table.

The collector fills these with values; :class:`Samples` turns them into
``prometheus_client`` families in the order declared here. A family without samples is left
out (a sync run has no ``discover_*`` families). Every family is a gauge: the values describe
*the last run* (the Prometheus guidance for batch jobs), so there are no ``_total`` counters.

Adding a per-host family (one the transport counts in :class:`~mirror.events.HostStats`) is
one line in :data:`HOST_FAMILIES`; any other family is one :class:`Family` here and the line
of :mod:`.collector` that adds its samples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily

from ..events import HostStats
from ..value import frozen

__all__ = ["DECLARED", "HOST_FAMILIES", "Family", "HostFamily", "Samples"]


@frozen
class Family:
    name: str
    help: str
    labels: tuple[str, ...] = ()


def _declare(name: str, help_text: str, *labels: str) -> Family:
    return Family(name, help_text, labels)


DISCOVER_TAGS_SEEN = _declare("image_mirror_discover_tags_seen",
                              "Tags (or chart versions, or images) the entry's version source returned in the "
                              "last run.", "entry")
DISCOVER_TAGS_FOUND = _declare("image_mirror_discover_tags_found",
                               "Tags of the entry left after its filters in the last run.", "entry")
DISCOVER_TAGS_NEW = _declare("image_mirror_discover_tags_new",
                             "Found tags of the entry that are not in images-list yet.", "entry")
DISCOVER_ENTRY_FAILED = _declare("image_mirror_discover_entry_failed",
                                 "1 when the entry failed in the last run, 0 when it succeeded.", "entry")
DISCOVER_ENTRY_DURATION = _declare("image_mirror_discover_entry_duration_seconds",
                                   "How long the entry took in the last run.", "entry")
SYNC_LINES = _declare("image_mirror_sync_lines",
                     "images-list lines by how the last sync ended for them at each target.", "result", "target")
SYNC_LINES_PLANNED = _declare("image_mirror_sync_lines_planned",
                              "images-list lines the last sync worked on (after --shard), per target.", "target")
SYNC_BYTES_SENT = _declare("image_mirror_sync_bytes_sent",
                           "Blob bytes uploaded by the copies of the last sync, per target.", "target")
SYNC_BLOBS = _declare("image_mirror_sync_blobs",
                      "Blobs of the copied images per target: sent, mounted from another repository, or already "
                      "present.", "result", "target")
SYNC_REFERRERS = _declare("image_mirror_sync_referrers",
                          "Referrers (signatures, attestations, SBOMs) of the mirrored images in the last sync, per "
                          "target: copied, already present, failed, or skipped (not copied, see the report).",
                          "result", "target")
RUN_DURATION = _declare("image_mirror_run_duration_seconds", "Wall time of the last run.", "command")
RUN_SUCCESS = _declare("image_mirror_run_success", "1 when the last run succeeded, else 0.", "command")
LAST_SUCCESS = _declare("image_mirror_last_success_timestamp_seconds",
                        "Unix time the last successful run finished.", "command")

#: (label values after ``host``, value) of one host; empty when the host has none
HostValues = Callable[[HostStats], Iterable[tuple[tuple[str, ...], float]]]


@frozen
class HostFamily:
    """A family with a ``host`` label (and maybe more), read from each host's counters."""

    family: Family
    values: HostValues

    @classmethod
    def scalar(cls, name: str, help_text: str, value: Callable[[HostStats], float | None]) -> HostFamily:
        """One sample per host; none for a host whose ``value`` is None (nothing reported)."""

        def values(host: HostStats) -> list[tuple[tuple[str, ...], float]]:
            found = value(host)
            return [] if found is None else [((), found)]

        return cls(Family(name, help_text, ("host",)), values)


HOST_FAMILIES: tuple[HostFamily, ...] = (
    HostFamily(Family("image_mirror_http_requests", "HTTP responses in the last run by host and status.",
                      ("host", "status")),
               lambda h: [((str(status),), count) for status, count in h.by_status.items()]),
    HostFamily.scalar("image_mirror_http_retries", "Requests retried in the last run, by host.",
                      lambda h: h.retries),
    HostFamily.scalar("image_mirror_http_in_flight_peak", "Most requests in flight at once to the host.",
                      lambda h: h.peak_in_flight),
    HostFamily.scalar("image_mirror_http_concurrency_limit", "Requests allowed in flight at once to the host.",
                      lambda h: h.limit),
    HostFamily.scalar("image_mirror_rate_limit_waits",
                      "Waits for a rate limit (Retry-After, GitHub quota, the host's rate) in the last run.",
                      lambda h: h.waits),
    HostFamily.scalar("image_mirror_rate_limit_wait_seconds", "Time spent waiting for rate limits in the last run.",
                      lambda h: round(h.wait_seconds, 3)),
    HostFamily.scalar("image_mirror_github_quota_remaining", "API requests left in the quota, as last reported.",
                      lambda h: h.quota_remaining),
    HostFamily.scalar("image_mirror_github_quota_reset_timestamp_seconds",
                      "Unix time the API quota resets, as last reported.", lambda h: h.quota_reset),
    HostFamily.scalar("image_mirror_pull_quota_remaining",
                      "Pulls left in the registry's pull quota (Docker Hub's ratelimit-remaining), as last reported.",
                      lambda h: h.pull_quota_remaining),
    HostFamily.scalar("image_mirror_registry_pulls", "Manifest GETs answered 2xx in the last run (each is a pull).",
                      lambda h: h.pulls if h.pulls or h.pull_quota_remaining is not None else None),
)

#: README's table, in the order the families appear in the exposition
DECLARED: tuple[Family, ...] = (
    DISCOVER_TAGS_SEEN, DISCOVER_TAGS_FOUND, DISCOVER_TAGS_NEW, DISCOVER_ENTRY_FAILED, DISCOVER_ENTRY_DURATION,
    SYNC_LINES, SYNC_LINES_PLANNED, SYNC_BYTES_SENT, SYNC_BLOBS, SYNC_REFERRERS,
    *(host.family for host in HOST_FAMILIES),
    RUN_DURATION, RUN_SUCCESS, LAST_SUCCESS,
)
_KNOWN = frozenset(DECLARED)


class Samples:
    """The samples of one run, by family; :meth:`families` gives them to ``prometheus_client``."""

    def __init__(self) -> None:
        self._values: dict[Family, dict[tuple[str, ...], float]] = {}

    def add(self, family: Family, value: float, *labels: str) -> None:
        if family not in _KNOWN:
            raise ValueError(f"{family.name} is not declared in DECLARED")
        if len(labels) != len(family.labels):
            raise ValueError(f"{family.name} takes the labels {family.labels}, got {labels}")
        self._values.setdefault(family, {})[labels] = value

    def add_hosts(self, hosts: Iterable[HostStats]) -> None:
        for host in hosts:
            for spec in HOST_FAMILIES:
                for labels, value in spec.values(host):
                    self.add(spec.family, value, host.host, *labels)

    def families(self) -> Iterator[GaugeMetricFamily]:
        """Declared order; samples sorted by their label values, so the text is stable."""
        for family in DECLARED:
            values = self._values.get(family)
            if not values:
                continue
            gauge = GaugeMetricFamily(family.name, family.help, labels=family.labels)
            for labels, value in sorted(values.items()):
                gauge.add_metric(labels, value)
            yield gauge
