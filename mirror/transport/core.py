"""The one request function: gates, policies, auth, redirects, retries, typed errors.

Every HTTP request of a run — registry API calls and their token servers,
GitHub's REST API, Helm chart repositories, Docker Hub's and quay.io's APIs —
goes through :meth:`Transport.request` (body read) or :meth:`Transport.stream`
(body streamed), so the rules hold everywhere:

1. ask the host's :class:`~.policy.HostPolicy` whether to send now (GitHub:
   a quota known to be gone waits for its reset or fails at once); a pull (a
   manifest GET) also asks the host's :class:`~.quota.PullQuota`, which waits
   *before* a slot is taken while the registry's pull quota is below the floor;
2. wait for a slot of the host's :class:`~.gate.HostGate` (concurrency, rate
   ceiling, host-wide pause) and count the request in the host's
   :class:`~mirror.events.HostStats`;
3. send with the best ``Authorization`` we have; on 401 answer the challenge
   once (through the :class:`Authenticator` the registry client installs);
4. follow redirects ourselves, dropping ``Authorization`` when the origin
   changes — a credential or token never goes to a blob CDN (:mod:`.redirects`);
5. let the policy decide from the reply — ok, retry, pause the host, fail —
   within :class:`~.gate.RetryPolicy` (attempts *and* total time); streamed
   request bodies are never replayed, and a POST only when it was not sent or
   the reply says it was not processed (see :mod:`.policy`);
6. turn the final status into a typed error in :func:`~.status.status_error`.

Steps 2 to 5 are one attempt (:func:`.attempt.try_once`); this module loops over them.

Log lines and errors carry the method, the host and the path — never headers,
and never query strings (signed CDN URLs carry credentials there).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import anyio

from ..errors import AuthError, MirrorError
from ..events import EventSink, HostStats, NullSink, Stats
from .attempt import ERROR_BODY_LIMIT, failure, try_once
from .body import counting, read_limited
from .call import Call, Held, Retry, attempt_timeout
from .gate import Clock, HostGate, RetryPolicy, Sleep
from .limits import PROCESS_BUDGET, MemoryBudget
from .policy import Action, HostPolicy, RegistryPolicy, Request
from .quota import PullQuota
from .reply import Body, Reply
from .session import open_session
from .status import safe_url, status_error, unreachable_error

if TYPE_CHECKING:
    from ..registry.hosts import Registries, ResolvedHost

__all__ = ["Authenticator", "Transport"]

log = logging.getLogger("mirror.transport")

DEFAULT_BODY_LIMIT = 8 * 1024 * 1024
PROBE_TIMEOUT = aiohttp.ClientTimeout(total=10)


class Authenticator(Protocol):
    """Answers registry auth challenges (:class:`mirror.registry.auth.Authenticator`)."""

    async def header_for(self, target: ResolvedHost, scopes: Sequence[str]) -> str | None: ...

    async def answer(
        self, target: ResolvedHost, scopes: Sequence[str], challenge_headers: Sequence[str], sent: str | None,
        what: str,
    ) -> str: ...

    async def refused(self, target: ResolvedHost, what: str, sent: str | None) -> MirrorError: ...


class Transport:
    """One run's HTTP: the session, a gate and a policy per host, the retry loop.

    Make it with :meth:`open` (the run's one ``aiohttp.ClientSession``, closed on
    exit). ``auth`` answers 401 challenges for requests sent with
    ``authenticate=True``; the registry client installs its authenticator.
    ``events`` hears of pull-quota waits, which last at most ``max_wait`` seconds.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        registries: Registries | None = None,
        stats: Stats | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = anyio.sleep,
        rng: random.Random | None = None,
        memory: MemoryBudget | None = None,
        events: EventSink | None = None,
        max_wait: float = 60.0,
    ) -> None:
        if registries is None:
            from ..registry.hosts import Registries as _Registries  # the registries file lives above us

            registries = _Registries()
        self.session = session
        self.registries = registries
        self.stats = stats if stats is not None else Stats()
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.memory = memory or PROCESS_BUDGET  # blob bytes held in memory, process-wide (.limits)
        self.gates: dict[str, HostGate] = {}
        self.events: EventSink = events if events is not None else NullSink()
        self.max_wait = max_wait
        self.quotas: dict[str, PullQuota] = {}
        self.auth: Authenticator | None = None
        self.default_policy: HostPolicy = RegistryPolicy(self.retry)
        self._policies: dict[str, HostPolicy] = {}

    @classmethod
    @asynccontextmanager
    async def open(cls, **options: Any) -> AsyncIterator[Transport]:
        """A transport on a new keep-alive session, closed on exit."""
        async with open_session() as session:
            yield cls(session, **options)

    def set_policy(self, host: str, policy: HostPolicy) -> None:
        """Decide replies of ``host`` (a :attr:`ResolvedHost.host`) with ``policy``."""
        self._policies[host] = policy

    def policy(self, target: ResolvedHost) -> HostPolicy:
        return self._policies.get(target.host, self.default_policy)

    def gate(self, target: ResolvedHost) -> HostGate:
        gate = self.gates.get(target.host)
        if gate is None:
            stats: HostStats = self.stats.host(target.host, target.concurrency)
            gate = HostGate(stats, target.concurrency, target.rate, clock=self.clock, sleep=self.sleep)
            self.gates[target.host] = gate
        return gate

    def quota(self, target: ResolvedHost) -> PullQuota:
        """The host's pull quota (known once a reply carried ``ratelimit-*`` headers)."""
        quota = self.quotas.get(target.host)
        if quota is None:
            quota = PullQuota(target.host, target.pull_floor, self.gate(target).stats, self.events, self.max_wait,
                              self.clock, self.sleep)
            self.quotas[target.host] = quota
        return quota

    async def speaks_tls(self, target: ResolvedHost, url: str) -> bool:
        """One HTTPS GET of ``url`` inside the host's gate: False when TLS cannot even start
        (a loopback or ``insecure`` host that speaks plain HTTP), True otherwise — an untrusted
        certificate still means TLS; the real request explains it."""
        gate = self.gate(target)
        async with gate.limiter:
            with gate.stats.request():
                try:
                    async with self.session.get(
                        url, ssl=target.ssl, allow_redirects=False, timeout=PROBE_TIMEOUT
                    ) as response:
                        gate.stats.record_status(response.status)
                except aiohttp.ClientConnectorCertificateError:
                    return True
                except (aiohttp.ClientConnectionError, TimeoutError):
                    return False
        return True

    async def request(
        self,
        target: ResolvedHost,
        method: str,
        url: str,
        *,
        what: str,
        scopes: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        ok: Sequence[int] = (200,),
        limit: int = DEFAULT_BODY_LIMIT,
        authenticate: bool = True,
        check: bool = True,
        follow_redirects: bool = True,
        authorization: str | None = None,
        unprocessed: Sequence[int] = (),
        timeout: float | None = None,
        not_found: str | None = None,
        pull: bool = False,
    ) -> Reply:
        """Send, retry, answer auth; return the response with its body (at most ``limit`` bytes).

        ``check=False`` returns error statuses instead of raising; ``authenticate=False``
        skips the challenge flow and sends ``authorization`` (if any) as given;
        ``unprocessed`` names statuses that mean a POST was not processed (safe to resend);
        ``not_found`` is the caller's message for a 404; ``timeout`` bounds each attempt
        (default: the retry policy's ``total_seconds``); ``pull`` marks a manifest GET (it
        waits for the host's pull floor, see :mod:`.quota`).
        """
        # No total for a streamed response (a blob attempt has its own deadline); a request
        # answered in full is bounded by the retry budget: a server that never answers, or
        # trickles, fails it instead of holding the run for the socket's read timeout.
        total = timeout or self.retry.total_seconds
        call = Call(target, Request(method, url, what, frozenset(unprocessed), not_found, pull), tuple(scopes),
                     dict(headers or {}), body, frozenset(ok), authenticate, check, follow_redirects,
                     authorization, attempt_timeout(total))
        reply, held = await self._perform(call, limit)
        held.release()
        assert isinstance(reply, Reply)
        return reply

    @asynccontextmanager
    async def stream(
        self,
        target: ResolvedHost,
        method: str,
        url: str,
        *,
        what: str,
        scopes: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        ok: Sequence[int] = (200,),
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Like :meth:`request`, but yield the open response; the host slot is
        held until the block ends (a streamed body is a request in flight)."""
        call = Call(target, Request(method, url, what), tuple(scopes), dict(headers or {}), None, frozenset(ok))
        response, held = await self._perform(call, None)
        with held:
            assert isinstance(response, aiohttp.ClientResponse)
            yield response

    async def _perform(self, call: Call, limit: int | None) -> tuple[Reply | aiohttp.ClientResponse, Held]:
        """The attempts of one request; the last one's reply and what it still holds (the
        caller releases it when done with the reply)."""
        gate = self.gate(call.target)
        policy = self.policy(call.target)
        started = self.clock()
        attempt, waits = 1, 0
        answered = False
        if call.authenticate and self.auth is not None:
            authorization = await self.auth.header_for(call.target, call.scopes)
        else:
            authorization = call.authorization
        replayable = not isinstance(call.body, AsyncIterable)
        if isinstance(call.body, AsyncIterable):
            call.body = counting(call.body, gate.stats)
        quota = self.quota(call.target)
        while True:
            await self._hold(call, gate, policy, attempt)
            admitted = None
            if call.request.pull:  # before the slot: a pull waiting for the quota holds none
                admitted = await quota.admit(lambda: self._reread(call))
            held = Held()
            if admitted is not None:
                held.callback(admitted.settle)
            try:
                result = await try_once(self, call, held, gate, policy, authorization, limit, attempt, waits, admitted)
            except Retry as retry:
                held.release()
                counted = await self._before_retry(call, gate, policy, retry, attempt, started, replayable)
                attempt, waits = (attempt + 1, waits) if counted else (attempt, waits + 1)
                continue
            except BaseException:
                held.release()
                raise
            status = result.status
            if status == 401 and call.authenticate and self.auth is not None:
                challenges = result.headers.getall("WWW-Authenticate", [])
                held.release()
                if answered:
                    raise await self.auth.refused(call.target, call.what, authorization)
                authorization = await self.auth.answer(call.target, call.scopes, challenges, authorization, call.what)
                answered = True
                if not replayable:
                    raise AuthError(f"{call.what}: {call.target.netloc} asked for credentials during a streamed upload",
                                    status=401)
                continue
            if call.check and status not in call.ok:
                try:
                    body = result.body if isinstance(result, Reply) else await read_limited(result, ERROR_BODY_LIMIT)
                finally:
                    held.release()
                raise status_error(failure(call, policy, status, body))
            return result, held

    async def _reread(self, call: Call) -> None:
        """A HEAD of the waiting pull's URL: free, and its reply carries the quota again."""
        await self.request(call.target, "HEAD", call.url, what=call.what, scopes=call.scopes, headers=call.headers,
                           check=False, authenticate=call.authenticate, authorization=call.authorization)

    async def _hold(self, call: Call, gate: HostGate, policy: HostPolicy, attempt: int) -> None:
        """The policy's word before sending: go, wait for the host (a known quota reset), or fail."""
        decision = policy.before(call.request)
        if decision.action is Action.FAIL:
            assert decision.error is not None
            raise decision.error
        if decision.action is Action.PAUSE and decision.delay and decision.delay > gate.paused_for() + 1e-6:
            policy.waiting(call.request, attempt, decision, decision.delay)
            gate.pause(decision.delay)

    async def _before_retry(
        self, call: Call, gate: HostGate, policy: HostPolicy, retry: Retry, attempt: int, started: float,
        replayable: bool,
    ) -> bool:
        """Wait before the next attempt, or raise the final error; True when the attempt counts."""
        decision = retry.decision
        if decision.action is Action.PAUSE:
            delay = decision.delay or 0.0
        else:
            delay = self.retry.backoff(attempt, decision.delay, self.rng)
        allowed = replayable and (not decision.counted or self.retry.allows(attempt, started, self.clock(), delay))
        if not allowed:
            if retry.failure is None:
                raise unreachable_error(policy.api, what=call.what, host=call.target.netloc, attempts=attempt,
                                        cause=decision.reason)
            raise status_error(retry.failure)
        if decision.counted:
            gate.stats.retries += 1
        policy.waiting(call.request, attempt, decision, delay)
        log.debug("%s %s: %s; retry %d in %.2fs", call.method, safe_url(call.url), decision.reason, attempt, delay)
        if decision.action is Action.PAUSE:
            gate.pause(delay)  # the server said so: every request to the host waits (in admit)
        elif delay > 0:
            gate.stats.waits += 1
            gate.stats.wait_seconds += delay
            await self.sleep(delay)
        return decision.counted
