"""``viewer``: who the calling API key acts as, so a UI can show or hide what it may do."""

from __future__ import annotations

import strawberry

from ordergraph.keys import Scope
from ordergraph.schema.info import GraphInfo, context_of

__all__ = ["ApiScope", "Viewer", "resolve_viewer"]

# Registers ``Scope`` itself as the GraphQL enum ``ApiScope`` (member names are its values).
ApiScope = strawberry.enum(
    Scope,
    name="ApiScope",
    description="What an API key may do: READ queries and subscriptions, WRITE mutations, "
    "PII read a candidate's sensitive fields, ADMIN manage the tenant's provider "
    "connections (the admin mutations). Scopes are independent.",
)


@strawberry.type(description="The calling API key: its tenant and its scopes.")
class Viewer:
    tenant: str = strawberry.field(description="The name of the tenant the key acts for.")
    scopes: list[Scope] = strawberry.field(description="The scopes the key holds, in name order.")


def resolve_viewer(info: GraphInfo) -> Viewer:
    context = context_of(info)
    tenant = context.require_tenant()
    # Sorted: the answer (and its response cache entry) must not depend on set order.
    return Viewer(tenant=tenant, scopes=sorted(context.scopes, key=lambda s: s.name))
