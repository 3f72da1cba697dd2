"""``bounded_gather``: run many awaitables, at most ``limit`` at a time, all or nothing.

``asyncio.gather`` has two faults for reading many things at once: nothing bounds how
many requests it starts, and when one fails the others keep running, unowned, after the
caller has moved on (their results and errors are lost, their connections stay busy).
``bounded_gather`` runs on ``asyncio.TaskGroup`` instead: ``limit`` workers take the
items in order, the results come back in the items' order, and the first failure
cancels every sibling and waits for them to finish before it propagates.

The error raised is the first one itself, not the ``ExceptionGroup`` a ``TaskGroup``
raises: callers catch ``ProviderError`` and friends by type, as they did with
``gather``. Errors that siblings raise while being cancelled are consequences of the
first and are dropped. ``KeyboardInterrupt`` and ``SystemExit`` propagate as
``TaskGroup`` propagates them.

Items are awaitables (coroutines, futures) or factories (zero-argument callables that
return one). A factory is called only when a worker takes it, so nothing starts before
a slot is free; a coroutine given directly runs no code before then either. Items never
started because of a failure or a cancellation are closed (coroutines) or cancelled
(futures), so no "coroutine was never awaited" is left behind.

Where plain ``asyncio.gather`` stays right (and is kept):

- DataLoader loads (``context.loaders.*.load``): a bound would split one batch into
  several queries, and cancelling a waiter cancels the loader's cached future, which
  other fields of the same request may be awaiting.
- Tasks someone else owns (the deliverer's attempts): their owner cancels them and
  hands their claims back; a sibling's failure must not cancel them halfway.
- ``return_exceptions=True`` over steps that must all run (closing every WebSocket),
  and items that never raise (readiness checks, each under its own timeout).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TypeVar

__all__ = ["bounded_gather"]

T = TypeVar("T")

Item = Awaitable[T] | Callable[[], Awaitable[T]]


async def bounded_gather(items: Iterable[Item[T]], *, limit: int) -> list[T]:
    """Await every item, at most ``limit`` at once; results in the items' order.

    Raises the first exception an item raised (its own type, not an ``ExceptionGroup``),
    after every sibling has been cancelled and has finished. Cancelling the caller
    cancels every running item and closes the ones not started.
    """
    pending = list(items)
    if limit < 1:
        for item in pending:
            _discard(item)
        raise ValueError(f"limit must be at least 1, got {limit}")
    if not pending:
        return []
    queue: Iterator[tuple[int, Item[T]]] = iter(enumerate(pending))
    results: dict[int, T] = {}
    first_error: list[Exception] = []

    async def worker() -> None:
        # Workers share one iterator: taking the next item and starting it happen
        # without a suspension point between them, so every item taken is started.
        for index, item in queue:
            try:
                results[index] = await _start(item)
            except Exception as exc:
                first_error.append(exc)
                raise

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(limit, len(pending))):
                group.create_task(worker())
    except BaseExceptionGroup:
        if not first_error:
            raise
    finally:
        for _, item in queue:
            _discard(item)
    if first_error:
        # Raised outside the except block so the group does not become its __context__;
        # the error's own traceback and __cause__ are kept.
        raise first_error[0]
    return [results[index] for index in range(len(pending))]


async def _start(item: Item[T]) -> T:
    if inspect.isawaitable(item):
        return await item
    return await item()


def _discard(item: Item[T]) -> None:
    """Release an item that will never be awaited."""
    if inspect.iscoroutine(item):
        item.close()
    elif asyncio.isfuture(item):
        item.cancel()
