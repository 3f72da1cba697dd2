"""bounded_gather: order, bound, sibling cancellation, caller cancellation."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

import pytest

from ordergraph.concurrency import bounded_gather
from ordergraph.errors import ProviderError


class Probe:
    """Counts how many items run at once and which were cancelled or finished."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.started: list[int] = []
        self.cancelled: list[int] = []
        self.finished: list[int] = []

    async def item(self, index: int, seconds: float, fail: BaseException | None = None) -> int:
        self.started.append(index)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(seconds)
            if fail is not None:
                raise fail
            return index
        except asyncio.CancelledError:
            self.cancelled.append(index)
            raise
        finally:
            self.running -= 1
            self.finished.append(index)


async def test_results_come_back_in_the_items_order_not_completion_order() -> None:
    probe = Probe()
    # given items that finish in the reverse of their order
    delays = [0.05, 0.04, 0.03, 0.02, 0.01, 0.0]
    # when
    results = await bounded_gather(
        [probe.item(i, d) for i, d in enumerate(delays)], limit=len(delays)
    )
    # then
    assert results == [0, 1, 2, 3, 4, 5]
    assert probe.finished[0] == 5


async def test_factories_and_awaitables_mix_and_keep_order() -> None:
    probe = Probe()
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    done.set_result(99)
    items: list[Awaitable[int] | Callable[[], Awaitable[int]]] = [
        lambda: probe.item(0, 0.01),
        probe.item(1, 0.0),
        done,
    ]
    assert await bounded_gather(items, limit=2) == [0, 1, 99]


async def test_no_more_than_limit_items_run_at_once() -> None:
    probe = Probe()
    results = await bounded_gather([probe.item(i, 0.005) for i in range(20)], limit=3)
    assert results == list(range(20))
    assert probe.peak == 3


async def test_a_factory_is_called_only_when_a_slot_is_free() -> None:
    probe = Probe()
    calls: list[int] = []
    gate = asyncio.Event()

    async def held(index: int) -> int:
        await gate.wait()
        return await probe.item(index, 0.0)

    def factory(index: int) -> Callable[[], Awaitable[int]]:
        def make() -> Awaitable[int]:
            calls.append(index)
            return held(index)

        return make

    task = asyncio.create_task(bounded_gather([factory(i) for i in range(5)], limit=2))
    await asyncio.sleep(0.01)
    # then: two slots, two factories called; the rest wait their turn
    assert calls == [0, 1]
    gate.set()
    assert await task == [0, 1, 2, 3, 4]
    assert calls == [0, 1, 2, 3, 4]


async def test_empty_input_returns_an_empty_list() -> None:
    assert await bounded_gather([], limit=4) == []


@pytest.mark.parametrize("limit", [0, -1])
async def test_a_limit_below_one_is_refused_and_nothing_is_left_unawaited(limit: int) -> None:
    probe = Probe()
    item = probe.item(0, 0.0)
    with pytest.raises(ValueError, match="limit"):
        await bounded_gather([item], limit=limit)
    assert probe.started == []
    assert inspect.getcoroutinestate(item) == inspect.CORO_CLOSED


async def test_the_first_failure_propagates_as_itself_after_siblings_are_cancelled() -> None:
    probe = Probe()
    error = ProviderError("upstream said no", provider="kombo")
    # given one item that fails fast while its siblings are still running
    items = [probe.item(0, 1.0), probe.item(1, 0.01, fail=error), probe.item(2, 1.0)]
    # when / then: the original exception, not an ExceptionGroup
    with pytest.raises(ProviderError) as raised:
        await bounded_gather(items, limit=3)
    assert raised.value is error
    # then the siblings were cancelled and had finished before the error reached us
    assert sorted(probe.cancelled) == [0, 2]
    assert sorted(probe.finished) == [0, 1, 2]
    assert probe.running == 0


async def test_items_not_started_when_a_failure_happens_are_closed() -> None:
    probe = Probe()
    items = [probe.item(0, 0.0, fail=RuntimeError("boom"))] + [
        probe.item(i, 0.0) for i in range(1, 6)
    ]
    with pytest.raises(RuntimeError, match="boom"):
        await bounded_gather(items, limit=1)
    assert probe.started == [0]
    # every coroutine that never ran is closed, so none warns "never awaited"
    assert all(inspect.getcoroutinestate(c) == inspect.CORO_CLOSED for c in items)


async def test_a_sibling_failing_while_cancelled_does_not_replace_the_first_error() -> None:
    first = ProviderError("first", provider="unified")

    async def fails_on_cancel() -> int:
        try:
            await asyncio.sleep(1.0)
        except asyncio.CancelledError:
            raise ValueError("cleanup failed") from None
        return 0

    async def fails_first() -> int:
        await asyncio.sleep(0.01)
        raise first

    with pytest.raises(ProviderError) as raised:
        await bounded_gather([fails_on_cancel(), fails_first()], limit=2)
    assert raised.value is first


async def test_the_first_error_keeps_its_cause_and_gains_no_group_context() -> None:
    async def fails() -> int:
        try:
            raise ConnectionResetError("socket")
        except ConnectionResetError as exc:
            raise ProviderError("transport", provider="stackone") from exc

    with pytest.raises(ProviderError) as raised:
        await bounded_gather([fails()], limit=1)
    assert isinstance(raised.value.__cause__, ConnectionResetError)
    assert not isinstance(raised.value.__context__, BaseExceptionGroup)


async def test_cancelling_the_caller_cancels_every_running_item_and_closes_the_rest() -> None:
    probe = Probe()
    items = [probe.item(i, 10.0) for i in range(5)]
    task = asyncio.create_task(bounded_gather(items, limit=3))
    await asyncio.sleep(0.01)
    assert sorted(probe.started) == [0, 1, 2]
    # when
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # then: running items were cancelled and finished, the others never started
    assert sorted(probe.cancelled) == [0, 1, 2]
    assert probe.running == 0
    assert all(inspect.getcoroutinestate(c) == inspect.CORO_CLOSED for c in items)


async def test_a_future_not_started_is_cancelled_on_failure() -> None:
    loop = asyncio.get_running_loop()
    waiting: asyncio.Future[int] = loop.create_future()

    async def fails() -> int:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await bounded_gather([fails(), waiting], limit=1)
    assert waiting.cancelled()
