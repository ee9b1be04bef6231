"""The one request function: limits, stats, auth, redirects, retries, typed errors.

Every HTTP request of the registry client — API calls, token requests, Helm
index downloads, Docker Hub's API — goes through :meth:`Transport.request`
(body read) or :meth:`Transport.stream` (body streamed), so the rules hold
everywhere:

1. wait for a slot of the host's :class:`~mirror.throttle.HostGate`
   (concurrency, rate ceiling, host-wide Retry-After pause) and count the
   request in the host's :class:`~mirror.events.HostStats`;
2. send with the best ``Authorization`` we have; on 401 answer the challenge
   once (see :mod:`.auth`);
3. follow redirects ourselves, dropping ``Authorization`` when the origin
   changes — a credential or token never goes to a blob CDN;
4. retry connection errors (refused, reset, truncated bodies), 408, 429 and
   5xx (but 501/505) within :class:`~mirror.throttle.RetryPolicy` (attempts *and*
   total time), exponential backoff with jitter, ``Retry-After`` pausing the
   whole host; streamed request bodies are never replayed;
5. turn the final status into a typed error in :func:`status_error`.

Log lines and errors carry the method, the host and the path — never headers,
and never query strings (signed CDN URLs carry credentials there).
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from ..errors import AuthError, ProtocolError, RateLimited, RegistryError
from ..events import HostStats, Stats
from ..throttle import Clock, HostGate, RetryPolicy, Sleep, parse_retry_after
from ._body import counting, read_limited
from ._status import describe, origin, retryable, safe_url, status_error
from .auth import Authenticator, TokenRequest, TokenResponse
from .credentials import CredentialStore
from .hosts import Registries, ResolvedHost

__all__ = ["Body", "Reply", "Transport"]

log = logging.getLogger("mirror.registry")

Body = bytes | AsyncIterable[bytes] | None

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
ERROR_BODY_LIMIT = 64 * 1024
DEFAULT_BODY_LIMIT = 8 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """A finished response: status, headers and the body read in full."""

    status: int
    headers: CIMultiDictProxy[str] = field(repr=False)
    body: bytes = field(repr=False)
    url: str = field(repr=False)


class _Retry(Exception):
    """An attempt failed in a way worth retrying (internal control flow)."""

    def __init__(self, reason: str, *, status: int | None = None, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.delay = delay


@dataclass
class _Call:
    target: ResolvedHost
    method: str
    url: str
    what: str
    scopes: Sequence[str] = ()
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    body: Body = field(default=None, repr=False)
    ok: frozenset[int] = frozenset({200})
    authenticate: bool = True
    check: bool = True
    follow_redirects: bool = True
    #: sent instead of the auth flow (token realms); same-origin only, like any credential
    authorization: str | None = field(default=None, repr=False)


class Transport:
    """Owns the session's per-host gates, the authenticator and the retry loop."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        registries: Registries,
        stats: Stats,
        credentials: CredentialStore,
        retry: RetryPolicy,
        clock: Clock,
        sleep: Sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.session = session
        self.registries = registries
        self.stats = stats
        self.retry = retry
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.gates: dict[str, HostGate] = {}
        self.auth = Authenticator(credentials, clock, self._token_request)

    def gate(self, target: ResolvedHost) -> HostGate:
        gate = self.gates.get(target.host)
        if gate is None:
            stats: HostStats = self.stats.host(target.host, target.concurrency)
            gate = HostGate(stats, target.concurrency, target.rate, clock=self.clock, sleep=self.sleep)
            self.gates[target.host] = gate
        return gate

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
    ) -> Reply:
        """Send, retry, answer auth; return the response with its body (at most ``limit`` bytes).

        ``check=False`` returns error statuses instead of raising; ``authenticate=False``
        skips the challenge flow and sends ``authorization`` (if any) as given.
        """
        call = _Call(target, method, url, what, tuple(scopes), dict(headers or {}), body, frozenset(ok),
                     authenticate, check, follow_redirects, authorization)
        async with AsyncExitStack() as stack:
            reply = await self._perform(call, stack, limit)
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
        call = _Call(target, method, url, what, tuple(scopes), dict(headers or {}), None, frozenset(ok))
        async with AsyncExitStack() as stack:
            response = await self._perform(call, stack, None)
            assert isinstance(response, aiohttp.ClientResponse)
            yield response

    async def _perform(self, call: _Call, stack: AsyncExitStack, limit: int | None) -> Reply | aiohttp.ClientResponse:
        gate = self.gate(call.target)
        started = self.clock()
        attempt = 1
        answered = False
        if call.authenticate:
            authorization = await self.auth.header_for(call.target, call.scopes)
        else:
            authorization = call.authorization
        replayable = not isinstance(call.body, AsyncIterable)
        if isinstance(call.body, AsyncIterable):
            call.body = counting(call.body, gate.stats)
        while True:
            attempt_stack = AsyncExitStack()
            try:
                result = await self._attempt(call, attempt_stack, gate, authorization, limit)
            except _Retry as retry:
                await attempt_stack.aclose()
                await self._before_retry(call, gate, retry, attempt, started, replayable)
                attempt += 1
                continue
            except BaseException:
                await attempt_stack.aclose()
                raise
            status = result.status
            if status == 401 and call.authenticate:
                challenges = result.headers.getall("WWW-Authenticate", [])
                await attempt_stack.aclose()
                if answered:
                    raise await self.auth.refused(call.target, call.what, authorization)
                authorization = await self.auth.answer(call.target, call.scopes, challenges, authorization, call.what)
                answered = True
                if not replayable:
                    raise AuthError(f"{call.what}: {call.target.netloc} asked for credentials during a streamed upload",
                                    status=401)
                continue
            if call.check and status not in call.ok:
                body = result.body if isinstance(result, Reply) else await read_limited(result, ERROR_BODY_LIMIT)
                await attempt_stack.aclose()
                raise status_error(status, body, what=call.what, host=call.target.netloc)
            await stack.enter_async_context(attempt_stack.pop_all())
            return result

    async def _before_retry(
        self, call: _Call, gate: HostGate, retry: _Retry, attempt: int, started: float, replayable: bool
    ) -> None:
        """Wait before the next attempt, or raise the final error."""
        delay = self.retry.backoff(attempt, retry.delay, self.rng)
        if not replayable or not self.retry.allows(attempt, started, self.clock(), delay):
            tries = f"after {attempt} attempt{'s' if attempt > 1 else ''}"
            if retry.status == 429:
                raise RateLimited(f"{call.what}: rate limited by {call.target.netloc} {tries}", status=429)
            if retry.status is not None:
                raise RegistryError(f"{call.what}: {call.target.netloc} answered HTTP {retry.status} {tries}",
                                    status=retry.status)
            raise RegistryError(f"{call.what}: cannot reach {call.target.netloc} {tries}: {retry.reason}")
        gate.stats.retries += 1
        log.debug("%s %s: %s; retry %d in %.2fs", call.method, safe_url(call.url), retry.reason, attempt, delay)
        if retry.delay is not None:
            gate.pause(delay)  # the server said so: every request to the host waits (in admit)
        else:
            await self.sleep(delay)

    async def _attempt(
        self,
        call: _Call,
        stack: AsyncExitStack,
        gate: HostGate,
        authorization: str | None,
        limit: int | None,
    ) -> Reply | aiohttp.ClientResponse:
        borrower = object()  # a token per request: nested requests in one task must not collide
        await gate.limiter.acquire_on_behalf_of(borrower)
        stack.callback(gate.limiter.release_on_behalf_of, borrower)
        await gate.admit()
        stack.enter_context(gate.stats.request())
        started = self.clock()
        try:
            response = await self._send(call, authorization, gate.stats)
        except aiohttp.ClientConnectorCertificateError as exc:
            raise RegistryError(
                f"{call.what}: TLS certificate of {call.target.netloc} not trusted "
                f"({describe(exc.certificate_error)}); "
                f"set ca_file or insecure for {call.target.host} in the registries file"
            ) from None
        except aiohttp.ClientConnectorSSLError as exc:  # no retry: a handshake fails the same way again
            raise RegistryError(
                f"{call.what}: TLS handshake with {call.target.netloc} failed ({describe(exc)}); if it speaks "
                f"plain HTTP, write endpoint: http://{call.target.netloc} for {call.target.host}"
            ) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
            raise _Retry(describe(exc)) from None
        stack.callback(response.release)
        if isinstance(call.body, bytes):
            gate.stats.bytes_sent += len(call.body)
        gate.stats.record_status(response.status)
        log.debug("%s %s -> %d (%.0f ms)", call.method, safe_url(call.url), response.status,
                  (self.clock() - started) * 1000)
        if retryable(response.status):
            delay = parse_retry_after(response.headers.get("Retry-After"))
            raise _Retry(f"HTTP {response.status}", status=response.status, delay=delay)
        if limit is None and response.status in call.ok:
            return response
        read_limit = limit if response.status in call.ok and limit is not None else ERROR_BODY_LIMIT
        try:
            body = await read_limited(response, read_limit, what=call.what, strict=response.status in call.ok)
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
            raise _Retry(describe(exc)) from None
        return Reply(response.status, response.headers, body, str(response.url))

    async def _send(self, call: _Call, authorization: str | None, stats: HostStats) -> aiohttp.ClientResponse:
        """Send, following redirects ourselves so credentials stay on their origin."""
        url, method = call.url, call.method
        home = call.target.origin
        for hop in range(MAX_REDIRECTS + 1):
            headers = dict(call.headers)
            if origin(url) != home:
                headers.pop("Authorization", None)
            elif authorization:
                headers["Authorization"] = authorization
            data: Any = call.body if hop == 0 else None
            response = await self.session.request(
                method, URL(url, encoded=True), headers=headers, data=data,
                allow_redirects=False, ssl=self._ssl_for(call.target, url),
            )  # fmt: skip
            location = response.headers.get("Location")
            follow = call.follow_redirects and method in ("GET", "HEAD")  # a body is never re-sent
            if not follow or response.status not in REDIRECT_STATUSES or not location:
                return response
            stats.record_status(response.status)
            response.release()
            target = urljoin(url, location)
            if urlsplit(target).scheme not in ("http", "https"):
                raise ProtocolError(f"{call.what}: redirect to a non-HTTP URL")
            log.debug("%s %s redirected (%d) to %s", method, safe_url(url), response.status, safe_url(target))
            if response.status == 303 and method != "HEAD":
                method = "GET"
            url = target
        raise ProtocolError(f"{call.what}: more than {MAX_REDIRECTS} redirects from {call.target.netloc}")

    def _ssl_for(self, target: ResolvedHost, url: str) -> Any:
        netloc = urlsplit(url).netloc.lower()
        if netloc == target.netloc.lower():
            return target.ssl
        other, _ = self.registries.resolve_url(url)
        return other.ssl

    async def _token_request(self, request: TokenRequest, registry: ResolvedHost) -> TokenResponse:
        """Send a token-realm request through the same limits and retries, without auth flow."""
        target, url = self.registries.resolve_url(request.url)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        authorization = next((v for k, v in request.headers.items() if k.lower() == "authorization"), None)
        body: bytes | None = None
        if request.form is not None:
            body = urlencode(dict(request.form)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        reply = await self.request(
            target, request.method, url, what=f"token for {registry.netloc}", headers=headers, body=body,
            authenticate=False, authorization=authorization, check=False, limit=1024 * 1024,
        )  # fmt: skip
        return TokenResponse(reply.status, reply.body)
