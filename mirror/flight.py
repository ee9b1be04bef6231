"""Concurrency helpers: single flight, a value made in the background, and gathering a few
coroutines with the first error unwrapped.

Single flight: concurrent callers asking for the same key share one run of the work.

anyio has no futures, so this is the small piece that stands in for one: the
first caller for a key runs the coroutine, later callers wait on an
``anyio.Event`` and get the same value (or a copy of the same exception).
Results stay cached for the life of the object (one sync run), which is exactly
what "HEAD each source tag once" and "send each blob once" need — as a small
frozen record of the value or of the error (without its traceback), so memory
stays flat however many keys a run finishes; with
``keep_results=False`` only concurrent callers share (the GitHub client: the
same URL asked by several entries at once is sent once).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio

from .value import frozen

__all__ = ["Pending", "SingleFlight", "gather", "settle"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@frozen(slots=True)
class _Done(Generic[T]):
    """A finished key: its value, or its error (a copy with no traceback, cause or context).

    What a finished slot keeps for the rest of the run, and nothing else: no
    ``anyio.Event`` and no frames. A traceback holds every frame of the failed
    call and their locals (responses, buffers, plans), so keeping the error as
    raised would keep all of that alive for as long as the run's flights live.
    """

    value: T | None = None
    error: BaseException | None = None


@dataclass(slots=True)
class _Pending(Generic[T]):
    """A key being worked on: waiters park on ``done``; ``outcome`` is set just before it
    (``None`` when the runner was cancelled). Dropped from the table when the work ends."""

    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: _Done[T] | None = None


class SingleFlight(Generic[T]):
    """``await flight.run(key, fn)``: ``fn()`` runs once per key; everybody gets its outcome.

    A failure is cached too (a missing source tag stays missing for the run),
    unless the caller passes ``retry_errors=True``, in which case the next
    caller after a failure runs ``fn`` again. Cancellation of the running
    caller is never cached: its waiters run the work themselves.

    Memory: a finished key keeps one small frozen record (:class:`_Done`), so
    a run's flights grow with the number of keys, not with what each call
    touched on its way.
    """

    def __init__(self, *, retry_errors: bool = False, keep_results: bool = True) -> None:
        self._slots: dict[Hashable, _Pending[T] | _Done[T]] = {}
        self._retry_errors = retry_errors
        self._keep_results = keep_results

    def known(self, key: Hashable) -> bool:
        slot = self._slots.get(key)
        return isinstance(slot, _Done) and slot.error is None

    def in_flight(self, key: Hashable) -> bool:
        return isinstance(self._slots.get(key), _Pending)

    async def run(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        while True:
            slot = self._slots.get(key)
            if slot is None:
                return await self._lead(key, fn)
            if isinstance(slot, _Pending):
                await slot.done.wait()
                outcome = slot.outcome
                if outcome is None or (outcome.error is not None and self._retry_errors):
                    continue  # the runner was cancelled, or errors are retried: try ourselves
            else:
                outcome = slot
            if outcome.error is not None:
                raise _clone(outcome.error)
            return outcome.value  # type: ignore[return-value]

    async def _lead(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` for ``key``; the error reaches this caller as raised, traceback and all."""
        pending: _Pending[T] = _Pending()
        self._slots[key] = pending
        try:
            value = await fn()
        except anyio.get_cancelled_exc_class():
            del self._slots[key]
            pending.done.set()
            raise
        except Exception as exc:
            self._finish(key, pending, _Done(error=_stored(exc)), keep=not self._retry_errors)
            raise
        self._finish(key, pending, _Done(value=value), keep=True)
        return value

    def _finish(self, key: Hashable, pending: _Pending[T], outcome: _Done[T], *, keep: bool) -> None:
        pending.outcome = outcome
        if keep and self._keep_results:
            self._slots[key] = outcome  # the pending slot (and its Event) goes with its last waiter
        else:
            del self._slots[key]
        pending.done.set()


def _stored(exc: Exception) -> BaseException:
    """The copy of a failure a finished slot keeps: no traceback (so no frames), no chained
    errors, no notes. An error that cannot be copied is kept itself, its traceback cleared."""
    try:
        kept = _clone(exc)
    except Exception:  # an exception class whose __init__ does not take its own args back
        return exc.with_traceback(None)
    kept.__traceback__ = None
    return kept


class Pending(Generic[T_co]):
    """A value a blocking function makes once, in a worker thread, while other work goes on.

    Why: some input is needed only after the network has answered (discover needs the
    images-list only to diff what a source found), so it is parsed while the first
    requests are in flight instead of before them. Start :meth:`run` in the task group
    of the work that calls :meth:`get`: a failure of ``make`` is raised there, as itself,
    and cancels the group (waiters never see a half-made value).
    """

    def __init__(self, make: Callable[[], T_co]) -> None:
        self._make = make
        self._ready = anyio.Event()
        self._value: T_co | None = None

    async def run(self) -> None:
        self._value = await anyio.to_thread.run_sync(self._make)
        self._ready.set()

    async def get(self) -> T_co:
        await self._ready.wait()
        return self._value  # type: ignore[return-value]


def _clone(exc: BaseException) -> BaseException:
    """A copy of a shared error for one waiter: same type, message and fields, but no notes or
    traceback of another caller (an ``add_note`` by one must not show up in another's error)."""
    clone = copy.copy(exc)
    clone.__dict__.pop("__notes__", None)
    return clone


async def gather(calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Await every call concurrently; results in order; the first failure wins.

    A bare task group would wrap a child's ``NotFound`` in an ``ExceptionGroup``;
    callers want to report the error itself, so the first one is re-raised
    unwrapped and the siblings are cancelled (their work is wasted anyway).
    """
    if len(calls) <= 1:  # no task group: even an empty one is a turn of the event loop
        return [await call() for call in calls]
    results: list[T | None] = [None] * len(calls)
    errors: list[Exception] = []

    async with anyio.create_task_group() as group:

        async def one(index: int, call: Callable[[], Awaitable[T]]) -> None:
            try:
                results[index] = await call()
            except Exception as exc:  # handed to the caller below, unwrapped
                errors.append(exc)
                group.cancel_scope.cancel()

        for index, call in enumerate(calls):
            group.start_soon(one, index, call)
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


async def settle(calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T | Exception]:
    """Await every call concurrently; per call its result or the exception it raised.

    For work done for several destinations at once: one destination's failure is its own
    and never cancels the others (a bug still ends up per destination, as an internal error).
    """
    results: list[T | Exception | None] = [None] * len(calls)

    async def one(index: int, call: Callable[[], Awaitable[T]]) -> None:
        try:
            results[index] = await call()
        except Exception as exc:  # kept for this call's destination
            results[index] = exc

    if len(calls) == 1:
        await one(0, calls[0])
    else:
        async with anyio.create_task_group() as group:
            for index, call in enumerate(calls):
                group.start_soon(one, index, call)
    return results  # type: ignore[return-value]
