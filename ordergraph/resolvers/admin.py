"""The admin mutations' logic: a tenant's provider connections.

Each runs through ``mutations.idempotent`` like every other write, and answers a
``MutationOutcome`` (the connection touched, or the issues). The tenant check is the
API's one (``Context.connection``): another tenant's connection is NOT_FOUND, exactly
like an unknown id; an account connected under another tenant is ALREADY_CONNECTED
with nothing said about who holds it.
"""

from __future__ import annotations

from strawberry import relay

from ordergraph.errors import ProviderError, UnsupportedOperationError
from ordergraph.models import ProviderName
from ordergraph.providers.connect import ConnectLinkInputError
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.mutations import MutationOutcome, idempotent, issue_for_provider_error
from ordergraph.resolvers.node_keys import key_of
from ordergraph.resolvers.user_errors import UserErrorCode
from ordergraph.store.connections import ConnectionState
from ordergraph.sync.connect_links import ConnectOptions
from ordergraph.sync.lifecycle import ProviderNotConfiguredError

__all__ = [
    "add_connection",
    "connection_key_of",
    "create_connect_link",
    "remove_connection",
    "set_connection_state",
]

MAX_ACCOUNT_LENGTH = 200
MAX_NAME_LENGTH = 200
_INPUT = "input"


async def connection_key_of(context: Context, global_id: relay.GlobalID) -> str | None:
    """The tenant's connection behind an id; None for another type's id, a forged one,
    an unknown one and another tenant's alike."""
    key = await key_of(context, global_id, "ProviderConnection")
    if key is None or context.connection(key) is None:
        return None
    return key


def _printable(value: str) -> bool:
    return value.isprintable() and value == value.strip()


async def add_connection(
    context: Context,
    provider: ProviderName,
    account: str,
    *,
    name: str | None,
    idempotency_key: str | None,
) -> MutationOutcome:
    tenant = context.require_tenant()
    if not (1 <= len(account) <= MAX_ACCOUNT_LENGTH and _printable(account)):
        return MutationOutcome.failed(
            UserErrorCode.INVALID_INPUT,
            f"account must be 1 to {MAX_ACCOUNT_LENGTH} printable characters, "
            "without surrounding spaces",
            _INPUT,
            "account",
        )
    if name is not None and not (1 <= len(name) <= MAX_NAME_LENGTH and name.isprintable()):
        return MutationOutcome.failed(
            UserErrorCode.INVALID_INPUT,
            f"name must be 1 to {MAX_NAME_LENGTH} printable characters",
            _INPUT,
            "name",
        )
    lifecycle = context.services.lifecycle

    async def perform() -> MutationOutcome:
        try:
            added = await lifecycle.add(tenant, provider, account, name=name)
        except ProviderNotConfiguredError:
            return MutationOutcome.failed(
                UserErrorCode.PROVIDER_NOT_CONFIGURED,
                f"{provider.value} is not configured on this server ([providers.{provider.value}])",
                _INPUT,
                "provider",
            )
        if added.connection is None:
            return MutationOutcome.failed(
                UserErrorCode.ALREADY_CONNECTED,
                "this provider account cannot be connected: it is connected already",
                _INPUT,
                "account",
            )
        return MutationOutcome(connection_ids=[added.connection.id])

    return await idempotent(
        context,
        key=idempotency_key,
        operation="addConnection",
        request={"provider": provider.value, "account": account, "name": name},
        perform=perform,
    )


# What each state change is called, and the states it applies to.
_CHANGES: dict[ConnectionState, tuple[str, frozenset[ConnectionState]]] = {
    ConnectionState.PAUSED: ("pauseConnection", frozenset({ConnectionState.ACTIVE})),
    ConnectionState.ACTIVE: ("resumeConnection", frozenset({ConnectionState.PAUSED})),
}


async def set_connection_state(
    context: Context, connection_id: str, state: ConnectionState, *, idempotency_key: str | None
) -> MutationOutcome:
    """``pauseConnection`` (state PAUSED) and ``resumeConnection`` (ACTIVE): a
    connection already in ``state`` is answered as it is."""
    tenant = context.require_tenant()
    lifecycle = context.services.lifecycle
    operation, allowed_from = _CHANGES[state]

    async def perform() -> MutationOutcome:
        live = context.connection(connection_id)
        if live is None:
            return MutationOutcome.failed(UserErrorCode.NOT_FOUND, "no such connection", "id")
        if live.state is state:
            return MutationOutcome(connection_ids=[connection_id])
        if live.state not in allowed_from:
            return MutationOutcome.failed(
                UserErrorCode.INVALID_STATE,
                f"the connection is {live.state.value}, not {' or '.join(sorted(allowed_from))}",
                "id",
            )
        updated = await lifecycle.set_state(tenant, connection_id, state)
        if updated is None:
            return MutationOutcome.failed(UserErrorCode.NOT_FOUND, "no such connection", "id")
        return MutationOutcome(connection_ids=[connection_id])

    return await idempotent(
        context,
        key=idempotency_key,
        operation=operation,
        request={"id": connection_id},
        perform=perform,
    )


async def remove_connection(
    context: Context, connection_id: str, *, purge_orders: bool, idempotency_key: str | None
) -> MutationOutcome:
    tenant = context.require_tenant()
    lifecycle = context.services.lifecycle

    async def perform() -> MutationOutcome:
        purged = await lifecycle.remove(tenant, connection_id, purge_orders=purge_orders)
        if purged is None:
            return MutationOutcome.failed(UserErrorCode.NOT_FOUND, "no such connection", "id")
        return MutationOutcome(connection_ids=[connection_id], purged_orders=purged)

    return await idempotent(
        context,
        key=idempotency_key,
        operation="removeConnection",
        request={"id": connection_id, "purge_orders": purge_orders},
        perform=perform,
    )


MAX_OPTION_LENGTH = 320


async def create_connect_link(
    context: Context,
    provider: ProviderName,
    options: ConnectOptions,
    *,
    idempotency_key: str | None,
) -> MutationOutcome:
    tenant = context.require_tenant()
    for name, value in (
        ("endUserEmail", options.end_user_email),
        ("organizationName", options.organization_name),
        ("integration", options.integration),
        ("language", options.language),
    ):
        if value is not None and not (1 <= len(value) <= MAX_OPTION_LENGTH and _printable(value)):
            return MutationOutcome.failed(
                UserErrorCode.INVALID_INPUT,
                f"{name} must be 1 to {MAX_OPTION_LENGTH} printable characters",
                _INPUT,
                name,
            )
    links = context.services.connect_links

    async def perform() -> MutationOutcome:
        try:
            link = await links.create_link(tenant, provider, options)
        except UnsupportedOperationError as exc:
            return MutationOutcome.failed(
                UserErrorCode.UNSUPPORTED_BY_PROVIDER, exc.message, _INPUT, "provider"
            )
        except ProviderNotConfiguredError:
            return MutationOutcome.failed(
                UserErrorCode.PROVIDER_NOT_CONFIGURED,
                f"{provider.value} is not configured on this server ([providers.{provider.value}])",
                _INPUT,
                "provider",
            )
        except ConnectLinkInputError as exc:
            return MutationOutcome.failed(UserErrorCode.INVALID_INPUT, str(exc), _INPUT, exc.field)
        except ProviderError as exc:
            return MutationOutcome(issues=[issue_for_provider_error(exc, _INPUT, "provider")])
        return MutationOutcome(link_url=link.url)

    return await idempotent(
        context,
        key=idempotency_key,
        operation="createConnectLink",
        request={"provider": provider.value, **vars(options)},
        perform=perform,
    )
