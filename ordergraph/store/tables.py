"""The store schema as SQLAlchemy Core metadata.

The Alembic migrations in ``migrations/versions`` are written by hand to produce exactly
this; ``tests/store/test_migrations.py`` checks that they do, on both backends.
"""

from __future__ import annotations

import sqlalchemy as sa

from ordergraph.models import OrderStatus
from ordergraph.store.types import JSONDocument, OrderKeyText, UTCDateTime

__all__ = [
    "CONNECTION_ORIGINS",
    "CONNECTION_STATES",
    "CREATED_AT_SOURCES",
    "DELIVERY_STATES",
    "EVENT_SOURCES",
    "connections",
    "idempotency_keys",
    "metadata",
    "node_id_signing",
    "order_events",
    "orders",
    "pending_deliveries",
    "sync_state",
    "tenant_state",
    "webhook_receipts",
]

# Constraint names are spelled out so migrations can refer to them on both backends.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

EVENT_SOURCES = ("WEBHOOK", "POLL", "MUTATION", "CREATE")
CREATED_AT_SOURCES = ("provider", "first_seen")
DELIVERY_STATES = ("pending", "in_flight", "delivered", "failed")
CONNECTION_STATES = ("ACTIVE", "PAUSED", "PENDING", "REMOVED")
CONNECTION_ORIGINS = ("FILE", "API", "PROVIDER_EVENT")

# Event ids must be 64-bit on PostgreSQL, but on SQLite only "INTEGER PRIMARY KEY" is
# the rowid alias that autoincrements.
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_STATUSES = tuple(s.value for s in OrderStatus)

orders = sa.Table(
    "orders",
    metadata,
    # Global key "<connection_id>:<remote_id>".
    sa.Column("id", OrderKeyText, primary_key=True),
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("connection_id", sa.Text, nullable=False),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("remote_id", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("provider_status", sa.Text, nullable=True),
    # The provider's creation time, else when we first saw the order: never null, so
    # every order has a place in the keyset order.
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_at_source", sa.String(16), nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=True),
    # When this row last changed (ours, not the provider's).
    sa.Column("ingested_at", UTCDateTime, nullable=False),
    # When the order last changed: the provider's ``updated_at`` where it gives one, else
    # ``ingested_at``. Never null, so ``updatedSince`` filters every provider's orders
    # on one indexed column (Kombo and StackOne give no update time).
    sa.Column("changed_at", UTCDateTime, nullable=False),
    # Denormalised from ``data`` for filters and search.
    sa.Column("candidate_email", sa.Text, nullable=True),
    sa.Column("candidate_name", sa.Text, nullable=True),
    sa.Column("job_remote_id", sa.Text, nullable=True),
    sa.Column("package_id", sa.Text, nullable=True),
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("data", JSONDocument, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("connection_id", "remote_id"),
    sa.CheckConstraint(_one_of("status", _STATUSES), name="status"),
    # No CHECK on provider (dropped by 0005): a new provider needs no migration to
    # store orders; the application's ProviderName enum validates the name.
    sa.CheckConstraint(_one_of("created_at_source", CREATED_AT_SOURCES), name="created_source"),
    sa.Index(None, "tenant", "created_at", "id"),
    sa.Index(None, "tenant", "status", "created_at", "id"),
    sa.Index(None, "connection_id", "created_at", "id"),
    sa.Index(None, "tenant", "candidate_email"),
    sa.Index(None, "tenant", "job_remote_id"),
    sa.Index(None, "tenant", "package_id"),
    sa.Index(None, "tenant", "updated_at"),
    sa.Index(None, "tenant", "changed_at"),
)

# Append-only. Ids grow monotonically; per tenant they also grow in commit order,
# because ingestion holds the tenant's row in ``tenant_state`` while it appends.
order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("order_id", OrderKeyText, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("connection_id", sa.Text, nullable=False),
    sa.Column("previous_status", sa.String(16), nullable=True),
    sa.Column("new_status", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(_one_of("source", EVENT_SOURCES), name="source"),
    sa.Index(None, "tenant", "id"),
    sa.Index(None, "order_id", "id"),
    # Never reuse an id, even after the newest row is gone.
    sqlite_autoincrement=True,
)

# One row per tenant: its data version (bumped by every ingestion that changes
# something) and the lock that serialises a tenant's ingestions.
tenant_state = sa.Table(
    "tenant_state",
    metadata,
    sa.Column("tenant", sa.Text, primary_key=True),
    sa.Column("data_version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("connection_id", sa.Text, primary_key=True),
    sa.Column("cursor", sa.Text, nullable=True),
    sa.Column("last_synced_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("details", JSONDocument, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("tenant", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("operation", sa.Text, nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("response", JSONDocument, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "created_at"),
)

pending_deliveries = sa.Table(
    "pending_deliveries",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("order_id", OrderKeyText, nullable=False),
    sa.Column("connection_id", sa.Text, nullable=False),
    sa.Column("payload", JSONDocument, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(_one_of("state", DELIVERY_STATES), name="state"),
    sa.Index(None, "state", "next_attempt_at"),
    sa.Index(None, "tenant", "order_id"),
    sqlite_autoincrement=True,
)

# Webhook deliveries already taken, so a replayed or re-sent delivery is answered without
# being ingested again. Written in the same transaction as the delivery's orders; rows
# older than ``webhooks.replay_window`` are pruned (ordergraph/sync/receipt_pruner.py).
webhook_receipts = sa.Table(
    "webhook_receipts",
    metadata,
    sa.Column("connection_id", sa.Text, primary_key=True),
    # SHA-256 (hex) of the vendor's delivery key (Unified ``nonce``, Kombo event ``id``):
    # the vendor decides how long that string is, the digest keeps the key narrow.
    sa.Column("key_digest", sa.String(64), primary_key=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Index(None, "received_at"),
)

# When this store began handing out signed node ids (ordergraph/ids.py): one row,
# written by migration 0003. An unsigned (legacy) id resolves only for an entity the
# index held before this moment, so a legacy id cannot be made for a newer one.
node_id_signing = sa.Table(
    "node_id_signing",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("since", UTCDateTime, nullable=False),
)

# Customer accounts at a provider (ordergraph/store/connections.py). Credentials are
# never here: they come from the settings' provider sections; ``overrides`` holds only
# non-secret settings (timeouts, base_url...). Rows are never deleted (REMOVED is a
# state), so ``change_version`` only grows: every write gives the rows it touches the
# next version, under one lock, so versions follow commit order and "what changed since
# version N" misses nothing.
connections = sa.Table(
    "connections",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("overrides", JSONDocument, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.Column("removed_at", UTCDateTime, nullable=True),
    sa.Column("change_version", sa.BigInteger, nullable=False),
    sa.CheckConstraint(_one_of("state", CONNECTION_STATES), name="state"),
    sa.CheckConstraint(_one_of("origin", CONNECTION_ORIGINS), name="origin"),
    sa.Index(None, "change_version", unique=True),
    sa.Index(None, "tenant", "id"),
    # A provider account belongs to one live connection (so one tenant) at a time; a
    # removed connection gives it up.
    sa.Index(
        None,
        "provider",
        "account",
        unique=True,
        sqlite_where=sa.text("state != 'REMOVED'"),
        postgresql_where=sa.text("state != 'REMOVED'"),
    ),
)
