"""Reading orders: pages over the index, single orders, events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from strawberry import UNSET

from ordergraph.resolvers.context import Context
from ordergraph.resolvers.dataloaders import EventPageKey
from ordergraph.resolvers.public_errors import PublicError
from ordergraph.store import (
    InvalidCursorError,
    OrderFilter,
    OrderPage,
    PaginationError,
    SortOrder,
    StoredEvent,
    StoredOrder,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "EventPage",
    "PageRequest",
    "count_orders",
    "event_cursor",
    "event_position",
    "load_order",
    "load_orders",
    "order_events_page",
    "page_orders",
]


DEFAULT_PAGE_SIZE: Final = 50
"""Items of a page when neither ``first`` nor ``last`` is given (or the page size cap, if
the server's is lower)."""

_T = TypeVar("_T")


def given(value: _T | None) -> _T | None:
    """``value``, or None for an argument the client left out (Strawberry's ``UNSET``):
    optional arguments have no default in the SDL, so a left-out one arrives as UNSET."""
    return None if value is UNSET else value


@dataclass(frozen=True)
class PageRequest:
    """Relay arguments, checked against the page size cap."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @classmethod
    def of(
        cls,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> PageRequest:
        """The request of resolver arguments, any of them possibly left out (UNSET)."""
        return cls(first=given(first), after=given(after), last=given(last), before=given(before))

    def checked(self, cap: int) -> PageRequest:
        if self.first is not None and self.last is not None:
            raise PublicError("pass either first or last, not both", code="INVALID_ARGUMENT")
        for name, value in (("first", self.first), ("last", self.last)):
            if value is not None and value < 0:
                raise PublicError(f"{name} must not be negative", code="INVALID_ARGUMENT")
            if value is not None and value > cap:
                raise PublicError(
                    f"{name} must be at most {cap} (the page size cap)",
                    code="PAGE_SIZE_EXCEEDED",
                    maxPageSize=cap,
                )
        if self.first is None and self.last is None:
            return PageRequest(
                first=min(cap, DEFAULT_PAGE_SIZE), after=self.after, before=self.before
            )
        return self


async def page_orders(
    context: Context,
    *,
    where: OrderFilter,
    request: PageRequest,
    order: SortOrder = SortOrder.ASC,
) -> OrderPage:
    """One page of the tenant's orders (``totalCount`` is resolved separately)."""
    tenant = context.require_tenant()
    checked = request.checked(context.services.settings.limits.max_page_size)
    try:
        return await context.services.store.orders.page(
            tenant,
            filter=where,
            first=checked.first,
            after=checked.after,
            last=checked.last,
            before=checked.before,
            order=order,
        )
    except InvalidCursorError as exc:
        raise PublicError(
            "the cursor is not valid for this list (tampered, foreign or from another sort)",
            code="INVALID_CURSOR",
        ) from exc
    except PaginationError as exc:
        raise PublicError(str(exc), code="INVALID_ARGUMENT") from exc


async def count_orders(context: Context, where: OrderFilter) -> int:
    return await context.services.store.orders.count(context.require_tenant(), where)


async def load_order(context: Context, key: str) -> StoredOrder | None:
    return await context.loaders.order_by_id.load(key)


async def load_orders(context: Context, keys: Sequence[str]) -> list[StoredOrder | None]:
    return list(await context.loaders.order_by_id.load_many(list(keys)))


@dataclass(frozen=True)
class EventPage:
    """One page of an order's events, oldest first, each with its signed cursor."""

    events: list[StoredEvent]
    cursors: list[str]
    has_next: bool
    has_previous: bool = False


def event_position(context: Context, cursor: str) -> int:
    """The event id an event cursor of this tenant names; INVALID_CURSOR for a cursor of
    another tenant, altered or made up."""
    try:
        return context.services.store.orders.event_position(context.require_tenant(), cursor)
    except InvalidCursorError as exc:
        raise PublicError("the event cursor is not valid", code="INVALID_CURSOR") from exc


def event_cursor(context: Context, event: StoredEvent) -> str:
    """The signed cursor of ``event`` (bound to the event's tenant)."""
    return context.services.store.orders.event_cursor(event.tenant, event.id)


async def order_events_page(context: Context, order_key: str, request: PageRequest) -> EventPage:
    """The page of ``order_key``'s events ``request`` asks for: the first events after
    ``after`` (and before ``before``), or with ``last`` the last ones before ``before``
    (and after ``after``). Oldest first either way, as Relay orders a page.

    ``hasNextPage`` is only known for ``first`` and ``hasPreviousPage`` only for
    ``last`` (the other is false), as the Relay specification allows.
    """
    checked = request.checked(context.services.settings.limits.max_page_size)
    after_id = event_position(context, checked.after) if checked.after is not None else None
    before_id = event_position(context, checked.before) if checked.before is not None else None
    from_end = checked.last is not None
    size = checked.last if checked.last is not None else checked.first
    assert size is not None  # ``checked`` always sets one of them
    # Batched: every order of a page asking for the same window costs one query together;
    # one more than the page tells whether there is more in that direction.
    events = await context.loaders.events_by_order.load(
        EventPageKey(order_key, after_id, before_id, size + 1, from_end)
    )
    more = len(events) > size
    page = events[len(events) - size :] if from_end else events[:size]
    if size == 0:
        page = []
    return EventPage(
        events=page,
        cursors=[event_cursor(context, event) for event in page],
        has_next=more and not from_end,
        has_previous=more and from_end,
    )
