"""The one builder of Relay connections: edges, their nodes and a ``PageInfo`` derived
from them.

Every ``...Connection`` type of the schema is built here, so ``nodes`` is always the
edges' nodes, ``startCursor`` and ``endCursor`` always name the first and last edge, and
an empty page has neither. The paging sentences every list field's description shares
are here too, so each list says the same about its defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol, TypeVar

from strawberry import relay

from ordergraph.resolvers.orders import DEFAULT_PAGE_SIZE

__all__ = ["PAGING", "build_connection", "paged"]

PAGING: Final = (
    f"Relay paging: `first` (default {DEFAULT_PAGE_SIZE}, at most the server's page size "
    "cap) with `after`, or `last` with `before`; passing both `first` and `last` is "
    "INVALID_ARGUMENT, a size above the cap PAGE_SIZE_EXCEEDED, a cursor of another list "
    "INVALID_CURSOR."
)
"""What every paged field's description says about its arguments."""


def paged(what: str, order: str) -> str:
    """The description of a paged list field: what it lists, its order, how it pages."""
    return f"{what} Default order: {order}. {PAGING}"


class _Edge(Protocol):
    @property
    def cursor(self) -> str: ...

    @property
    def node(self) -> Any: ...


ConnectionT = TypeVar("ConnectionT")


def build_connection(
    connection_type: Callable[..., ConnectionT],
    edges: Sequence[_Edge],
    *,
    has_next_page: bool,
    has_previous_page: bool,
    **extra: Any,
) -> ConnectionT:
    """``connection_type(edges=..., nodes=..., page_info=..., **extra)`` for one page."""
    return connection_type(
        edges=list(edges),
        nodes=[edge.node for edge in edges],
        page_info=relay.PageInfo(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        **extra,
    )
