"""``OperationStoreBudget``: each operation's budget of store statements.

Queries and mutations, over HTTP and WebSocket, run their execution inside a fresh
``ordergraph.store.budget.statement_budget`` of ``limits.max_store_statements``.
Subscriptions are not budgeted as a whole (they run as long as the socket): each event
gets its own budget where the event stream hands it over
(``ordergraph.resolvers.subscriptions.event_stream``).
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from ordergraph.schema.limits import limits_for
from ordergraph.store.budget import statement_budget

__all__ = ["OperationStoreBudget"]


class OperationStoreBudget(SchemaExtension):
    """See the module docstring."""

    def on_execute(self) -> Iterator[None]:
        if self.execution_context.operation_type is OperationType.SUBSCRIPTION:
            yield
            return
        limit = limits_for(self.execution_context.context).settings.max_store_statements
        with statement_budget(limit):
            yield
