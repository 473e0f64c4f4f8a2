"""price_route: the route `prices sync` chose for each asset and reporting currency.

- `kraken.price_route` (asset, currency, route, via, planned_at): par, a direct pair (``XXBTZEUR``), an
  inverse one (``ZEURZUSD^-1``) or a bridge through USD or BTC (``DOTUSD*ZEURZUSD^-1``, `via` USD), in the
  notation of `reporting.price_route`; `route` NULL when no listed pair prices the asset. Replaced whole by
  each `prices sync` (the plan is one for every stored account).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_route",
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("route", sa.Text(), nullable=True),
        sa.Column("via", sa.Text(), nullable=True),
        sa.Column("planned_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint("asset", "currency", name=op.f("pk_price_route")),
        schema="kraken",
    )
    op.execute("GRANT SELECT ON kraken.price_route TO kraken_reader")


def downgrade() -> None:
    op.drop_table("price_route", schema="kraken")
