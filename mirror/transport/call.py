"""One request as it goes through its attempts: what it asks for (:class:`Call`), what an
attempt holds until its reply is done with (:class:`Held`), and a retry the policy allowed
(:class:`Retry`).

Kept apart from the loop in :mod:`.core` so that module is the loop alone; nothing here sends.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from .policy import Decision, Request
from .reply import Body
from .session import TIMEOUT as SESSION_TIMEOUT
from .status import Failure, origin

if TYPE_CHECKING:
    from ..registry.hosts import ResolvedHost

__all__ = ["Call", "Held", "Retry", "attempt_timeout", "on_origin"]


@functools.lru_cache(maxsize=64)
def attempt_timeout(total: float) -> aiohttp.ClientTimeout:
    """Each attempt's timeout for a request answered in full (a handful of distinct totals per run)."""
    return aiohttp.ClientTimeout(total=total, sock_connect=SESSION_TIMEOUT.sock_connect)


def on_origin(url: str, target: ResolvedHost) -> bool:
    """Whether ``url`` is on ``target``'s origin (scheme and netloc): a credential may go there.

    A URL the client built from the target starts with ``scheme://netloc/`` as written, which
    settles it without parsing; anything else (a redirect) is compared parsed."""
    home = f"{target.scheme}://{target.netloc}"
    if url.startswith(home) and url[len(home):len(home) + 1] in ("/", "?", "#", ""):
        return True
    return origin(url) == target.origin


class Held:
    """What one attempt holds until its reply is done with -- the host slot, the in-flight
    count, the quota ticket, the response -- undone in reverse order, once.

    Every undo is synchronous, and this is the path of every request, so a list stands in
    for a (much heavier) ``AsyncExitStack``. An undo that raises does not stop the others;
    the first error is raised after they all ran."""

    __slots__ = ("_undo",)

    def __init__(self) -> None:
        self._undo: list[Callable[[], object]] = []

    def callback(self, undo: Callable[[], object]) -> None:
        self._undo.append(undo)

    def enter(self, manager: AbstractContextManager[object]) -> None:
        manager.__enter__()
        self._undo.append(functools.partial(manager.__exit__, None, None, None))

    def release(self) -> None:
        undo, self._undo = self._undo, []
        error: BaseException | None = None
        for step in reversed(undo):
            try:
                step()
            except BaseException as exc:  # the others still run; the first error is raised below
                error = error or exc
        if error is not None:
            raise error

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Retry(Exception):
    """An attempt failed in a way the policy (or the connection rules) allow to retry."""

    def __init__(self, decision: Decision, failure: Failure | None) -> None:
        super().__init__(decision.reason)
        self.decision = decision
        self.failure = failure  # what to raise when the retries run out (None: no reply)


@dataclass
class Call:
    target: ResolvedHost
    request: Request
    scopes: Sequence[str] = ()
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    body: Body = field(default=None, repr=False)
    ok: frozenset[int] = frozenset({200})
    authenticate: bool = True
    check: bool = True
    follow_redirects: bool = True
    #: sent instead of the auth flow (token realms, GitHub); same-origin only, like any credential
    authorization: str | None = field(default=None, repr=False)
    timeout: aiohttp.ClientTimeout | None = None

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def url(self) -> str:
        return self.request.url

    @property
    def what(self) -> str:
        return self.request.what
