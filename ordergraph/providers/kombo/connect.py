"""Kombo Connect: ``POST /connect/create-link`` and the ``integration-*`` webhooks.

The link is made with the workspace key alone (no ``X-Integration-Id``: the
integration does not exist yet) for an ``ASSESSMENT`` integration, with
``end_user_origin_id`` naming our tenant; Kombo then signs an ``integration-created``
webhook whose ``data.end_user.origin_id`` carries it back. ``integration-deleted`` and
``integration-state-changed`` (``state`` ``ACTIVE`` | ``INVALID`` | ``INACTIVE``)
follow the integration's life. An integration of another category is not ours.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr

from ordergraph.errors import ProviderResponseError
from ordergraph.providers.connect import (
    AccountEvent,
    AccountEventKind,
    ConnectLink,
    ConnectLinkInputError,
    ConnectLinkRequest,
    Workspace,
    workspace_client,
)
from ordergraph.providers.kombo.client import KomboProvider

__all__ = ["account_event", "create_link"]

CREATE_LINK_PATH = "/connect/create-link"
_CATEGORY = "ASSESSMENT"
_LANGUAGES = frozenset({"en", "de", "fr", "it", "es"})
_EVENTS = {
    "integration-created": AccountEventKind.CREATED,
    "integration-deleted": AccountEventKind.DELETED,
    "integration-state-changed": AccountEventKind.STATE_CHANGED,
}


async def create_link(workspace: Workspace, request: ConnectLinkRequest) -> ConnectLink:
    """An embedded-flow link for ``request.tenant`` (valid for an hour, per Kombo)."""
    if not request.end_user_email:
        msg = "Kombo needs the email of the person who connects the account"
        raise ConnectLinkInputError(msg, "endUserEmail")
    if not request.organization_name:
        msg = "Kombo needs the name of the customer's organization"
        raise ConnectLinkInputError(msg, "organizationName")
    if request.language is not None and request.language not in _LANGUAGES:
        msg = f"Kombo's connect flow speaks {', '.join(sorted(_LANGUAGES))}"
        raise ConnectLinkInputError(msg, "language")
    body: dict[str, Any] = {
        "end_user_email": request.end_user_email,
        "end_user_organization_name": request.organization_name,
        "end_user_origin_id": request.tenant,
        "integration_category": _CATEGORY,
    }
    if request.integration:
        body["integration_tool"] = request.integration
    if request.language:
        body["language"] = request.language
    http = workspace_client(
        KomboProvider.name.value,
        workspace,
        {"Authorization": SecretStr("Bearer " + workspace.api_key.get_secret_value())},
        KomboProvider.parse_error,
        routes=(CREATE_LINK_PATH,),
    )
    try:
        answer = await http.json("POST", CREATE_LINK_PATH, json_body=body)
    finally:
        await http.close()
    data = answer.get("data") if isinstance(answer, dict) else None
    link = data.get("link") if isinstance(data, dict) else None
    if not isinstance(link, str) or not link.startswith(("https://", "http://")):
        msg = "Kombo answered create-link without a link"
        raise ProviderResponseError(msg, provider=KomboProvider.name.value)
    return ConnectLink(url=link)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def account_event(body: bytes) -> AccountEvent | None:
    """The account news in a verified webhook body; None for any other event type.

    Call it only on a body whose signature matched, and whose nesting is bounded.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    kind = _EVENTS.get(str(payload.get("type")))
    data = payload.get("data")
    if kind is None or not isinstance(data, dict):
        return None
    found = data.get("end_user")
    end_user: dict[str, Any] = found if isinstance(found, dict) else {}
    category = data.get("category", data.get("integration_category"))
    account = _text(data.get("id") if kind is not AccountEventKind.STATE_CHANGED else None)
    account = account or _text(data.get("integration_id"))
    if account is None or category != _CATEGORY:
        return AccountEvent(kind=AccountEventKind.IGNORED, account=account or "")
    return AccountEvent(
        kind=kind,
        account=account,
        tenant=_text(end_user.get("origin_id")),
        name=_text(end_user.get("organization_name")),
        active=(data.get("state") == "ACTIVE") if kind is AccountEventKind.STATE_CHANGED else None,
    )
