"""Errors the store raises on purpose; all are ``OrdergraphError`` subclasses.

StoreError
├── PaginationError           first/last/after/before that cannot work together
│   └── InvalidCursorError    a cursor we did not issue, or issued for another listing
├── StoreNotMigratedError     the database schema is missing or not at this code's head
├── TenantConflictError       an order key already belongs to another tenant
├── ConnectionConflictError   a connection id or provider account already in use
│   └── AccountTakenError     the provider account is connected under another tenant
└── ConnectionRemovedError    a state change asked of a removed connection
"""

from __future__ import annotations

from ordergraph.errors import OrdergraphError

__all__ = [
    "AccountTakenError",
    "ConnectionConflictError",
    "ConnectionRemovedError",
    "InvalidCursorError",
    "PaginationError",
    "StoreError",
    "StoreNotMigratedError",
    "StoreUnavailableError",
    "TenantConflictError",
]


class StoreError(OrdergraphError):
    """Root of the store's own errors."""


class PaginationError(StoreError):
    """The paging arguments cannot work (negative size, ``first`` with ``last``)."""


class InvalidCursorError(PaginationError):
    """A cursor that is garbled, tampered with, signed by another key, or for another listing.

    The message never repeats the cursor: it is caller input and may be large.
    """


class StoreNotMigratedError(StoreError):
    """The schema is missing or older than the code; the message says what to run."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached or opened (wrong host, no such database, refused)."""


class TenantConflictError(StoreError):
    """An ingestion tried to write an order that another tenant's connection owns."""


class ConnectionConflictError(StoreError):
    """A connection cannot be added as asked: its id names a different connection, or
    its provider account is already connected (``existing_id`` says as which, when it
    is the same tenant's)."""

    def __init__(self, message: str, *, existing_id: str | None = None) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class AccountTakenError(ConnectionConflictError):
    """The provider account is connected under another tenant (a provider account may
    belong to one tenant only). The message names neither the tenant nor its connection."""


class ConnectionRemovedError(StoreError):
    """The connection was removed: it can be added again, not paused or resumed."""
