"""Tenant settings for tests: each key stored as its hash, as the settings require."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ordergraph.keys import Scope, hash_api_key

__all__ = ["ALL_SCOPES", "key_entry", "tenant_entries"]

ALL_SCOPES: tuple[str, ...] = tuple(str(s) for s in Scope)


def key_entry(key: str, scopes: Iterable[str] = ALL_SCOPES) -> dict[str, Any]:
    """One ``[[tenants.keys]]`` table for ``key``."""
    return {"hash": hash_api_key(key), "scopes": list(scopes)}


def tenant_entries(
    keys: Mapping[str, str],
    *,
    scopes: Iterable[str] = ALL_SCOPES,
    extra: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
) -> list[dict[str, Any]]:
    """``tenants`` settings: one key per tenant (``keys``: tenant -> key) with ``scopes``,
    plus ``extra`` keys per tenant (tenant -> {key: scopes})."""
    scopes = tuple(scopes)
    return [
        {
            "name": tenant,
            "keys": [key_entry(key, scopes)]
            + [key_entry(k, s) for k, s in (extra or {}).get(tenant, {}).items()],
        }
        for tenant, key in keys.items()
    ]
