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

import base64
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aiohttp

from .errors import MirrorError
from .events import Stats

__all__ = [
    "CONTENT_TYPE",
    "MetricsCollector",
    "MetricsError",
    "escape_label_value",
    "publish",
    "push",
    "push_url",
    "read_last_success",
    "redact_url",
    "write_textfile",
]

#: The Content-Type of the text exposition format, as the Pushgateway expects it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class MetricsError(MirrorError):
    """Writing the metrics file or pushing to the Pushgateway failed.

    The message names the file or the Pushgateway URL without credentials.
    """


# --------------------------------------------------------------------------------------------
# Exposition format
# --------------------------------------------------------------------------------------------


def escape_label_value(value: str) -> str:
    r"""Escape a label value: ``\`` → ``\\``, ``"`` → ``\"``, newline → ``\n``."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass
class _Family:
    name: str
    help: str
    type: str = "gauge"
    samples: list[tuple[tuple[tuple[str, str], ...], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        for label in labels:
            if not _LABEL_NAME.match(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r}")
        self.samples.append((tuple(sorted(labels.items())), value))

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.type}"]
        for labels, value in sorted(self.samples, key=lambda sample: sample[0]):
            text = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels)
            lines.append(f"{self.name}{{{text}}} {_format_value(value)}" if text
                         else f"{self.name} {_format_value(value)}")
        return lines


class _Exposition:
    """Families in the order they are first declared; empty ones are left out."""

    def __init__(self) -> None:
        self.families: dict[str, _Family] = {}

    def family(self, name: str, help_text: str) -> _Family:
        if not _METRIC_NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        found = self.families.get(name)
        if found is None:
            found = self.families[name] = _Family(name, help_text)
        return found

    def text(self) -> str:
        lines: list[str] = []
        for family in self.families.values():
            if family.samples:
                lines.extend(family.render())
        return "\n".join(lines) + "\n" if lines else ""


# --------------------------------------------------------------------------------------------
# Collector
# --------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    seen: int | None = None
    found: int | None = None
    new: int | None = None
    failed: bool = False
    elapsed: float | None = None


@dataclass
class MetricsCollector:
    """An EventSink that remembers what the metrics need; :meth:`render` writes them.

    ``command`` labels the run-level metrics (``discover``, ``sync``, ...); when not given it
    is taken from the first event's prefix. ``clock`` (wall time, for the last-success
    timestamp) and ``monotonic`` (for the duration) are injectable for tests.
    """

    command: str | None = None
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    started: float = field(default=-1.0)
    entries: dict[str, _Entry] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    planned_lines: int | None = None
    dry_run: bool = False
    bytes_sent: int = 0
    blobs: dict[str, int] = field(default_factory=dict)
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: int = 0

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.monotonic()

    # ---- EventSink ----------------------------------------------------------------------
    def emit(self, event: str, /, **fields: Any) -> None:
        if self.command is None and "." in event:
            prefix = event.split(".", 1)[0]
            if prefix in ("discover", "sync", "compare"):
                self.command = prefix
        if event == "discover.entry.done":
            entry = self.entries.setdefault(str(fields.get("entry", "")), _Entry())
            entry.seen = _int_or_none(fields.get("seen"))
            entry.found = _int_or_none(fields.get("found"))
            entry.new = _int_or_none(fields.get("new"))
            entry.failed = False
            entry.elapsed = _float_or_none(fields.get("elapsed"))
        elif event == "discover.entry.failed":
            entry = self.entries.setdefault(str(fields.get("entry", "")), _Entry())
            entry.failed = True
            entry.elapsed = _float_or_none(fields.get("elapsed"))
            self.failures += 1
        elif event == "sync.plan":
            self.planned_lines = _int_or_none(fields.get("lines"))
            self.dry_run = bool(fields.get("dry_run", False))
        elif event in ("sync.copy.done", "sync.skip", "sync.copy.failed"):
            result = {"sync.copy.done": "copied", "sync.skip": "skipped", "sync.copy.failed": "failed"}[event]
            self.lines[result] = self.lines.get(result, 0) + 1
            if event == "sync.copy.done":
                self.bytes_sent += _int_or_none(fields.get("bytes")) or 0
                for kind in ("sent", "mounted", "present"):
                    self.blobs[kind] = self.blobs.get(kind, 0) + (_int_or_none(fields.get(f"blobs_{kind}")) or 0)
            elif event == "sync.copy.failed":
                self.failures += 1
        elif event in ("discover.done", "sync.done", "compare.done"):
            self.done[event.split(".", 1)[0]] = dict(fields)

    # ---- outcome --------------------------------------------------------------------------
    def succeeded(self) -> bool:
        """The run finished (a ``*.done`` event came) and nothing failed."""
        if not self.done or self.failures:
            return False
        for fields in self.done.values():
            if (_int_or_none(fields.get("failed")) or 0) > 0:
                return False
        return True

    # ---- rendering ------------------------------------------------------------------------
    def render(
        self,
        stats: Stats | None = None,
        *,
        succeeded: bool | None = None,
        last_success: float | None = None,
    ) -> str:
        """The exposition text for this run.

        ``succeeded``: the run's verdict (the CLI passes ``exit_code == 0``); default
        :meth:`succeeded`. ``last_success``: the previous success timestamp to carry over
        when this run failed (ignored when it succeeded: then it is *now*).
        """
        ok = self.succeeded() if succeeded is None else succeeded
        command = self.command or "unknown"
        out = _Exposition()

        if self.entries:
            seen = out.family("image_mirror_discover_tags_seen",
                              "Tags (or chart versions, or images) the entry's version source returned in the last run.")
            found = out.family("image_mirror_discover_tags_found",
                               "Tags of the entry left after its filters in the last run.")
            new = out.family("image_mirror_discover_tags_new",
                             "Found tags of the entry that are not in images-list yet.")
            failed = out.family("image_mirror_discover_entry_failed",
                                "1 when the entry failed in the last run, 0 when it succeeded.")
            elapsed = out.family("image_mirror_discover_entry_duration_seconds",
                                 "How long the entry took in the last run.")
            for key, entry in self.entries.items():
                failed.add(1 if entry.failed else 0, entry=key)
                if entry.elapsed is not None:
                    elapsed.add(entry.elapsed, entry=key)
                if entry.failed:
                    continue
                if entry.seen is not None:
                    seen.add(entry.seen, entry=key)
                if entry.found is not None:
                    found.add(entry.found, entry=key)
                if entry.new is not None:
                    new.add(entry.new, entry=key)

        if self.lines or self.planned_lines is not None or "sync" in self.done:
            lines = out.family("image_mirror_sync_lines", "images-list lines by how the last sync ended for them.")
            counts = {"copied": 0, "skipped": 0, "failed": 0, **self.lines}
            # --dry-run: lines that would be copied end "planned" (no per-line event, so from sync.done).
            planned = _int_or_none(self.done.get("sync", {}).get("planned")) or 0
            if self.dry_run or planned:
                counts["planned"] = planned
            for result, count in counts.items():
                lines.add(count, result=result)
            if self.planned_lines is not None:
                out.family("image_mirror_sync_lines_planned",
                           "images-list lines the last sync worked on (after --shard).").add(self.planned_lines)
            out.family("image_mirror_sync_bytes_sent",
                       "Blob bytes uploaded by the copies of the last sync.").add(self.bytes_sent)
            if any(self.blobs.values()):
                blobs = out.family("image_mirror_sync_blobs",
                                   "Blobs of the copied images: sent, mounted from another repository, or already present.")
                for kind in ("sent", "mounted", "present"):
                    blobs.add(self.blobs.get(kind, 0), result=kind)

        if stats is not None:
            self._render_hosts(out, stats)

        out.family("image_mirror_run_duration_seconds", "Wall time of the last run.").add(
            round(max(0.0, self.monotonic() - self.started), 3), command=command)
        out.family("image_mirror_run_success", "1 when the last run succeeded, else 0.").add(
            1 if ok else 0, command=command)
        stamp = round(self.clock(), 3) if ok else last_success
        if stamp is not None:
            out.family("image_mirror_last_success_timestamp_seconds",
                       "Unix time the last successful run finished.").add(stamp, command=command)
        return out.text()

    @staticmethod
    def _render_hosts(out: _Exposition, stats: Stats) -> None:
        hosts = sorted(stats.hosts.values(), key=lambda h: h.host)
        if not hosts:
            return
        requests = out.family("image_mirror_http_requests", "HTTP responses in the last run by host and status.")
        retries = out.family("image_mirror_http_retries", "Requests retried in the last run, by host.")
        peak = out.family("image_mirror_http_in_flight_peak", "Most requests in flight at once to the host.")
        limit = out.family("image_mirror_http_concurrency_limit", "Requests allowed in flight at once to the host.")
        waits = out.family("image_mirror_rate_limit_waits",
                           "Waits for a rate limit (Retry-After, GitHub quota, the host's rate) in the last run.")
        wait_seconds = out.family("image_mirror_rate_limit_wait_seconds",
                                  "Time spent waiting for rate limits in the last run.")
        quota = out.family("image_mirror_github_quota_remaining", "API requests left in the quota, as last reported.")
        reset = out.family("image_mirror_github_quota_reset_timestamp_seconds",
                           "Unix time the API quota resets, as last reported.")
        for host in hosts:
            for status, count in sorted(host.by_status.items()):
                requests.add(count, host=host.host, status=str(status))
            retries.add(host.retries, host=host.host)
            peak.add(host.peak_in_flight, host=host.host)
            limit.add(host.limit, host=host.host)
            waits.add(host.waits, host=host.host)
            wait_seconds.add(round(host.wait_seconds, 3), host=host.host)
            if host.quota_remaining is not None:
                quota.add(host.quota_remaining, host=host.host)
            if host.quota_reset is not None:
                reset.add(host.quota_reset, host=host.host)


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# Textfile
# --------------------------------------------------------------------------------------------


def write_textfile(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same directory, fsync,
    mode 0644, rename. node-exporter's textfile collector reads only ``*.prom`` files, and the
    temporary name does not end in ``.prom``, so it never reads half a file."""
    target = Path(path)
    directory = target.parent
    tmp_name: str | None = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
        tmp_name = None
    except OSError as exc:
        raise MetricsError(f"cannot write metrics file {target}: {exc.strerror or exc}") from None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def read_last_success(path: str | os.PathLike[str], command: str | None = None) -> float | None:
    """``image_mirror_last_success_timestamp_seconds`` from an earlier metrics file (for
    ``render(last_success=...)`` after a failed run); None when absent or unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return last_success_from_text(text, command)


def last_success_from_text(text: str, command: str | None = None) -> float | None:
    pattern = re.compile(r'^image_mirror_last_success_timestamp_seconds(?:\{([^}]*)\})?\s+(\S+)')
    for line in text.splitlines():
        match = pattern.match(line)
        if not match:
            continue
        if command is not None and f'command="{escape_label_value(command)}"' not in (match.group(1) or ""):
            continue
        try:
            return float(match.group(2))
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------------------------
# Pushgateway
# --------------------------------------------------------------------------------------------


def redact_url(url: str) -> str:
    """The URL without user, password, query or fragment: safe for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "<invalid URL>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _grouping_segment(label: str, value: str) -> str:
    """One ``/label/value`` pair of the grouping key; values with ``/`` (or empty ones) use
    the Pushgateway's base64url form ``/label@base64/...``."""
    if not _LABEL_NAME.match(label):
        raise ValueError(f"invalid grouping label {label!r}")
    if value == "":
        return f"/{label}@base64/="
    if "/" in value:
        encoded = base64.urlsafe_b64encode(value.encode()).decode()
        return f"/{label}@base64/{encoded}"
    return f"/{label}/{quote(value, safe='')}"


def push_url(url: str, job: str = "image-mirror", instance: str | None = None,
             grouping: Mapping[str, str] | None = None) -> str:
    """``{url}/metrics/job/{job}[/instance/{instance}][/{label}/{value}...]`` without the
    URL's credentials (those go into the Authorization header)."""
    if not job:
        raise ValueError("job must not be empty")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MetricsError(f"pushgateway URL must be http(s)://HOST[:PORT][/PATH], got {redact_url(url)!r}")
    base = redact_url(url).rstrip("/")
    path = base + "/metrics" + _grouping_segment("job", job)
    labels: list[tuple[str, str]] = []
    if instance is not None:
        labels.append(("instance", instance))
    labels.extend((grouping or {}).items())
    for label, value in labels:
        path += _grouping_segment(label, value)
    return path


def _basic_auth(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.username is None:
        return {}
    user = unquote(parts.username)
    password = unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def push(
    session: aiohttp.ClientSession | None,
    url: str,
    text: str,
    job: str = "image-mirror",
    instance: str | None = None,
    *,
    grouping: Mapping[str, str] | None = None,
    replace: bool = True,
    timeout: float = 30.0,
) -> None:
    """Send ``text`` to the Pushgateway at ``url`` for the group ``job`` (+ ``instance``, +
    ``grouping`` labels).

    ``replace=True``: ``PUT`` — the group then holds exactly these metrics.
    ``replace=False``: ``POST`` — only the metric names in ``text`` are replaced; use it for a
    failed run so the group keeps its ``image_mirror_last_success_timestamp_seconds``.
    Credentials in the URL (``https://user:pass@host``) are sent as Basic auth and never
    appear in errors. ``session=None`` uses a short-lived session of its own.
    Raises :class:`MetricsError`.
    """
    target = push_url(url, job, instance, grouping)
    headers = {"Content-Type": CONTENT_TYPE, **_basic_auth(url)}
    method = "PUT" if replace else "POST"
    body = text.encode("utf-8")
    own = session is None
    client = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
    try:
        async with client.request(method, target, data=body, headers=headers,
                                  timeout=aiohttp.ClientTimeout(total=timeout),
                                  allow_redirects=False) as response:
            if 200 <= response.status < 300:
                return
            detail = (await response.text(errors="replace")).strip().replace("\n", " ")[:300]
            raise MetricsError(
                f"pushgateway {method} {target} answered {response.status}"
                + (f": {detail}" if detail else "")
            )
    except MetricsError:
        raise
    except TimeoutError:
        raise MetricsError(f"pushgateway {method} {target} timed out after {timeout:g}s") from None
    except (aiohttp.ClientError, OSError) as exc:
        reason = _scrub(str(exc) or type(exc).__name__, url)
        raise MetricsError(f"cannot push metrics to {target}: {type(exc).__name__}: {reason}") from None
    finally:
        if own:
            await client.close()


async def publish(
    collector: MetricsCollector,
    stats: Stats | None,
    *,
    succeeded: bool,
    metrics_file: str | os.PathLike[str] | None = None,
    pushgateway: str | None = None,
    job: str | None = None,
    instance: str | None = None,
    session: aiohttp.ClientSession | None = None,
) -> str:
    """Render the run's metrics once and deliver them where the user asked; the CLI's one call.

    - ``metrics_file``: written atomically; after a failed run the previous file's
      last-success timestamp is carried over.
    - ``pushgateway``: pushed to group ``job`` (default ``image-mirror-<command>``) and
      ``instance`` (e.g. ``shard-2`` for ``--shard 2/4``, so shards do not overwrite each
      other); a failed run is pushed with POST so the group keeps its last success.

    Both destinations are tried; if either failed, raises one :class:`MetricsError` naming
    them. Returns the text.
    """
    last = None
    if metrics_file is not None and not succeeded:
        last = read_last_success(metrics_file, collector.command)
    text = collector.render(stats, succeeded=succeeded, last_success=last)
    problems: list[str] = []
    if metrics_file is not None:
        try:
            write_textfile(metrics_file, text)
        except MetricsError as exc:
            problems.append(str(exc))
    if pushgateway:
        try:
            await push(session, pushgateway, text, job or f"image-mirror-{collector.command or 'run'}",
                       instance, replace=succeeded)
        except MetricsError as exc:
            problems.append(str(exc))
    if problems:
        raise MetricsError("; ".join(problems))
    return text


def _scrub(message: str, url: str) -> str:
    """Remove the URL's password (and user) from a message, whatever quoted it."""
    parts = urlsplit(url)
    for secret in (parts.password, parts.username):
        if secret:
            message = message.replace(secret, "***")
    return message
