"""An executor that leaves no reference cycle behind, so a request's memory is freed
when the request ends.

graphql-core's executor gives resolvers ``info.async_helpers``: bound methods of the
executor, kept on the executor itself. That is a reference cycle per execution, and
everything the executor reaches hangs on it: the context, its dataloaders and every
row, node and aiohttp request object the request touched. Reference counting cannot
free a cycle, so all of it waited for the cyclic collector. Measured under ``wrk``
(10 clients, the issue's 50-order query, ``ordergraph serve``): ~83 cyclic objects per
request, a young collection every ~2 s that freed ~550 requests' worth at once and
took 25-90 ms, the p99 of full executions. Here the helpers reach their executor
through a weak reference, so the last reference to a finished execution frees it.

The executor is alive whenever a resolver can call a helper (the running execution's
frames hold it), so the weak reference is never dead in use; a per-event executor of a
subscription (a shallow copy) gets helpers bound to itself, as the original's would be.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Sequence
from typing import Any

from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["AcyclicExecutor"]


class AcyclicExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor whose resolver helpers do not keep it alive."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _weak_helpers(self)

    def build_per_event_executor(self, payload: Any) -> AcyclicExecutor:
        executor = super().build_per_event_executor(payload)
        assert isinstance(executor, AcyclicExecutor)  # a copy of this one
        executor.async_helpers = _weak_helpers(executor)
        return executor


def _weak_helpers(executor: AcyclicExecutor) -> GraphQLResolveInfoHelpers:
    reference = weakref.ref(executor)

    def alive() -> AcyclicExecutor:
        found = reference()
        if found is None:  # only a resolver kept past its execution could get here
            msg = "info.async_helpers used after its execution ended"
            raise RuntimeError(msg)
        return found

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return alive().gather_async_work(values)

    def track(values: Sequence[Any]) -> None:
        alive().track_async_work(values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)
