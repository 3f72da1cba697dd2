"""API keys to principals: the tenant a key acts for and the scopes it holds.

The settings hold only key hashes (``ordergraph.keys``). A presented key is hashed
once and its digest compared with every stored hash in constant time, with no early
exit, so timing tells neither which key matched nor how much of a hash did (and a
hash prefix would not help an attacker anyway: it cannot be turned back into a key).
The key itself is never logged or echoed.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from ordergraph.identity_memo import IdentityMemo
from ordergraph.keys import Scope, hash_api_key
from ordergraph.settings import Settings

__all__ = [
    "Principal",
    "bearer_token",
    "principal_for_key",
    "principal_from_headers",
]


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: one tenant, with the scopes of the key it presented."""

    tenant: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, if that is what it is."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def principal_for_key(settings: Settings, key: str | None) -> Principal | None:
    """The tenant and scopes an API key acts with; None for no key or an unknown one."""
    if not key:
        return None
    given = hash_api_key(key).encode()
    found: Principal | None = None
    for stored, principal in _key_index(settings):
        # Every hash is compared (no early exit); settings refuse duplicates, so at most
        # one matches.
        if hmac.compare_digest(given, stored):
            found = principal
    return found


def _key_index(settings: Settings) -> tuple[tuple[bytes, Principal], ...]:
    """Each stored key hash with the principal it stands for, made once per tenants
    list: every request asks, and rebuilding the principals and encoding the hashes
    each time was most of the lookup."""
    return _KEY_INDEXES.get(
        settings.tenants,
        lambda: tuple(
            (stored.hash.encode(), Principal(tenant=tenant.name, scopes=frozenset(stored.scopes)))
            for tenant in settings.tenants
            for stored in tenant.keys
        ),
    )


_KEY_INDEXES: IdentityMemo[tuple[tuple[bytes, Principal], ...]] = IdentityMemo(64)


def principal_from_headers(settings: Settings, headers: Mapping[str, str]) -> Principal | None:
    return principal_for_key(settings, bearer_token(headers.get("Authorization")))
