"""THE one place HTTP happens (DESIGN.md, architecture).

Public API::

    async with Transport.open(registries=hosts, stats=stats) as transport:
        target, url = transport.registries.resolve_url("https://charts.example/index.yaml")
        reply = await transport.request(target, "GET", url, what="the chart index")

Modules, in dependency order:

* ``gate``     per-host concurrency, rate ceiling, host-wide pause; bounded retry timing
* ``status``   status → typed error (:func:`status_error`, the only one), safe URLs
* ``policy``   per-host policies: ok / retry / pause / fail from a reply
* ``quota``    a registry's pull quota (Docker Hub's): pulls wait below the host's ``pull_floor``
* ``body``     bounded body reads, counted streamed uploads
* ``limits``   per-host stream limits, blob deadlines, the process's memory budget
* ``session``  the run's one ``aiohttp.ClientSession``
* ``reply``    :class:`Reply` (a response read in full) and ``Link`` parsing
* ``call``     one request through its attempts: what it asks, what an attempt holds
* ``core``     :class:`Transport`: the request loop

Clients on it: :mod:`mirror.registry` (with its auth challenges),
:mod:`mirror.github` (with :class:`~mirror.github.GitHubPolicy`), Helm chart
repositories through the registry client's ``fetch``.
"""

from __future__ import annotations

from .core import Authenticator, Transport
from .gate import Clock, HostGate, RetryPolicy, Sleep, parse_retry_after
from .policy import Action, Decision, HostPolicy, Outcome, RegistryPolicy, Request
from .reply import Body, Links, Reply, parse_links
from .status import Api, Failure, Limit, origin, safe_url

__all__ = [
    "Action",
    "Api",
    "Authenticator",
    "Body",
    "Clock",
    "Decision",
    "Failure",
    "HostGate",
    "HostPolicy",
    "Limit",
    "Links",
    "Outcome",
    "RegistryPolicy",
    "Reply",
    "Request",
    "RetryPolicy",
    "Sleep",
    "Transport",
    "origin",
    "parse_links",
    "parse_retry_after",
    "safe_url",
]
