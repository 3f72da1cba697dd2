"""The one builder of Relay connections: edges plus a ``PageInfo`` derived from them.

Every ``...Connection`` type of the schema is built here, so ``startCursor`` and
``endCursor`` always name the first and last edge, and an empty page has neither.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from strawberry import relay

__all__ = ["build_connection"]


class _Edge(Protocol):
    @property
    def cursor(self) -> str: ...


ConnectionT = TypeVar("ConnectionT")


def build_connection(
    connection_type: Callable[..., ConnectionT],
    edges: Sequence[_Edge],
    *,
    has_next_page: bool,
    has_previous_page: bool,
    **extra: Any,
) -> ConnectionT:
    """``connection_type(edges=..., page_info=..., **extra)`` for one page of ``edges``."""
    return connection_type(
        edges=list(edges),
        page_info=relay.PageInfo(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        **extra,
    )
