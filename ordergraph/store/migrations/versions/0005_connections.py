"""Connections in the store; orders no longer limited to the providers of 0001.

``connections``: customer accounts added by the admin API, a provider's event or the
settings file, with their state and a change version every process reads to pick up
changes without a restart (ordergraph/store/connections.py). No credentials: those are
per provider, in the settings.

``ck_orders_provider`` goes: a fourth provider must not need a migration to store
orders; the application's ProviderName enum validates provider names.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from ordergraph.store.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types and values in tables.py as they are at this revision.
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_LIVE = sa.text("state != 'REMOVED'")


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("overrides", _JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.CheckConstraint(
            "state IN ('ACTIVE', 'PAUSED', 'PENDING', 'REMOVED')",
            name=op.f("ck_connections_state"),
        ),
        sa.CheckConstraint(
            "origin IN ('FILE', 'API', 'PROVIDER_EVENT')", name=op.f("ck_connections_origin")
        ),
    )
    op.create_index(
        op.f("ix_connections_change_version"), "connections", ["change_version"], unique=True
    )
    op.create_index(op.f("ix_connections_tenant_id"), "connections", ["tenant", "id"])
    op.create_index(
        op.f("ix_connections_provider_account"),
        "connections",
        ["provider", "account"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )
    # Batch mode: SQLite cannot drop a constraint in place (the table is copied there).
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_provider"), type_="check")


def downgrade() -> None:
    # Fails while orders of a provider outside the three are stored, as it must.
    with op.batch_alter_table("orders") as batch:
        batch.create_check_constraint(
            op.f("ck_orders_provider"), sa.text("provider IN ('unified', 'stackone', 'kombo')")
        )
    op.drop_table("connections")
