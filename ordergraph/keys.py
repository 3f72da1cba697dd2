"""API keys: how they are made, how they are stored (as hashes), and what they may do.

A key is a long random token, so the settings hold only ``sha256:<64 hex>`` of it, as
GitHub and Stripe store their tokens. Why an unsalted, fast hash is right here (and a
password hash like bcrypt is not): salts and slow hashes defend *low-entropy* secrets
against guessing; a key of :data:`MIN_KEY_LENGTH` or more random characters cannot be
guessed from its hash either way. A fast, unsalted hash also means a request costs one
SHA-256 and a lookup by digest, not one slow hash per stored key.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from enum import StrEnum
from typing import Final

__all__ = [
    "HASH_PREFIX",
    "MIN_KEY_LENGTH",
    "Scope",
    "generate_api_key",
    "hash_api_key",
    "is_key_hash",
]

HASH_PREFIX: Final = "sha256:"
MIN_KEY_LENGTH: Final = 32
"""Shortest key ``ordergraph hash-key`` accepts: a shorter one could be guessed from
its unsalted hash (``--generate`` makes 43 characters, 256 random bits)."""

_KEY_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


class Scope(StrEnum):
    """What a key may do. Scopes are independent: ``pii`` does not imply ``read``."""

    READ = "read"
    """Queries and subscriptions."""
    WRITE = "write"
    """Mutations."""
    PII = "pii"
    """The candidate's sensitive fields (date of birth, national identifier, IP
    address, gender, postal addresses)."""
    ADMIN = "admin"
    """The tenant's provider connections: add, pause, resume and remove them, and
    create connect links for the tenant's customers (the admin mutations). Not
    implied by ``write``, and ``write`` is not implied by it."""


def hash_api_key(key: str) -> str:
    """What the settings store for ``key``: ``sha256:<hex digest>``."""
    return HASH_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def is_key_hash(value: str) -> bool:
    """True when ``value`` has the form :func:`hash_api_key` returns."""
    return _KEY_HASH.match(value) is not None


def generate_api_key() -> str:
    """A new random key (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)
