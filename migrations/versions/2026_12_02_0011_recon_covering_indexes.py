"""recon_covering_indexes: indexes the reconciliation checks read instead of the table (speed).

- ledger_entry (account, asset, wallet_resolved, time, ledger_id) INCLUDE (amount, fee, balance) replaces
  (account, asset, wallet_resolved, time): the balance chain's pass reads the chain in order from the index
  alone (no sort, no heap rows with their JSONB `raw`).
- ledger_entry (account, refid) INCLUDE (ledger_id, amount, fee): trade legs by refid, index-only.
- trade (account, ordertxid) INCLUDE (vol, cost, fee): an order's trades and their sums, index-only.
- ledger_entry (account) WHERE the export wallet rule would change the row: the wallet pass of a full run
  finds the (usually no) rows to update without reading every exported row.
- ledger_entry (account, asset, time, ledger_id) WHERE wallet_source = 'unknown': the chain check's
  `wallet_unknown` warning reads only the rows it names.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXPORT_PENDING = ("wallet IS NOT NULL AND (wallet_source IS DISTINCT FROM 'export' "
                   "OR wallet_resolved IS DISTINCT FROM wallet)")


def upgrade() -> None:
    op.drop_index(op.f("ix_ledger_entry_account_asset_wallet_resolved_time"), "ledger_entry", schema="kraken")
    op.create_index(op.f("ix_ledger_entry_account_asset_wallet_resolved_time_ledger_id"), "ledger_entry",
                    ["account", "asset", "wallet_resolved", "time", "ledger_id"], schema="kraken",
                    postgresql_include=["amount", "fee", "balance"])
    op.drop_index(op.f("ix_ledger_entry_account_refid"), "ledger_entry", schema="kraken")
    op.create_index(op.f("ix_ledger_entry_account_refid"), "ledger_entry", ["account", "refid"], schema="kraken",
                    postgresql_include=["ledger_id", "amount", "fee"])
    op.drop_index(op.f("ix_trade_account_ordertxid"), "trade", schema="kraken")
    op.create_index(op.f("ix_trade_account_ordertxid"), "trade", ["account", "ordertxid"], schema="kraken",
                    postgresql_include=["vol", "cost", "fee"])
    op.create_index("ix_ledger_entry_export_wallet_pending", "ledger_entry", ["account"], schema="kraken",
                    postgresql_where=sa.text(_EXPORT_PENDING))
    op.create_index("ix_ledger_entry_wallet_unknown", "ledger_entry", ["account", "asset", "time", "ledger_id"],
                    schema="kraken", postgresql_where=sa.text("wallet_source = 'unknown'"))


def downgrade() -> None:
    op.drop_index("ix_ledger_entry_wallet_unknown", "ledger_entry", schema="kraken")
    op.drop_index("ix_ledger_entry_export_wallet_pending", "ledger_entry", schema="kraken")
    op.drop_index(op.f("ix_trade_account_ordertxid"), "trade", schema="kraken")
    op.create_index(op.f("ix_trade_account_ordertxid"), "trade", ["account", "ordertxid"], schema="kraken")
    op.drop_index(op.f("ix_ledger_entry_account_refid"), "ledger_entry", schema="kraken")
    op.create_index(op.f("ix_ledger_entry_account_refid"), "ledger_entry", ["account", "refid"], schema="kraken")
    op.drop_index(op.f("ix_ledger_entry_account_asset_wallet_resolved_time_ledger_id"), "ledger_entry",
                  schema="kraken")
    op.create_index(op.f("ix_ledger_entry_account_asset_wallet_resolved_time"), "ledger_entry",
                    ["account", "asset", "wallet_resolved", "time"], schema="kraken")
