"""Webhook receipts: the deliveries already taken, for duplicate and replay detection.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ordergraph.store.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_receipts",
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("key_digest", sa.String(64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "key_digest", name=op.f("pk_webhook_receipts")),
    )
    op.create_index(op.f("ix_webhook_receipts_received_at"), "webhook_receipts", ["received_at"])


def downgrade() -> None:
    op.drop_table("webhook_receipts")
