"""The Pushgateway: its URL checked before the run, the push sent through the run's transport.

:func:`parse_gateway` is called by the CLI before any command starts, so a malformed
``--pushgateway`` is bad input (exit 2) and not a failed push after an hour of copying.
Credentials in the URL (``https://user:pass@host``) become a Basic ``Authorization`` header
and never appear in a message.

:func:`push` lets ``prometheus_client`` say what a push is — ``push_to_gateway`` (PUT) or
``pushadd_to_gateway`` (POST) build the URL with its grouping key (the base64 forms for
values with ``/``, spaces or nothing), the Content-Type and the body from the registry — and
sends that request through the run's :class:`~mirror.transport.Transport`. The library's
``handler`` is synchronous and the transport is async, so the handler only *captures* the
request and the push sends it afterwards, in the run's event loop: the push then has the
transport's rules (registries-file TLS settings for the host, bounded retries, a POST never
re-sent after it may have been processed, one status → error function) and no second HTTP
stack, session or event loop.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from prometheus_client import CollectorRegistry, push_to_gateway, pushadd_to_gateway

from ..errors import InputError, MetricsError, MirrorError
from ..text import excerpt
from ..value import frozen

if TYPE_CHECKING:
    from ..transport import Transport

__all__ = ["Gateway", "parse_gateway", "push"]

DEFAULT_TIMEOUT = 30.0
SHAPE = "http(s)://[USER:PASSWORD@]HOST[:PORT][/PATH]"


@frozen
class Gateway:
    """A checked Pushgateway URL: ``url`` without credentials, and the header they make."""

    url: str
    authorization: str | None = field(default=None, repr=False)


def _shown(value: str) -> str:
    """The value for a message: whatever precedes the last ``@`` may be a password."""
    head, at, tail = value.rpartition("@")
    if at:
        scheme = head.split("://", 1)[0] + "://" if "://" in head else ""
        value = f"{scheme}***@{tail}"
    return excerpt(value)


def parse_gateway(value: str, option: str = "--pushgateway") -> Gateway:
    """Check ``value`` (scheme http or https, a host, an optional port, no query or fragment)
    and split off its credentials; :class:`InputError` naming ``option`` otherwise."""

    def bad(reason: str) -> InputError:
        return InputError(f"{option} {_shown(value)}: {reason}; expected {SHAPE}")

    if any(char.isspace() or not char.isprintable() for char in value):
        raise bad("contains spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise bad("not a valid URL (port or brackets)") from None
    if parts.scheme not in ("http", "https"):
        raise bad("the scheme must be http or https")
    host = parts.hostname
    if not host:
        raise bad("no host")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise bad("a query or fragment is not allowed")
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode()
    return Gateway(f"{parts.scheme}://{netloc}{parts.path}".rstrip("/"), authorization)


@frozen
class _Captured:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = field(repr=False)


def _capture(into: list[_Captured]) -> Callable[..., Callable[[], None]]:
    """A ``prometheus_client`` push handler that records the request instead of sending it."""

    def handler(url: str, method: str, timeout: float | None, headers: Sequence[tuple[str, str]],
                data: bytes) -> Callable[[], None]:
        return lambda: into.append(_Captured(method, url, tuple(headers), data))

    return handler


async def push(
    transport: Transport,
    gateway: Gateway,
    registry: CollectorRegistry,
    job: str,
    instance: str | None = None,
    *,
    replace: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Push ``registry`` to group ``job`` (+ ``instance``) of the Pushgateway.

    ``replace=True``: PUT (``push_to_gateway``), the group then holds exactly these families.
    ``replace=False``: POST (``pushadd_to_gateway``), only the families pushed are replaced;
    a failed run uses it so the group keeps its ``image_mirror_last_success_timestamp_seconds``.
    Raises :class:`MetricsError` naming the URL without credentials.
    """
    captured: list[_Captured] = []
    send = push_to_gateway if replace else pushadd_to_gateway
    grouping = {"instance": instance} if instance is not None else None
    send(gateway.url, job, registry, grouping_key=grouping, timeout=timeout, handler=_capture(captured))
    [request] = captured
    try:
        target, url = transport.registries.resolve_url(request.url)
        await transport.request(target, request.method, url, what=f"pushing metrics to {request.url}",
                                headers=dict(request.headers), body=request.body, ok=range(200, 300),
                                authenticate=False, authorization=gateway.authorization, timeout=timeout)
    except MirrorError as exc:
        raise MetricsError(str(exc)) from None
