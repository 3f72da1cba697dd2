"""Seen changes: ``orders.changed_at``, when an order last changed as far as we know.

The provider's ``updated_at`` where it gives one, else ``ingested_at`` (when ordergraph
stored the last change): Kombo and StackOne orders carry no update time, and
``updatedSince`` matched none of them. Existing rows get exactly that value.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ordergraph.store.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added nullable, filled, then made NOT NULL: no default could name another column.
    op.add_column("orders", sa.Column("changed_at", UTCDateTime(), nullable=True))
    orders = sa.table(
        "orders",
        sa.column("changed_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
        sa.column("ingested_at", UTCDateTime()),
    )
    op.execute(
        orders.update().values(
            changed_at=sa.func.coalesce(orders.c.updated_at, orders.c.ingested_at)
        )
    )
    # Batch mode: SQLite cannot alter a column in place (the table is copied there).
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("changed_at", existing_type=UTCDateTime(), nullable=False)
    op.create_index(op.f("ix_orders_tenant_changed_at"), "orders", ["tenant", "changed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_tenant_changed_at"), table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("changed_at")
