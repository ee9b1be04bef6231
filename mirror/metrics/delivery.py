"""Where the metrics go: a textfile (atomic, for node-exporter) or a Pushgateway (HTTP PUT/POST).

Messages name the file or the Pushgateway URL without credentials.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aiohttp

from ..errors import MetricsError
from ..events import Stats
from .collector import MetricsCollector
from .exposition import CONTENT_TYPE, LABEL_NAME, escape_label_value

__all__ = [
    "last_success_from_text",
    "publish",
    "push",
    "push_url",
    "read_last_success",
    "redact_url",
    "write_textfile",
]


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
    if not LABEL_NAME.match(label):
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
