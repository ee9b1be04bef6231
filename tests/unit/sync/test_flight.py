"""SingleFlight, Pending and gather: the small concurrency pieces the copiers and discover stand on."""

from __future__ import annotations

import gc
import types
import weakref

import anyio
import pytest

from mirror.flight import Pending, SingleFlight
from mirror.flight import gather

pytestmark = pytest.mark.anyio


async def test_concurrent_callers_share_one_run() -> None:
    flight: SingleFlight[int] = SingleFlight()
    calls = 0
    release = anyio.Event()

    async def work() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    results: list[int] = []

    async def caller() -> None:
        results.append(await flight.run("k", work))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(caller)
        await anyio.wait_all_tasks_blocked()
        assert flight.in_flight("k")
        release.set()
    assert results == [42] * 5 and calls == 1
    assert flight.known("k")
    assert await flight.run("k", work) == 42 and calls == 1  # cached for the run


async def test_errors_are_shared_and_cached_unless_retried() -> None:
    cached: SingleFlight[int] = SingleFlight()
    retried: SingleFlight[int] = SingleFlight(retry_errors=True)
    calls = 0

    async def boom() -> int:
        nonlocal calls
        calls += 1
        raise ValueError("nope")

    for flight, expected_calls in ((cached, 1), (retried, 2)):
        calls = 0
        for _ in range(2):
            with pytest.raises(ValueError, match="nope"):
                await flight.run("k", boom)
        assert calls == expected_calls


async def test_a_cancelled_runner_does_not_poison_the_key() -> None:
    flight: SingleFlight[str] = SingleFlight()
    started = anyio.Event()

    async def slow() -> str:
        started.set()
        await anyio.sleep_forever()
        return "never"

    async with anyio.create_task_group() as group:
        group.start_soon(flight.run, "k", slow)
        await started.wait()
        group.cancel_scope.cancel()

    async def fast() -> str:
        return "ok"

    assert await flight.run("k", fast) == "ok"


async def test_gather_returns_in_order_and_raises_the_first_error_unwrapped() -> None:
    async def value(n: int) -> int:
        await anyio.sleep(0)
        return n

    assert await gather([lambda: value(1), lambda: value(2), lambda: value(3)]) == [1, 2, 3]

    cancelled = anyio.Event()

    async def waits() -> int:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        return 0

    async def fails() -> int:
        await anyio.wait_all_tasks_blocked()
        raise KeyError("missing blob")

    with pytest.raises(KeyError, match="missing blob"):
        await gather([waits, fails])
    assert cancelled.is_set()  # the sibling was cancelled, not left running


# -- what a finished flight keeps (memory stays flat in the number of keys) -----------------


class _Big:
    """Stands for what a failed call had in hand (a response, a buffer): must not outlive it."""


def _reachable(root: object, limit: int = 10_000) -> list[object]:
    """Every object reachable from ``root`` through the garbage collector's referents."""
    seen: dict[int, object] = {id(root): root}
    todo = [root]
    while todo and len(seen) < limit:
        for child in gc.get_referents(todo.pop()):
            if id(child) not in seen and not isinstance(child, (type, types.ModuleType)):
                seen[id(child)] = child
                todo.append(child)
    return list(seen.values())


async def test_a_finished_flight_keeps_no_event_and_no_frames() -> None:
    flight: SingleFlight[int] = SingleFlight()

    async def ok() -> int:
        return 1

    async def fails() -> int:
        raise ValueError("missing tag")

    await flight.run("ok", ok)
    with pytest.raises(ValueError):
        await flight.run("bad", fails)
    kept = _reachable(flight)
    assert not [o for o in kept if isinstance(o, anyio.Event)]
    assert not [o for o in kept if isinstance(o, (types.TracebackType, types.FrameType))]
    assert flight.known("ok") and not flight.known("bad") and not flight.in_flight("bad")


async def test_a_cached_failure_does_not_keep_the_failed_call_alive() -> None:
    flight: SingleFlight[int] = SingleFlight()
    held: list[weakref.ref[_Big]] = []

    async def fails() -> int:
        big = _Big()
        held.append(weakref.ref(big))
        raise OSError(f"connection reset while holding {id(big)}")

    with pytest.raises(OSError) as raised:
        await flight.run("k", fails)
    assert raised.value.__traceback__ is not None  # the caller that ran it keeps its traceback
    del raised
    gc.collect()
    assert held[0]() is None  # the cached error holds no frame, so no local of the call
    with pytest.raises(OSError, match="connection reset"):  # and it is still cached
        await flight.run("k", fails)
    assert len(held) == 1


async def test_waiters_get_their_own_copy_of_the_error() -> None:
    flight: SingleFlight[int] = SingleFlight()
    release = anyio.Event()

    async def fails() -> int:
        await release.wait()
        raise ValueError("no such manifest")

    errors: list[BaseException] = []

    async def caller() -> None:
        try:
            await flight.run("k", fails)
        except ValueError as exc:
            exc.add_note(f"seen by caller {len(errors)}")
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(caller)
        await anyio.wait_all_tasks_blocked()
        release.set()
    with pytest.raises(ValueError) as late:
        await flight.run("k", fails)
    errors.append(late.value)
    assert [str(e) for e in errors] == ["no such manifest"] * 4
    assert len({id(e) for e in errors}) == 4  # one object each: a note by one is not another's
    assert [len(getattr(e, "__notes__", [])) for e in errors] == [1, 1, 1, 0]
async def test_pending_is_made_once_in_a_thread_and_waited_for() -> None:
    import threading

    made_in: list[str] = []

    def make() -> list[str]:
        made_in.append(threading.current_thread().name)
        return ["value"]

    pending = Pending(make)
    got: list[list[str]] = []

    async def reader() -> None:
        got.append(await pending.get())

    async with anyio.create_task_group() as group:
        group.start_soon(reader)
        group.start_soon(reader)
        await anyio.wait_all_tasks_blocked()
        assert got == []  # nobody gets a value before it is made
        group.start_soon(pending.run)
    assert got == [["value"], ["value"]]
    assert len(made_in) == 1 and made_in[0] != threading.current_thread().name


async def test_run_jobs_raises_a_background_failure_as_itself_and_cancels_the_jobs() -> None:
    from mirror.errors import InputError
    from mirror.pipeline.discover import EntryResult, Job, run_jobs

    def bad_list() -> object:
        raise InputError("images-list:3: only two fields")

    pending = Pending(bad_list)
    finished: list[str] = []

    async def evaluate() -> EntryResult:
        await pending.get()  # as an entry waits for the list once its source has answered
        finished.append("entry")
        return EntryResult("k", "registry", False)

    with pytest.raises(InputError, match="images-list:3"):
        await run_jobs([Job("k", "registry", False, evaluate)], background=[pending.run])
    assert finished == []
