"""Unified.to's authorization flow: ``GET /unified/integration/auth/{workspace_id}/
{integration_type}`` answers the URL the customer opens (``text/plain``); after
consent Unified sends the browser to ``success_redirect`` with ``id=<connection id>``
and our ``state`` appended (on failure, to ``failure_redirect`` with ``error``).

``external_xref`` carries our tenant (Unified's "your user identifier to associate
with the new integration"): ``GET /unified/connection/{id}`` reads it back, so the
callback can check that the connection it is handed was made for that tenant.
"""

from __future__ import annotations

from urllib.parse import quote

from pydantic import SecretStr

from ordergraph.errors import ProviderResponseError
from ordergraph.providers.connect import (
    ConnectLink,
    ConnectLinkInputError,
    ConnectLinkRequest,
    Workspace,
    workspace_client,
)
from ordergraph.providers.http import HttpClient
from ordergraph.providers.unified.client import UnifiedProvider

__all__ = ["connection_external_xref", "create_link"]

AUTH_PATH = "/unified/integration/auth/{workspace_id}/{integration_type}"
CONNECTION_PATH = "/unified/connection/{id}"
_MAX_URL = 4096


def _client(workspace: Workspace) -> HttpClient:
    return workspace_client(
        UnifiedProvider.name.value,
        workspace,
        {"Authorization": SecretStr("Bearer " + workspace.api_key.get_secret_value())},
        UnifiedProvider.parse_error,
        routes=(AUTH_PATH, CONNECTION_PATH),
    )


async def create_link(workspace: Workspace, request: ConnectLinkRequest) -> ConnectLink:
    """The authorization URL for ``request.integration`` (Unified's integration type)."""
    if not request.integration:
        msg = "Unified needs the integration type to connect (greenhouse, lever, ...)"
        raise ConnectLinkInputError(msg, "integration")
    if not workspace.workspace_id:
        msg = "[providers.unified] workspace_id is not set: Unified's authorization needs it"
        raise ConnectLinkInputError(msg, "provider")
    path = AUTH_PATH.format(
        workspace_id=quote(workspace.workspace_id, safe=""),
        integration_type=quote(request.integration, safe=""),
    )
    params = {
        "success_redirect": request.callback_url,
        "failure_redirect": request.callback_url,
        "state": request.state,
        "external_xref": request.tenant,
    }
    if request.language:
        params["lang"] = request.language
    http = _client(workspace)
    try:
        answer = await http.request("GET", path, params=params)
    finally:
        await http.close()
    url = answer.body[:_MAX_URL].decode("utf-8", errors="replace").strip()
    if not url.startswith(("https://", "http://")):
        msg = "Unified answered the authorization request without a URL"
        raise ProviderResponseError(msg, provider=UnifiedProvider.name.value)
    return ConnectLink(url=url)


async def connection_external_xref(workspace: Workspace, connection_id: str) -> str | None:
    """``external_xref`` of a Unified connection (None when it has none)."""
    http = _client(workspace)
    try:
        answer = await http.json("GET", CONNECTION_PATH.format(id=quote(connection_id, safe="")))
    finally:
        await http.close()
    value = answer.get("external_xref") if isinstance(answer, dict) else None
    return value if isinstance(value, str) else None
