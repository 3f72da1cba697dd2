"""Reading packages: from the connection's cached package list, never one call each."""

from __future__ import annotations

from collections.abc import Sequence

from ordergraph.errors import ProviderError
from ordergraph.models import Package
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.public_errors import PublicError, provider_failure

__all__ = ["connection_packages", "package_details", "packages_by_node_keys"]


async def package_details(context: Context, connection_id: str, remote_id: str) -> Package | None:
    """One package of a connection's list; a provider failure is this field's error."""
    try:
        return await context.loaders.package_by_key.load((connection_id, remote_id))
    except ProviderError as exc:
        raise provider_failure(exc) from exc


async def packages_by_node_keys(
    context: Context, node_keys: Sequence[str]
) -> list[tuple[str, Package] | None]:
    """For each ``<connection id>:<remote id>``: the connection id and package, or None
    (no such package, or a connection this tenant does not have)."""
    answers: list[tuple[str, Package] | None] = []
    for node_key in node_keys:
        connection_id, _, remote_id = node_key.partition(":")
        if context.connection(connection_id) is None:
            answers.append(None)
            continue
        package = await package_details(context, connection_id, remote_id)
        answers.append((connection_id, package) if package else None)
    return answers


async def connection_packages(context: Context, connection_id: str) -> list[Package]:
    """The packages offered on one of the tenant's connections (NOT_FOUND otherwise)."""
    if context.connection(connection_id) is None:
        raise PublicError("no such connection", code="NOT_FOUND")
    try:
        return await context.loaders.packages_by_connection.load(connection_id)
    except ProviderError as exc:
        raise provider_failure(exc) from exc
