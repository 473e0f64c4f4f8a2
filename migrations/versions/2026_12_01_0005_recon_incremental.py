"""Reconciliation at scale: a watermark per run and the indexes the checks walk.

- `reconciliation_run.watermark`: where the next incremental run starts looking for changed rows (now,
  or the start of the oldest transaction still open when the run read).
- `ledger_entry (account, asset, wallet_resolved, time)`: the balance chain's order, and each chain's last
  row at a snapshot; `(account, updated_at)`: rows changed since a watermark; a partial index on rows no
  wallet rule has placed yet.
- `trade (account, updated_at)`, `closed_order (account, updated_at)`: the same for trades and orders.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reconciliation_run", sa.Column("watermark", sa.TIMESTAMP(timezone=True), nullable=True),
                  schema="kraken")
    op.create_index(op.f("ix_ledger_entry_account_asset_wallet_resolved_time"), "ledger_entry",
                    ["account", "asset", "wallet_resolved", "time"], schema="kraken")
    op.create_index(op.f("ix_ledger_entry_account_updated_at"), "ledger_entry", ["account", "updated_at"],
                    schema="kraken")
    op.create_index(op.f("ix_ledger_entry_account_asset"), "ledger_entry", ["account", "asset"],
                    schema="kraken", postgresql_where=sa.text("wallet_resolved IS NULL"))
    op.create_index(op.f("ix_trade_account_updated_at"), "trade", ["account", "updated_at"], schema="kraken")
    op.create_index(op.f("ix_closed_order_account_updated_at"), "closed_order", ["account", "updated_at"],
                    schema="kraken")


def downgrade() -> None:
    op.drop_index(op.f("ix_closed_order_account_updated_at"), "closed_order", schema="kraken")
    op.drop_index(op.f("ix_trade_account_updated_at"), "trade", schema="kraken")
    op.drop_index(op.f("ix_ledger_entry_account_asset"), "ledger_entry", schema="kraken")
    op.drop_index(op.f("ix_ledger_entry_account_updated_at"), "ledger_entry", schema="kraken")
    op.drop_index(op.f("ix_ledger_entry_account_asset_wallet_resolved_time"), "ledger_entry", schema="kraken")
    op.drop_column("reconciliation_run", "watermark", schema="kraken")
