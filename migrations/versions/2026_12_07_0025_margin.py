"""margin: position fields of trades, `margin` of closed orders, and Kraken's open positions.

- `kraken.trade`: `posstatus`, `cprice`, `ccost`, `cfee`, `cvol`, `cmargin`, `net`, `position_trades`
  (Kraken's `trades`: the closing trades of a position), NULL on spot trades; an index on
  (account, postxid): a position's closing trades;
- `kraken.closed_order.margin`: the order was placed on margin;
- `kraken.open_position`: Kraken's OpenPositions, one row per open position per balance snapshot.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AMOUNTS = ("cprice", "ccost", "cfee", "cvol", "cmargin", "net")


def upgrade() -> None:
    op.add_column("trade", sa.Column("posstatus", sa.Text(), nullable=True), schema="kraken")
    for name in _AMOUNTS:
        op.add_column("trade", sa.Column(name, sa.Numeric(), nullable=True), schema="kraken")
    op.add_column("trade", sa.Column("position_trades", postgresql.ARRAY(sa.Text()), nullable=True), schema="kraken")
    op.add_column("closed_order", sa.Column("margin", sa.Boolean(), nullable=True), schema="kraken")
    op.create_index(op.f("ix_trade_account_postxid"), "trade", ["account", "postxid"], schema="kraken")
    op.create_table(
        "open_position",
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("taken_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("postxid", sa.Text(), nullable=False),
        sa.Column("ordertxid", sa.Text(), nullable=True),
        sa.Column("posstatus", sa.Text(), nullable=True),
        sa.Column("pair", sa.Text(), nullable=False),
        sa.Column("time", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("time_raw", sa.Numeric(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("ordertype", sa.Text(), nullable=True),
        *(sa.Column(name, sa.Numeric(), nullable=name not in ("cost", "fee", "vol"))
          for name in ("cost", "fee", "vol", "vol_closed", "margin", "value", "net")),
        sa.Column("rollovertm", sa.Text(), nullable=True),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("account", "taken_at", "postxid", name=op.f("pk_open_position")),
        schema="kraken",
    )
    op.execute("GRANT SELECT ON kraken.open_position TO kraken_reader")


def downgrade() -> None:
    op.drop_table("open_position", schema="kraken")
    op.drop_index(op.f("ix_trade_account_postxid"), table_name="trade", schema="kraken")
    op.drop_column("closed_order", "margin", schema="kraken")
    for name in ("posstatus", *_AMOUNTS, "position_trades"):
        op.drop_column("trade", name, schema="kraken")
