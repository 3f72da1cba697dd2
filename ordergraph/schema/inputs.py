"""Input types for queries, and their translation into store filters."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from ordergraph.models import OrderStatus, ProviderName
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.node_keys import connection_key, package_keys
from ordergraph.schema.enums import OrderSortDirection, OrderSortField
from ordergraph.schema.errors import PublicError
from ordergraph.store import OrderFilter, SortOrder

__all__ = ["LeftOutIsNone", "OrderFilterInput", "OrderOrderInput", "expect_id"]

MAX_FILTER_VALUES = 100
MAX_SEARCH_LENGTH = 200


class LeftOutIsNone:
    """Base of an input type whose optional fields default to ``strawberry.UNSET``, so the
    SDL shows no ``= null`` for them: a field the client left out then reads as None, like
    an explicit null, since both mean "not given" here. Turning UNSET into None once, when
    the input is built, means no reader (``to_model``, an idempotency key passed on) can
    mistake UNSET for a value: it is not None and would pass an ``is not None`` check."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value is strawberry.UNSET:
                setattr(self, name, None)


def expect_id(global_id: relay.GlobalID, type_name: str, argument: str) -> str:
    """The node id of ``global_id``, which must be a ``type_name`` id (still signed: see
    ``ordergraph.resolvers.node_keys`` for its key)."""
    if global_id.type_name != type_name:
        raise PublicError(
            f"{argument} must be the id of a {type_name}", code="INVALID_ID", argument=argument
        )
    return global_id.node_id


def connection_keys(context: Context, global_ids: list[relay.GlobalID], argument: str) -> list[str]:
    """The connection keys of a filter's ids. One that does not resolve is left out: a
    filter of ids narrows, so an unknown id matches nothing rather than widening it."""
    keys = (
        connection_key(context, expect_id(g, "ProviderConnection", argument)) for g in global_ids
    )
    return [key for key in keys if key is not None]


@strawberry.input(name="OrderFilter", description="Conditions an order must meet to be listed.")
class OrderFilterInput(LeftOutIsNone):
    statuses: list[OrderStatus] | None = strawberry.field(
        default=strawberry.UNSET, description="Any of these canonical statuses."
    )
    providers: list[ProviderName] | None = strawberry.field(
        default=strawberry.UNSET, description="Any of these providers."
    )
    connection_ids: list[relay.GlobalID] | None = strawberry.field(
        default=strawberry.UNSET, description="Any of these connections (ProviderConnection ids)."
    )
    created_after: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Created at or after this time (inclusive)."
    )
    created_before: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Created before this time (exclusive)."
    )
    updated_since: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="`updatedAt` at or after this time (inclusive)."
    )
    candidate_email: str | None = strawberry.field(
        default=strawberry.UNSET, description="The candidate's email (exact, case-insensitive)."
    )
    job_remote_id: str | None = strawberry.field(
        default=strawberry.UNSET, description="The job's id in the ATS."
    )
    package_id: relay.GlobalID | None = strawberry.field(
        default=strawberry.UNSET, description="Orders of this package (a Package id)."
    )
    search: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Text in the candidate's name or email (case-insensitive).",
    )

    def to_store(self, context: Context) -> OrderFilter:
        for name in ("statuses", "providers", "connection_ids"):
            values = getattr(self, name)
            if values is not None and len(values) > MAX_FILTER_VALUES:
                raise PublicError(
                    f"filter.{name} takes at most {MAX_FILTER_VALUES} values",
                    code="INVALID_ARGUMENT",
                )
        if self.search is not None and len(self.search) > MAX_SEARCH_LENGTH:
            raise PublicError(
                f"filter.search takes at most {MAX_SEARCH_LENGTH} characters",
                code="INVALID_ARGUMENT",
            )
        connection_ids = (
            connection_keys(context, self.connection_ids, "filter.connectionIds")
            if self.connection_ids is not None
            else None
        )
        package_id: str | None = None
        if self.package_id is not None:
            node_id = expect_id(self.package_id, "Package", "filter.packageId")
            # A package id that does not resolve names no connection: nothing matches.
            package_key = package_keys(context, [node_id])[0] or ""
            package_connection, _, package_id = package_key.partition(":")
            # A package id names its connection: only that connection's orders match.
            connection_ids = (
                [package_connection]
                if connection_ids is None
                else [c for c in connection_ids if c == package_connection]
            )
        return OrderFilter(
            statuses=self.statuses,
            providers=self.providers,
            connection_ids=connection_ids,
            created_after=self.created_after,
            created_before=self.created_before,
            updated_since=self.updated_since,
            candidate_email=self.candidate_email,
            job_remote_id=self.job_remote_id,
            package_id=package_id,
            search=self.search,
        )


@strawberry.input(name="OrderOrder", description="How orders are sorted.")
class OrderOrderInput:
    field: OrderSortField = strawberry.field(
        default=OrderSortField.CREATED_AT, description="What to sort by."
    )
    direction: OrderSortDirection = strawberry.field(
        default=OrderSortDirection.ASC, description="Ascending or descending."
    )

    def to_store(self) -> SortOrder:
        return SortOrder.DESC if self.direction is OrderSortDirection.DESC else SortOrder.ASC
