"""Node id signing: the moment this store began handing out signed node ids.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from ordergraph.store.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "node_id_signing",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node_id_signing")),
    )
    # Every order already indexed was seen before now: its unsigned id keeps resolving.
    op.bulk_insert(table, [{"id": 1, "since": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("node_id_signing")
