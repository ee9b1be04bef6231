"""Where each registry host's requests really go: the settings of one host (:class:`HostConfig`),
all of them (:class:`Registries`), and one host resolved (:class:`ResolvedHost`).

The registries file that holds the settings is read by :mod:`.registries_file`.

Resolution rules, decided here once so the native client and the skopeo copier
agree:

* ``docker.io`` without an endpoint talks to ``registry-1.docker.io``.
* A scheme written in ``endpoint`` wins.
* A host with ``ca_file`` (and no scheme) is HTTPS: a CA file only means TLS.
* Otherwise HTTPS, except that loopback hosts (127.0.0.0/8, ``localhost``,
  ``[::1]``, as dockerd allows) and hosts marked ``insecure`` *may* fall back to
  plain HTTP: :class:`ResolvedHost` says so with ``may_fall_back``, and the
  client probes HTTPS once and uses HTTP when the TLS handshake or connection
  fails. Probing (rather than "loopback means HTTP") is what docker does, and it
  keeps a TLS registry on 127.0.0.1 working without writing ``https://``.
* TLS is verified unless the host is ``insecure``; ``ca_file`` is loaded into an
  ``ssl.SSLContext`` when the file is read, so a bad path fails at start-up
  (naming host and field), not in the middle of a run.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import field, replace
from urllib.parse import urlsplit

from ..errors import InputError
from ..ref import DOCKER_HUB, ImageRef, normalize_host
from ..transport.limits import StreamLimits
from ..value import frozen

__all__ = [
    "DEFAULT_CONCURRENCY",
    "HostConfig",
    "Registries",
    "ResolvedHost",
    "is_loopback",
    "split_endpoint",
]

DEFAULT_CONCURRENCY = 8
DOCKER_HUB_REGISTRY = "registry-1.docker.io"
DOCKER_HUB_PULL_FLOOR = 10


def is_loopback(netloc: str) -> bool:
    """Whether ``host[:port]`` names this machine (127.0.0.0/8, localhost, ::1)."""
    host = urlsplit(f"//{netloc}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@frozen
class HostConfig:
    """One host's settings as written in the registries file (all optional)."""

    endpoint: str | None = None
    repository_prefix: str = ""
    concurrency: int | None = None  # None: the host's default (DEFAULT_CONCURRENCY; GitHub's own)
    rate: float | None = None
    insecure: bool = False
    ca_file: str | None = None
    pull_floor: int | None = None  # None: the host's default (DOCKER_HUB_PULL_FLOOR for docker.io, else 0)
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    streams: StreamLimits = StreamLimits()
    referrers: bool = False  # as a destination: sync copies referrers here (as with --referrers)


@frozen
class ResolvedHost:
    """Where requests for one registry host go, and how.

    ``host`` is the name in image references (``docker.io``); ``netloc`` is
    what we connect to (``registry-1.docker.io`` or the endpoint). The skopeo
    copier derives ``--*-tls-verify``, ``--cert-dir`` and rewritten references
    from exactly these fields, so both copiers reach the same place.
    """

    host: str
    scheme: str
    netloc: str
    path_prefix: str = ""
    repository_prefix: str = ""
    insecure: bool = False
    ca_file: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    rate: float | None = None
    redirected: bool = False  # an endpoint was configured
    may_fall_back: bool = False  # HTTPS first, plain HTTP if the handshake fails
    pull_floor: int = 0  # manifest GETs wait while fewer pulls are left (0: never)
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    streams: StreamLimits = StreamLimits()

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path_prefix}"

    @property
    def origin(self) -> tuple[str, str]:
        return self.scheme, self.netloc.lower()

    @property
    def plain_http(self) -> bool:
        return self.scheme == "http"

    @property
    def tls_verify(self) -> bool:
        """False when TLS is not verified or not used at all (skopeo's ``--tls-verify``)."""
        return not (self.insecure or self.plain_http)

    @property
    def ssl(self) -> ssl.SSLContext | bool:
        """The value for aiohttp's ``ssl=``: a CA context, False (no verification) or True."""
        if self.ssl_context is not None:
            return self.ssl_context
        return not self.insecure

    @property
    def credential_host(self) -> str:
        """Whose credentials we send: the endpoint's when redirected, else the host's.

        An endpoint (a pull-through cache, an air-gapped mirror) gets its own
        credentials, never the upstream host's.
        """
        return normalize_host(self.netloc) if self.redirected else self.host

    def remote_name(self, repository: str) -> str:
        """The repository name on the endpoint: ``repository_prefix`` + name."""
        return f"{self.repository_prefix}/{repository}" if self.repository_prefix else repository

    def remote_reference(self, ref: ImageRef) -> str:
        """``netloc/prefix/repo[:tag][@digest]``: the reference other tools should use."""
        text = f"{self.netloc}{self.path_prefix}/{self.remote_name(ref.repository)}"
        if ref.tag:
            text += f":{ref.tag}"
        if ref.digest:
            text += f"@{ref.digest}"
        return text

    def url(self, path: str) -> str:
        return self.base_url + path

    def with_scheme(self, scheme: str) -> ResolvedHost:
        return replace(self, scheme=scheme, may_fall_back=False)


@frozen
class Registries:
    """The parsed registries file: settings per normalised host."""

    hosts: Mapping[str, HostConfig] = field(default_factory=dict)
    source: str = "registries file"

    def config(self, host: str) -> HostConfig:
        return self.hosts.get(normalize_host(host), HostConfig())

    def with_concurrency_defaults(self, defaults: Mapping[str, int]) -> Registries:
        """These settings, with ``defaults`` (host -> concurrency) for hosts whose
        ``concurrency`` the file does not set: the registries file wins, then e.g. a
        config.yaml's ``ReqConcurrent``, then the built-in default."""
        hosts = dict(self.hosts)
        for host, concurrency in defaults.items():
            key = normalize_host(host)
            config = hosts.get(key, HostConfig())
            if config.concurrency is None:
                hosts[key] = replace(config, concurrency=concurrency)
        return Registries(hosts, self.source)

    def resolve(self, host: str, *, default_concurrency: int = DEFAULT_CONCURRENCY) -> ResolvedHost:
        """Where requests for ``host`` go (before any HTTPS→HTTP probe)."""
        key = normalize_host(host)
        cfg = self.config(key)
        scheme: str | None = None
        path_prefix = ""
        if cfg.endpoint:
            scheme, netloc, path_prefix = split_endpoint(cfg.endpoint)
        elif key == DOCKER_HUB:
            netloc = DOCKER_HUB_REGISTRY
        else:
            netloc = key
        may_fall_back = False
        if scheme is None:
            scheme = "https"
            may_fall_back = cfg.ca_file is None and (cfg.insecure or is_loopback(netloc))
        return ResolvedHost(
            host=key,
            scheme=scheme,
            netloc=netloc,
            path_prefix=path_prefix,
            repository_prefix=cfg.repository_prefix,
            insecure=cfg.insecure,
            ca_file=cfg.ca_file,
            concurrency=cfg.concurrency or default_concurrency,
            rate=cfg.rate,
            redirected=cfg.endpoint is not None,
            may_fall_back=may_fall_back,
            pull_floor=cfg.pull_floor if cfg.pull_floor is not None else
            (DOCKER_HUB_PULL_FLOOR if key == DOCKER_HUB else 0),
            ssl_context=cfg.ssl_context,
            streams=cfg.streams,
        )

    def resolve_url(self, url: str, *, default_concurrency: int = DEFAULT_CONCURRENCY) -> tuple[ResolvedHost, str]:
        """For a plain URL (Helm index, token realm, Hub API): the host settings
        and the URL rewritten to the host's endpoint when one is configured.

        The URL's own scheme is kept unless the endpoint names one; there is no
        probing for URLs, whose scheme is explicit.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"not an http(s) URL: {_safe(url)}")
        resolved = self.resolve(parts.netloc, default_concurrency=default_concurrency)
        if not resolved.redirected:
            resolved = replace(resolved, scheme=parts.scheme, netloc=parts.netloc, may_fall_back=False)
            return resolved, url
        endpoint_scheme, _, _ = split_endpoint(self.config(parts.netloc).endpoint or "")
        resolved = replace(resolved, scheme=endpoint_scheme or parts.scheme, may_fall_back=False)
        query = f"?{parts.query}" if parts.query else ""
        return resolved, resolved.url(parts.path + query)


def _safe(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


def split_endpoint(endpoint: str) -> tuple[str | None, str, str]:
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        return parts.scheme.lower(), parts.netloc, parts.path.rstrip("/")
    netloc, _, path = endpoint.partition("/")
    return None, netloc, ("/" + path).rstrip("/") if path else ""
