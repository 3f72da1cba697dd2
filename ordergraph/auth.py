"""API keys to tenants.

Keys are compared in constant time; the key itself is never logged or echoed. (Stored
key hashes and scopes come with the hardening work; today the settings hold keys.)
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from ordergraph.settings import Settings

__all__ = ["bearer_token", "tenant_for_key", "tenant_from_headers"]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, if that is what it is."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def tenant_for_key(settings: Settings, key: str | None) -> str | None:
    """The tenant an API key acts for; None for no key or an unknown one."""
    if not key:
        return None
    given = key.encode()
    found: str | None = None
    for tenant in settings.tenants:
        for candidate in tenant.api_keys:
            # Check every key (no early exit) so timing says nothing about which matched.
            if hmac.compare_digest(given, candidate.get_secret_value().encode()):
                found = tenant.name
    return found


def tenant_from_headers(settings: Settings, headers: Mapping[str, str]) -> str | None:
    return tenant_for_key(settings, bearer_token(headers.get("Authorization")))
