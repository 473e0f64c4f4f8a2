"""closed_order.amends_synced_at: when an amended order's OrderAmends trail was last fetched.

The sync fetches a trail only for orders with `amended` set whose trail was never fetched
(`amends_synced_at IS NULL`) or whose row changed since (`amends_synced_at < updated_at`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "closed_order",
        sa.Column("amends_synced_at", sa.TIMESTAMP(timezone=True), nullable=True),
        schema="kraken",
    )


def downgrade() -> None:
    op.drop_column("closed_order", "amends_synced_at", schema="kraken")
