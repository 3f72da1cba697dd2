"""Initial store: orders, order events, tenant state, sync state, idempotency keys,
pending deliveries.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from ordergraph.store.types import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types in tables.py as they were at this revision.
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_KEY = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STATUSES = (
    "'OPEN', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED', 'EXPIRED', 'UNKNOWN'"
)


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", _KEY, nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("remote_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider_status", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_at_source", sa.String(16), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.Column("candidate_email", sa.Text(), nullable=True),
        sa.Column("candidate_name", sa.Text(), nullable=True),
        sa.Column("job_remote_id", sa.Text(), nullable=True),
        sa.Column("package_id", sa.Text(), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "connection_id", "remote_id", name=op.f("uq_orders_connection_id_remote_id")
        ),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_orders_status")),
        sa.CheckConstraint(
            "provider IN ('unified', 'stackone', 'kombo')", name=op.f("ck_orders_provider")
        ),
        sa.CheckConstraint(
            "created_at_source IN ('provider', 'first_seen')", name=op.f("ck_orders_created_source")
        ),
    )
    op.create_index(
        op.f("ix_orders_tenant_created_at_id"), "orders", ["tenant", "created_at", "id"]
    )
    op.create_index(
        op.f("ix_orders_tenant_status_created_at_id"),
        "orders",
        ["tenant", "status", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_orders_connection_id_created_at_id"),
        "orders",
        ["connection_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_orders_tenant_candidate_email"), "orders", ["tenant", "candidate_email"]
    )
    op.create_index(op.f("ix_orders_tenant_job_remote_id"), "orders", ["tenant", "job_remote_id"])
    op.create_index(op.f("ix_orders_tenant_package_id"), "orders", ["tenant", "package_id"])
    op.create_index(op.f("ix_orders_tenant_updated_at"), "orders", ["tenant", "updated_at"])

    op.create_table(
        "order_events",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("order_id", _KEY, nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("previous_status", sa.String(16), nullable=True),
        sa.Column("new_status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders")
        ),
        sa.CheckConstraint(
            "source IN ('WEBHOOK', 'POLL', 'MUTATION', 'CREATE')",
            name=op.f("ck_order_events_source"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_order_events_tenant_id"), "order_events", ["tenant", "id"])
    op.create_index(op.f("ix_order_events_order_id_id"), "order_events", ["order_id", "id"])

    op.create_table(
        "tenant_state",
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("data_version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_tenant_state")),
    )

    op.create_table(
        "sync_state",
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("last_synced_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("details", _JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_sync_state")),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response", _JSON, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"])

    op.create_table(
        "pending_deliveries",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("order_id", _KEY, nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_deliveries")),
        sa.CheckConstraint(
            "state IN ('pending', 'in_flight', 'delivered', 'failed')",
            name=op.f("ck_pending_deliveries_state"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_pending_deliveries_state_next_attempt_at"),
        "pending_deliveries",
        ["state", "next_attempt_at"],
    )
    op.create_index(
        op.f("ix_pending_deliveries_tenant_order_id"), "pending_deliveries", ["tenant", "order_id"]
    )


def downgrade() -> None:
    op.drop_table("pending_deliveries")
    op.drop_table("idempotency_keys")
    op.drop_table("sync_state")
    op.drop_table("tenant_state")
    op.drop_table("order_events")
    op.drop_table("orders")
