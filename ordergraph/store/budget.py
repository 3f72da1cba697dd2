"""A per-operation budget of store statements (``limits.max_store_statements``).

The id limits and batched loaders keep a legitimate request to a few dozen store
statements, but nothing else bounds the total: 30 aliases of a list field each
reading 250 orders once made 7,500 queries (12.8 s). So each GraphQL operation (an
HTTP request, a WebSocket operation, and each event of a subscription separately)
runs with a ``StatementBudget`` in a ``ContextVar``; the engine's
``before_cursor_execute`` listener (``ordergraph.store.engine``) charges every
statement to it, and once ``limit`` statements have run it refuses the next one by
raising ``StoreBudgetExceededError`` before the statement reaches the database. The
field whose read was refused gets that error (``extensions.code``
``STORE_BUDGET_EXCEEDED``), the fields already resolved keep their data.

A ``ContextVar`` and not an argument: the budget must reach the store through
dataloaders, provider-independent helpers and SQLAlchemy's greenlets without every
signature on the way carrying it, and asyncio copies the context into every task a
resolver starts, so a batch a dataloader dispatches is charged to the operation that
asked for it. Where no budget is set (background jobs: poller, deliverer loop,
webhook intake, subscription hubs) nothing is counted.

Not counted, never refused:

- statements in a write transaction (``write_transaction``): refusing one half-way
  would roll back a write whose provider call already happened; mutations are bounded
  by their own input limits instead;
- transaction control (SQLite's explicit ``BEGIN``; PostgreSQL's is not a statement
  SQLAlchemy sees), so both databases count the same statements;
- anything after the operation ended (``close``): a task the operation started and
  that outlives it is background work, not the request's.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

from graphql import GraphQLError

__all__ = [
    "STORE_BUDGET_EXCEEDED",
    "StatementBudget",
    "StoreBudgetExceededError",
    "charge_statement",
    "current_budget",
    "start_budget",
    "statement_budget",
    "unbudgeted_context",
]

STORE_BUDGET_EXCEEDED: Final = "STORE_BUDGET_EXCEEDED"

_BUDGET: ContextVar[StatementBudget | None] = ContextVar("ordergraph_store_budget", default=None)


class StoreBudgetExceededError(GraphQLError):
    """The operation has run ``limit`` store statements and asked for one more.

    A ``GraphQLError`` with its code so that it reaches the client as it is (public,
    coded, logged as a client outcome at INFO without a traceback) from whichever
    field's read it refused, however deep in the store that read was refused.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"this operation has used its budget of {limit} store statements "
            "(limits.max_store_statements); ask for fewer objects or aliases per request",
            extensions={"code": STORE_BUDGET_EXCEEDED, "maxStoreStatements": limit},
        )


@dataclass(slots=True)
class StatementBudget:
    """One operation's statement count against its limit."""

    limit: int
    # Statements that ran (never more than ``limit``).
    executed: int = 0
    # Statements refused once the budget was spent.
    refused: int = 0
    closed: bool = False

    def charge(self) -> None:
        """Count one statement about to run, or refuse it if the budget is spent."""
        if self.closed:
            return
        if self.executed >= self.limit:
            self.refused += 1
            raise StoreBudgetExceededError(self.limit)
        self.executed += 1

    def close(self) -> None:
        """The operation is over: stop counting (see the module docstring)."""
        self.closed = True


def current_budget() -> StatementBudget | None:
    """The budget of the operation running in this context, if any."""
    return _BUDGET.get()


def charge_statement() -> None:
    """Charge one statement to the current operation's budget; nothing without one."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge()


@contextmanager
def statement_budget(limit: int) -> Iterator[StatementBudget]:
    """Run the block (one operation) with a fresh budget of ``limit`` statements."""
    budget = StatementBudget(limit)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        budget.close()
        _BUDGET.reset(token)


def start_budget(limit: int) -> StatementBudget:
    """Give the rest of this context a fresh budget, closing the one it replaces.

    For subscription events: each event is resolved in the subscription's own task
    after the stream hands it over, so there is no block to wrap; the next event's
    budget replaces this one.
    """
    previous = _BUDGET.get()
    if previous is not None:
        previous.close()
    budget = StatementBudget(limit)
    _BUDGET.set(budget)
    return budget


def unbudgeted_context() -> contextvars.Context:
    """A copy of the current context without a budget, for a task that does work
    for many operations (a subscription's log reader, the hub it starts)."""
    context = contextvars.copy_context()
    context.run(_BUDGET.set, None)
    return context
