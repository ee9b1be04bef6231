"""Concurrency helpers: single flight, a value made in the background, and gathering a few
coroutines with the first error unwrapped.

Single flight: concurrent callers asking for the same key share one run of the work.

anyio has no futures, so this is the small piece that stands in for one: the
first caller for a key runs the coroutine, later callers wait on an
``anyio.Event`` and get the same value (or a copy of the same exception).
Results stay cached for the life of the object (one sync run), which is exactly
what "HEAD each source tag once" and "send each blob once" need; with
``keep_results=False`` only concurrent callers share (the GitHub client: the
same URL asked by several entries at once is sent once).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio

__all__ = ["Pending", "SingleFlight", "gather"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass
class _Slot(Generic[T]):
    done: anyio.Event = field(default_factory=anyio.Event)
    value: T | None = None
    error: BaseException | None = None
    cancelled: bool = False


class SingleFlight(Generic[T]):
    """``await flight.run(key, fn)``: ``fn()`` runs once per key; everybody gets its outcome.

    A failure is cached too (a missing source tag stays missing for the run),
    unless the caller passes ``retry_errors=True``, in which case the next
    caller after a failure runs ``fn`` again. Cancellation of the running
    caller is never cached: its waiters run the work themselves.
    """

    def __init__(self, *, retry_errors: bool = False, keep_results: bool = True) -> None:
        self._slots: dict[Hashable, _Slot[T]] = {}
        self._retry_errors = retry_errors
        self._keep_results = keep_results

    def known(self, key: Hashable) -> bool:
        slot = self._slots.get(key)
        return slot is not None and slot.done.is_set() and slot.error is None

    def in_flight(self, key: Hashable) -> bool:
        slot = self._slots.get(key)
        return slot is not None and not slot.done.is_set()

    async def run(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        while True:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
                try:
                    slot.value = await fn()
                except anyio.get_cancelled_exc_class():
                    del self._slots[key]
                    slot.cancelled = True
                    slot.done.set()
                    raise
                except Exception as exc:
                    slot.error = exc
                    if self._retry_errors or not self._keep_results:
                        del self._slots[key]
                    slot.done.set()
                    raise
                if not self._keep_results:
                    del self._slots[key]
                slot.done.set()
                return slot.value
            await slot.done.wait()
            if slot.cancelled or (slot.error is not None and self._retry_errors):
                continue  # the runner was cancelled, or errors are retried: try ourselves
            if slot.error is not None:
                raise _clone(slot.error)
            return slot.value  # type: ignore[return-value]


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
    if len(calls) == 1:
        return [await calls[0]()]
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
