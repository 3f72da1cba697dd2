"""The order index: orders, their event log, connections, sync state, idempotency keys,
pending result deliveries and webhook receipts, on SQLite (aiosqlite) or PostgreSQL (asyncpg).

No GraphQL and no HTTP here: the store speaks canonical models and plain records.
"""

from __future__ import annotations

from ordergraph.store.candidates import CandidateEdge, CandidatePage
from ordergraph.store.connections import (
    ConnectionOrigin,
    ConnectionRemoval,
    ConnectionState,
    ConnectionStore,
    ConnectionWrite,
    FileConnection,
    FileImport,
    StoredConnection,
)
from ordergraph.store.cursors import CursorCodec, OrderKey
from ordergraph.store.deliveries import Delivery, DeliveryBacklog, DeliveryQueue, DeliveryState
from ordergraph.store.engine import create_engine, default_store_url, redact_url, to_async_url
from ordergraph.store.errors import (
    AccountTakenError,
    ConnectionConflictError,
    ConnectionRemovedError,
    InvalidCursorError,
    PaginationError,
    StoreError,
    StoreNotMigratedError,
    StoreUnavailableError,
    TenantConflictError,
)
from ordergraph.store.idempotency import IdempotencyRecord, IdempotencyStore
from ordergraph.store.migrate import SchemaStatus, check_schema, ensure_schema, migrate
from ordergraph.store.orders import DEFAULT_PAGE_SIZE, OrderStore
from ordergraph.store.receipts import WebhookReceipt, WebhookReceipts
from ordergraph.store.records import (
    CreatedAtSource,
    Edge,
    EventSource,
    IngestResult,
    OrderFilter,
    OrderPage,
    SortOrder,
    StoredEvent,
    StoredOrder,
)
from ordergraph.store.results import RecordedResult, ResultLedger
from ordergraph.store.rows import order_key
from ordergraph.store.store import Store
from ordergraph.store.sync_state import SyncState, SyncStateStore

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "AccountTakenError",
    "CandidateEdge",
    "CandidatePage",
    "ConnectionConflictError",
    "ConnectionOrigin",
    "ConnectionRemoval",
    "ConnectionRemovedError",
    "ConnectionState",
    "ConnectionStore",
    "ConnectionWrite",
    "CreatedAtSource",
    "CursorCodec",
    "Delivery",
    "DeliveryBacklog",
    "DeliveryQueue",
    "DeliveryState",
    "Edge",
    "EventSource",
    "FileConnection",
    "FileImport",
    "IdempotencyRecord",
    "IdempotencyStore",
    "IngestResult",
    "InvalidCursorError",
    "OrderFilter",
    "OrderKey",
    "OrderPage",
    "OrderStore",
    "PaginationError",
    "RecordedResult",
    "ResultLedger",
    "SchemaStatus",
    "SortOrder",
    "Store",
    "StoreError",
    "StoreNotMigratedError",
    "StoreUnavailableError",
    "StoredConnection",
    "StoredEvent",
    "StoredOrder",
    "SyncState",
    "SyncStateStore",
    "TenantConflictError",
    "WebhookReceipt",
    "WebhookReceipts",
    "check_schema",
    "create_engine",
    "default_store_url",
    "ensure_schema",
    "migrate",
    "order_key",
    "redact_url",
    "to_async_url",
]
