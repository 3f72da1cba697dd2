"""The codes of ``UserError``: why a mutation did not do what was asked.

A plain enum so the mutation logic can name its codes without importing Strawberry;
``ordergraph.schema.enums`` registers it as the GraphQL enum ``UserErrorCode``. A code
that is not a member cannot be written, so no code is silently mapped to another.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["UserErrorCode"]


class UserErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    UNSUPPORTED_BY_PROVIDER = "UNSUPPORTED_BY_PROVIDER"
    PROVIDER_REJECTED = "PROVIDER_REJECTED"
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    PROVIDER_RATE_LIMITED = "PROVIDER_RATE_LIMITED"
    PROVIDER_AUTH_FAILED = "PROVIDER_AUTH_FAILED"
    # The provider answered success in a shape we cannot read: the write may have
    # happened there (e.g. an order created without its id), so do not simply retry.
    PROVIDER_BAD_RESPONSE = "PROVIDER_BAD_RESPONSE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
    # The provider account is connected already (under this tenant: the answer names
    # that connection; under another: nothing about it is said).
    ALREADY_CONNECTED = "ALREADY_CONNECTED"
    # No credentials for the provider in the settings ([providers.<name>]): nothing
    # can be connected there until an operator adds them.
    PROVIDER_NOT_CONFIGURED = "PROVIDER_NOT_CONFIGURED"
    # The connection is not in a state the operation applies to (resuming a
    # connection that is not paused, say).
    INVALID_STATE = "INVALID_STATE"
