"""One attempt of a request: a slot of the host, the send, reading the reply, the policy's word.

:meth:`~.core.Transport.request` loops over attempts (retries, the 401 challenge); each one
takes a slot of the host's gate and a pull-quota ticket, sends (:func:`.redirects.send`), reads
the body up to its limit, and hands the reply to the host's policy. What the policy says
comes back as the reply, :class:`~.call.Retry`, or a typed error.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, NoReturn

import aiohttp
import anyio
import anyio.lowlevel

from .body import read_limited
from .call import Call, Held, Retry
from .gate import HostGate
from .policy import Action, Decision, HostPolicy, Outcome
from .quota import Admission
from .redirects import send
from .reply import Reply
from .status import Failure, describe, safe_url, status_error, tls_error, unreachable_error

if TYPE_CHECKING:
    from .core import Transport

__all__ = ["ERROR_BODY_LIMIT", "failure", "no_reply", "try_once"]

log = logging.getLogger("mirror.transport")

ERROR_BODY_LIMIT = 64 * 1024  # of an error reply: enough for its message, never a whole blob
_NO_REPLY = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError)


async def try_once(
    transport: Transport,
    call: Call,
    held: Held,
    gate: HostGate,
    policy: HostPolicy,
    authorization: str | None,
    limit: int | None,
    attempt: int,
    waits: int,
    admitted: Admission | None = None,
) -> Reply | aiohttp.ClientResponse:
    """One send of ``call``: the reply (read up to ``limit``; ``None``: the open response, for
    a stream), :class:`~.call.Retry` when the policy says try again, or the final error."""
    borrower = object()  # a token per request: nested requests in one task must not collide
    limiter = gate.limiter
    # A free slot is taken at once: a cancelled run still stops here, but a request that may
    # go gets no extra turn of the event loop (anyio's acquire yields even when it need not).
    await anyio.lowlevel.checkpoint_if_cancelled()
    try:
        limiter.acquire_on_behalf_of_nowait(borrower)
    except anyio.WouldBlock:
        await limiter.acquire_on_behalf_of(borrower)
    held.callback(functools.partial(limiter.release_on_behalf_of, borrower))
    await gate.admit()
    held.enter(gate.stats.request())
    quota = transport.quota(call.target)
    ticket = quota.ticket()
    held.callback(functools.partial(quota.forget, ticket))
    started = transport.clock()
    try:
        response = await send(transport.session, transport.registries, call, authorization, gate.stats)
    except aiohttp.ClientConnectorCertificateError as exc:
        raise tls_error(policy.api, what=call.what, netloc=call.target.netloc, host=call.target.host,
                        detail=describe(exc.certificate_error), handshake=False) from None
    except aiohttp.ClientConnectorSSLError as exc:  # no retry: a handshake fails the same way again
        raise tls_error(policy.api, what=call.what, netloc=call.target.netloc, host=call.target.host,
                        detail=describe(exc), handshake=True) from None
    except _NO_REPLY as exc:
        no_reply(call, policy, exc, sent=not isinstance(exc, aiohttp.ClientConnectorError))
    held.callback(response.release)
    if isinstance(call.body, (bytes, bytearray)):
        gate.stats.bytes_sent += len(call.body)
    gate.stats.record_status(response.status)
    if log.isEnabledFor(logging.DEBUG):  # safe_url parses: not for a line nobody writes
        log.debug("%s %s -> %d (%.0f ms)", call.method, safe_url(call.url), response.status,
                  (transport.clock() - started) * 1000)
    read = quota.note(response.headers, ticket)
    if admitted is not None:
        pulled = 200 <= response.status < 300
        admitted.settle(spent=pulled and not read)  # a reading with the headers counts it already
        if pulled:
            gate.stats.pulls += 1
        refused = quota.refused(response.status, response.headers)
        if refused is not None:
            raise refused  # the registry says no pull is left: retrying only spends requests
    accepted = response.status in call.ok
    if accepted and limit is None:
        body = b""
    else:
        read_limit = limit if accepted and limit is not None else ERROR_BODY_LIMIT
        try:
            body = await read_limited(response, read_limit, what=call.what, strict=accepted)
        except _NO_REPLY as exc:
            no_reply(call, policy, exc, sent=True)
    if response.status == 401 and call.authenticate and transport.auth is not None:
        decision = Decision(Action.OK)  # the challenge is answered in _perform
    else:
        decision = policy.decide(Outcome(call.request, response.status, response.headers, body if not accepted
                                         else b"", accepted, attempt, waits))
    if decision.action in (Action.RETRY, Action.PAUSE):
        raise Retry(decision, failure(call, policy, response.status, body, attempt, decision))
    if decision.action is Action.FAIL and call.check:
        raise status_error(failure(call, policy, response.status, body, attempt, decision))
    if accepted and limit is None:
        return response
    return Reply(response.status, response.headers, body, str(response.url))


def no_reply(call: Call, policy: HostPolicy, exc: BaseException, *, sent: bool) -> NoReturn:
    """A connection error or timeout: retry unless a POST may have been processed."""
    reason = describe(exc)
    if sent and not call.request.idempotent:
        raise unreachable_error(policy.api, what=call.what, host=call.target.netloc, attempts=1,
                                cause=f"{reason}; not sent again: it may have been processed")
    raise Retry(Decision(Action.RETRY, None, reason), None) from None


def failure(call: Call, policy: HostPolicy, status: int, body: bytes, attempts: int = 1,
            decision: Decision | None = None) -> Failure:
    return Failure(status, body, call.what, call.target.netloc, policy.api, attempts,
                   decision.limit if decision else None, call.request.not_found,
                   authenticated=bool(call.authorization))
