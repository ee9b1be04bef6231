"""GitHub's primary quota and secondary limits, as the transport policy of the API host.

Kept apart from the facade (:mod:`mirror.github`): this decides from a reply's status and
``X-RateLimit-*`` / ``Retry-After`` headers whether to send, wait or fail, and sends nothing
itself. See :mod:`mirror.github` for what the limits are and why the policy brakes on them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from .events import EventSink, GitHubRetry, GitHubWait, HostStats
from .transport import Action, Api, Decision, Limit, Outcome, Request, RetryPolicy
from .transport.gate import Clock, parse_retry_after
from .transport.status import github_message, quota_exhausted
from .transport.status import iso as _iso
from .value import frozen

__all__ = ["MAX_QUOTA_WAITS", "GitHubPolicy", "Quota", "int_header"]

logger = logging.getLogger("mirror.github")

#: Attempts to get past a primary (quota) limit for one request before giving up.
MAX_QUOTA_WAITS = 3


@frozen
class Quota:
    """The primary quota as last reported by GitHub (None until a response said)."""

    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None  # epoch seconds, UTC
    used: int | None = None


def int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


class GitHubPolicy:
    """GitHub's primary quota and secondary limits as the API host's transport policy."""

    def __init__(
        self,
        *,
        host: str,
        stats: HostStats,
        events: EventSink,
        retry: RetryPolicy,
        max_wait: float,
        authenticated: bool,
        wall_clock: Clock = time.time,
    ) -> None:
        self.host = host
        self.stats = stats
        self.max_wait = max_wait
        self.quota = Quota()
        self._events = events
        self._retry = retry
        self._authenticated = authenticated
        self._wall = wall_clock

    @property
    def api(self) -> Api:
        return Api.GITHUB

    def before(self, request: Request) -> Decision:
        """When the quota is known to be gone, wait for the reset or fail fast without sending."""
        quota = self.quota
        if quota.remaining is None or quota.remaining > 0 or quota.reset is None:
            return Decision(Action.OK)
        delay = quota.reset - self._wall()
        if delay <= 0:
            return Decision(Action.OK)  # a new window has begun; the next response tells the new numbers
        if delay > self.max_wait:
            error = quota_exhausted(request.what, quota.reset, self.max_wait, authenticated=self._authenticated,
                                    now=self._wall())
            return Decision(Action.FAIL, error=error)
        return Decision(Action.PAUSE, delay, "quota", Limit("quota", delay, self.max_wait, quota.reset), counted=False)

    def decide(self, outcome: Outcome) -> Decision:
        headers, status = outcome.headers, outcome.status
        self._note_quota(headers)
        if outcome.accepted:
            return Decision(Action.OK)
        if status in (403, 429):
            if int_header(headers, "X-RateLimit-Remaining") == 0:
                reset = int_header(headers, "X-RateLimit-Reset")
                # The reset may already be past by our clock (skew): still pause a moment.
                delay = max((reset - self._wall()) if reset is not None else 60.0, 1.0)
                limit = Limit("quota", delay, self.max_wait, reset)
                if outcome.waits >= MAX_QUOTA_WAITS or delay > self.max_wait:
                    return Decision(Action.FAIL, limit=limit)
                return Decision(Action.PAUSE, delay, "quota", limit, counted=False)
            retry_after = parse_retry_after(headers.get("Retry-After"), now=self._wall())
            if retry_after is not None or status == 429 or "secondary rate limit" in github_message(outcome.body).lower():
                # GitHub: honour Retry-After; without it wait at least a minute, growing. GitHub says the
                # request was not processed, so even a POST may be sent again.
                delay = retry_after if retry_after is not None else max(60.0, self._retry.backoff(outcome.attempt))
                limit = Limit("secondary", delay, self.max_wait)
                if delay > self.max_wait:
                    return Decision(Action.FAIL, limit=limit)
                return Decision(Action.PAUSE, delay, "secondary", limit)
            return Decision(Action.FAIL)
        if status >= 500 and outcome.request.may_resend(status):
            return Decision(Action.RETRY, parse_retry_after(headers.get("Retry-After"), now=self._wall()),
                            f"HTTP {status}")
        return Decision(Action.FAIL)

    def waiting(self, request: Request, attempt: int, decision: Decision, seconds: float) -> None:
        """Every wait becomes an event: quota and secondary waits, and retries."""
        what = request.what
        if decision.reason == "quota":
            reset = decision.limit.reset if decision.limit is not None else None
            self._wait_event(seconds, "quota", what, reset)
        elif decision.reason == "secondary":
            self._events.emit(GitHubWait(self.host, "secondary", seconds, what))
        else:
            cause = decision.reason
            self._events.emit(GitHubRetry(self.host, what, attempt, cause, round(seconds, 3)))

    def _wait_event(self, seconds: float, reason: str, what: str, reset: int | None) -> None:
        self._events.emit(GitHubWait(self.host, reason, round(seconds, 3), what,
                                     _iso(reset) if reset is not None else None))
        logger.debug("waiting %.1f s for the GitHub %s limit (%s)", seconds, reason, what)

    def _note_quota(self, headers: Mapping[str, str]) -> None:
        """Track the core quota; responses may arrive out of order, so never go back in time."""
        resource = headers.get("X-RateLimit-Resource", "core")
        remaining = int_header(headers, "X-RateLimit-Remaining")
        if resource != "core" or remaining is None:
            return
        reset = int_header(headers, "X-RateLimit-Reset")
        current = self.quota
        if current.reset is not None and reset is not None:
            if reset < current.reset:
                return  # a stale response from the previous window
            if reset == current.reset and current.remaining is not None:
                remaining = min(remaining, current.remaining)
        self.quota = Quota(
            limit=int_header(headers, "X-RateLimit-Limit"),
            remaining=remaining,
            reset=reset,
            used=int_header(headers, "X-RateLimit-Used"),
        )
        self.stats.quota_remaining = remaining
        self.stats.quota_reset = float(reset) if reset is not None else None
