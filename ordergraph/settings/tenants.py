"""Tenants and their API keys (hashes and scopes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from ordergraph.keys import Scope, is_key_hash
from ordergraph.settings.sections import _Section

_HASH_KEY_HINT = (
    "run `ordergraph hash-key` (the key on stdin) and put the sha256:... line it prints "
    "here; the key itself stays with the client"
)


class ApiKeySettings(_Section):
    """One API key of a tenant: the key's hash (never the key) and what it may do."""

    # ``sha256:<64 hex>`` of the key (``ordergraph.keys``: why unsalted SHA-256 fits
    # long random keys). Holding only hashes means the file, a backup or an env dump
    # cannot be used to call the API.
    hash: str
    # No default: what a key may do is decided when it is issued, not by omission.
    scopes: tuple[Scope, ...] = Field(min_length=1)

    @field_validator("hash")
    @classmethod
    def _check_hash(cls, value: str) -> str:
        text = value.strip().lower()
        if not is_key_hash(text):
            # Most likely the key itself was pasted: say what to do, never echo it.
            msg = f"must be a key hash (sha256:<64 hex digits>), not a key: {_HASH_KEY_HINT}"
            raise ValueError(msg)
        return text

    @field_validator("scopes")
    @classmethod
    def _unique_scopes(cls, scopes: tuple[Scope, ...]) -> tuple[Scope, ...]:
        return tuple(sorted(set(scopes)))


class TenantSettings(_Section):
    """A customer of the gateway and the API keys that act for it."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    keys: tuple[ApiKeySettings, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _refuse_plain_keys(cls, data: Any) -> Any:
        # The setting plain keys lived in before keys were stored as hashes.
        if isinstance(data, Mapping) and "api_keys" in data:
            msg = (
                "api_keys (keys in plain text) is no longer read: list each key as "
                '[[tenants.keys]] hash = "sha256:..." scopes = ["read", ...]; '
                f"{_HASH_KEY_HINT}"
            )
            raise ValueError(msg)
        return data


# What a ``[providers.<name>]`` section gives every connection of that provider, unless
# the connection sets the field itself.
