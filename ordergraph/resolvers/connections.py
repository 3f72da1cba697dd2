"""Which connections a tenant may use: the one tenant check of the API.

A connection of another tenant is answered exactly like one that does not exist, so
no answer tells a tenant that another tenant's connection id is real.
"""

from __future__ import annotations

from ordergraph.sync.connections import ConnectionRegistry, LiveConnection

__all__ = ["tenant_connection"]


def tenant_connection(
    connections: ConnectionRegistry, tenant: str, connection_id: str
) -> LiveConnection | None:
    """The live connection ``connection_id`` if it belongs to ``tenant``, else None."""
    connection = connections.get(connection_id)
    if connection is None or connection.tenant != tenant:
        return None
    return connection
