"""Run a few coroutines concurrently and get their results, or the first error as itself.

A bare task group would wrap a child's ``NotFound`` in an ``ExceptionGroup``;
the copiers want to report "blob X is missing" for the line, so the first
error is re-raised unwrapped and the siblings are cancelled (their work is
wasted anyway once the line has failed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio

__all__ = ["gather"]

T = TypeVar("T")


async def gather(calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Await every call concurrently; results in order; the first failure wins."""
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
