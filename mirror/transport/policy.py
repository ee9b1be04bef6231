"""Per-host policies: what a reply means for the request and for its host.

The transport sends; a :class:`HostPolicy` decides, from each reply, one of

* ``OK``    — hand the reply to the caller (or, for a status the caller did
  not accept, turn it into a typed error in :func:`~.status.status_error`);
* ``RETRY`` — send again after a delay (the server's, or exponential backoff),
  only this request waits;
* ``PAUSE`` — send again after a delay during which *every* request to the
  host waits (``Retry-After``, GitHub's limits): the host told us to slow down;
* ``FAIL``  — give up now (a status that will not change, a limit beyond
  ``--max-wait``).

A policy may also hold a request back before it is sent (:meth:`HostPolicy.before`:
GitHub's quota known to be gone) and hears of every wait (:meth:`HostPolicy.waiting`,
where GitHub's events are emitted). The transport keeps the mechanics —
attempts and total time (:class:`~.gate.RetryPolicy`), host gates, redirects,
auth challenges, which bodies can be replayed — so a policy is a small pure
function of the reply.

POST (and PATCH) are special: they are retried only when they were not sent
(the connection was refused before the request went out), or when the reply
says it was not processed — 429, GitHub's secondary-limit 403, or a status the
caller names as such (``unprocessed``: a 503 on a blob-upload POST). A POST
whose reply timed out may have done its work; it is never sent again.
"""

from __future__ import annotations

import enum
from dataclasses import field
from typing import Protocol

from multidict import CIMultiDictProxy

from ..errors import MirrorError
from ..value import frozen
from .gate import RetryPolicy, parse_retry_after
from .status import Api, Limit, retryable

__all__ = [
    "Action",
    "Decision",
    "HostPolicy",
    "Outcome",
    "RegistryPolicy",
    "Request",
    "IDEMPOTENT",
]

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class Action(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    PAUSE = "pause"
    FAIL = "fail"


@frozen
class Decision:
    """A policy's verdict. ``counted=False`` waits (GitHub's quota reset) do not use up attempts."""

    action: Action
    delay: float | None = None  # RETRY: the server's delay (None: backoff); PAUSE: host-wide seconds
    reason: str = ""  # why, for logs and events ("HTTP 502", "quota", "secondary")
    limit: Limit | None = None  # a rate limit: status_error words the failure after it
    error: MirrorError | None = field(default=None, repr=False)  # FAIL before sending (no reply to map)
    counted: bool = True


OK = Decision(Action.OK)
FAIL = Decision(Action.FAIL)


@frozen
class Request:
    """What a policy may know about the request being decided."""

    method: str
    url: str = field(repr=False)
    what: str
    unprocessed: frozenset[int] = frozenset()  # statuses that mean "not processed" for this request
    not_found: str | None = None  # the caller's words for a 404
    pull: bool = False  # a manifest GET: spends the host's pull quota (see :mod:`.quota`)

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT

    def may_resend(self, status: int) -> bool:
        """Whether a reply with ``status`` leaves this request safe to send again."""
        return self.idempotent or status == 429 or status in self.unprocessed


@frozen
class Outcome:
    """One reply as a policy sees it. ``body`` is read only for statuses the caller did not accept."""

    request: Request
    status: int
    headers: CIMultiDictProxy[str] = field(repr=False)
    body: bytes = field(repr=False)
    accepted: bool  # the caller listed the status as a success
    attempt: int  # counted attempts so far, 1-based
    waits: int  # uncounted waits so far


class HostPolicy(Protocol):
    """Decides for one host; the transport asks it about every request to that host."""

    @property
    def api(self) -> Api:
        """Whose words :func:`~.status.status_error` uses for this host's failures."""
        ...

    def before(self, request: Request) -> Decision:
        """Before each attempt: ``OK``, ``PAUSE`` (wait, then send) or ``FAIL`` (with ``error``)."""
        ...

    def decide(self, outcome: Outcome) -> Decision:
        """After each reply (the 401 challenge is answered by the transport first)."""
        ...

    def waiting(self, request: Request, attempt: int, decision: Decision, seconds: float) -> None:
        """Told before every retry or pause (connection errors too: ``reason`` says which)."""
        ...


@frozen
class RegistryPolicy:
    """OCI registries, token servers and plain HTTP hosts (Helm chart repositories).

    408, 429 and 5xx (but 501/505) are retried; a ``Retry-After`` pauses the
    whole host, up to ``retry.max_server_wait``.
    """

    retry: RetryPolicy = RetryPolicy()

    @property
    def api(self) -> Api:
        return Api.REGISTRY

    def before(self, request: Request) -> Decision:
        return OK

    def decide(self, outcome: Outcome) -> Decision:
        status = outcome.status
        if outcome.accepted or not retryable(status) or not outcome.request.may_resend(status):
            return OK if outcome.accepted else FAIL
        server = parse_retry_after(outcome.headers.get("Retry-After"))
        if server is not None:
            return Decision(Action.PAUSE, min(server, self.retry.max_server_wait), f"HTTP {status}")
        return Decision(Action.RETRY, None, f"HTTP {status}")

    def waiting(self, request: Request, attempt: int, decision: Decision, seconds: float) -> None:
        return None
