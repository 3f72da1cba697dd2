"""The admin mutations: a tenant's provider connections (``admin`` scope).

``addConnection``, ``pauseConnection``, ``resumeConnection`` and ``removeConnection``
change which customer accounts ordergraph syncs for the calling key's tenant, on
every process, without a restart (``ordergraph.sync.lifecycle``). Each declares the
``admin`` scope (``ordergraph.schema.field_scopes``): a ``write`` key cannot call
them, an ``admin`` key needs nothing else. Refusals are ``UserError``s, as for every
mutation; another tenant's connection id is ``NOT_FOUND``, exactly like an unknown one.
"""

from __future__ import annotations

import strawberry
from strawberry import relay

from ordergraph.keys import Scope
from ordergraph.models import ProviderName
from ordergraph.models import ProviderName as Provider
from ordergraph.resolvers import admin
from ordergraph.resolvers.mutations import MutationOutcome
from ordergraph.resolvers.user_errors import UserErrorCode
from ordergraph.schema.connections import ProviderConnection
from ordergraph.schema.enums import ConnectionState
from ordergraph.schema.field_scopes import REQUIRED_SCOPE
from ordergraph.schema.info import GraphInfo, context_of
from ordergraph.schema.inputs import LeftOutIsNone
from ordergraph.schema.user_errors import UserError, user_errors
from ordergraph.sync.connect_links import ConnectOptions

__all__ = ["AdminMutation"]

_ADMIN = {REQUIRED_SCOPE: Scope.ADMIN}


@strawberry.input(description="A customer account to connect for the calling key's tenant.")
class AddConnectionInput(LeftOutIsNone):
    provider: ProviderName = strawberry.field(description="The provider of the account.")
    account: str = strawberry.field(
        description="The provider-side account id: a Unified connection id, a StackOne "
        "account id (x-account-id), a Kombo integration id (X-Integration-Id)."
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="A name for people (the customer, say)."
    )
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="Repeat-safe key: the same key connects once."
    )


@strawberry.input(description="A connect link for one of the calling key's tenant's customers.")
class CreateConnectLinkInput(LeftOutIsNone):
    provider: Provider = strawberry.field(description="The provider to connect an account at.")
    end_user_email: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Who will connect the account (Kombo: required).",
    )
    organization_name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The customer's organization (Kombo: required).",
    )
    integration: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Which ATS: Unified's integration type (required there, e.g. "
        "greenhouse); Kombo's integration tool (optional: the customer picks).",
    )
    language: str | None = strawberry.field(
        default=strawberry.UNSET, description="The connect flow's language (en, de, fr, ...)."
    )
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="Repeat-safe key: the same key makes one link."
    )


@strawberry.type(description="What createConnectLink made.")
class CreateConnectLinkPayload:
    url: str | None = strawberry.field(
        description="The URL the customer opens to connect their account (null on error). "
        "When they finish, the connection appears under the calling tenant by itself."
    )
    errors: list[UserError] = strawberry.field(description="Why it did not, if it did not.")


@strawberry.type(description="What a connection mutation did.")
class ConnectionPayload:
    connection: ProviderConnection | None = strawberry.field(
        description="The connection as it now stands (null when nothing was done)."
    )
    errors: list[UserError] = strawberry.field(description="Why it did not, if it did not.")


@strawberry.type(description="What removeConnection did.")
class RemoveConnectionPayload:
    removed_connection_id: relay.GlobalID | None = strawberry.field(
        description="The id of the connection removed (null when nothing was removed)."
    )
    purged_orders: int = strawberry.field(
        description="How many of its orders were deleted (0 unless purgeOrders)."
    )
    errors: list[UserError] = strawberry.field(description="Why it did not, if it did not.")


def _connection_payload(info: GraphInfo, outcome: MutationOutcome) -> ConnectionPayload:
    context = context_of(info)
    connection = None
    if outcome.connection_ids:
        connection = ProviderConnection.for_id(context, outcome.connection_ids[0])
    return ConnectionPayload(connection=connection, errors=user_errors(outcome))


def _not_found(field: str) -> list[UserError]:
    return [UserError(code=UserErrorCode.NOT_FOUND, message="no such connection", field=[field])]


async def _connection_key(info: GraphInfo, global_id: relay.GlobalID) -> str | None:
    return await admin.connection_key_of(context_of(info), global_id)


async def _change_state(
    info: GraphInfo, global_id: relay.GlobalID, state: ConnectionState, key: str | None
) -> ConnectionPayload:
    connection_id = await _connection_key(info, global_id)
    if connection_id is None:
        return ConnectionPayload(connection=None, errors=_not_found("id"))
    outcome = await admin.set_connection_state(
        context_of(info), connection_id, state, idempotency_key=key or None
    )
    return _connection_payload(info, outcome)


@strawberry.type(description="Admin mutations: the tenant's provider connections.")
class AdminMutation:
    @strawberry.mutation(
        description="Connect a customer account at a provider for the calling key's tenant "
        "(admin scope). Its sync starts on every process within seconds: a Unified "
        "connection registers its webhook, a Kombo connection is walked and then polled.",
        metadata=_ADMIN,
    )
    async def add_connection(self, info: GraphInfo, input: AddConnectionInput) -> ConnectionPayload:
        outcome = await admin.add_connection(
            context_of(info),
            input.provider,
            input.account,
            name=input.name,
            idempotency_key=input.idempotency_key,
        )
        return _connection_payload(info, outcome)

    @strawberry.mutation(
        description="A link the tenant's customer opens to connect their account at the "
        "provider (admin scope): Kombo's connect flow, Unified's authorization. The provider "
        "then announces the account (Kombo's integration-created webhook, Unified's "
        "redirect back to ordergraph) and it is connected under the calling tenant. "
        "StackOne's flow is not ordergraph's to start: use addConnection.",
        metadata=_ADMIN,
    )
    async def create_connect_link(
        self, info: GraphInfo, input: CreateConnectLinkInput
    ) -> CreateConnectLinkPayload:
        outcome = await admin.create_connect_link(
            context_of(info),
            input.provider,
            ConnectOptions(
                end_user_email=input.end_user_email,
                organization_name=input.organization_name,
                integration=input.integration,
                language=input.language,
            ),
            idempotency_key=input.idempotency_key,
        )
        return CreateConnectLinkPayload(url=outcome.link_url, errors=user_errors(outcome))

    @strawberry.mutation(
        description="Stop syncing a connection and refuse its webhooks (the provider "
        "retries them); its orders stay readable (admin scope).",
        metadata=_ADMIN,
    )
    async def pause_connection(
        self,
        info: GraphInfo,
        id: relay.GlobalID,
        idempotency_key: str | None = strawberry.UNSET,
    ) -> ConnectionPayload:
        return await _change_state(info, id, ConnectionState.PAUSED, idempotency_key)

    @strawberry.mutation(
        description="Sync a paused connection again (admin scope).", metadata=_ADMIN
    )
    async def resume_connection(
        self,
        info: GraphInfo,
        id: relay.GlobalID,
        idempotency_key: str | None = strawberry.UNSET,
    ) -> ConnectionPayload:
        return await _change_state(info, id, ConnectionState.ACTIVE, idempotency_key)

    @strawberry.mutation(
        description="Remove a connection: on every process it is answered like one that "
        "never existed (its webhooks 404, its id is unknown, it is no longer synced). With "
        "purgeOrders its orders and their events are deleted too; without, they stay "
        "readable, their connection REMOVED (admin scope).",
        metadata=_ADMIN,
    )
    async def remove_connection(
        self,
        info: GraphInfo,
        id: relay.GlobalID,
        purge_orders: bool = False,
        idempotency_key: str | None = strawberry.UNSET,
    ) -> RemoveConnectionPayload:
        key = await _connection_key(info, id)
        if key is None:
            return RemoveConnectionPayload(
                removed_connection_id=None, purged_orders=0, errors=_not_found("id")
            )
        outcome = await admin.remove_connection(
            context_of(info),
            key,
            purge_orders=purge_orders,
            idempotency_key=idempotency_key or None,
        )
        return RemoveConnectionPayload(
            removed_connection_id=id if outcome.connection_ids else None,
            purged_orders=outcome.purged_orders,
            errors=user_errors(outcome),
        )
