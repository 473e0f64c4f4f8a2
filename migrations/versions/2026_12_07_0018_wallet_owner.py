"""wallet_owner: wallet assignment stamps its own column; a listener lock only the writing role can take.

- `ledger_entry.wallet_at`: when wallet assignment (`kraken_etl.db.recon_wallets`, its only writer) last
  changed the row's `wallet_resolved` / `wallet_source`. Assignment no longer bumps `updated_at`, which
  now says only when the row's values from Kraken changed; the incremental balance chain re-examines rows
  whose values (`updated_at`) or wallet (`wallet_at`) changed after its watermark. The listener used to
  write wallets into `ledger_entry` itself without bumping either, so an incremental run never saw them:
  its rows (`wallet_source = 'listener'`) are stamped now, to be re-examined once.
- `listener_lock` (one row per account label): one listener per account is a row lock on its row
  (``SELECT … FOR UPDATE NOWAIT``), which needs UPDATE on the table; the read-only `kraken_reader` has
  SELECT only, so it can no longer hold a listener off (an advisory lock is open to every role).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ledger_entry", sa.Column("wallet_at", sa.TIMESTAMP(timezone=True), nullable=True),
                  schema="kraken")
    op.execute("UPDATE kraken.ledger_entry SET wallet_at = now() WHERE wallet_source = 'listener'")
    op.create_index(op.f("ix_ledger_entry_account_wallet_at"), "ledger_entry", ["account", "wallet_at"],
                    schema="kraken")
    op.create_table(
        "listener_lock",
        sa.Column("account", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_listener_lock")),
        schema="kraken",
    )
    # The reader keeps SELECT (default privileges) and nothing more: no row lock, no write.
    op.execute("REVOKE UPDATE, INSERT, DELETE, TRUNCATE ON kraken.listener_lock FROM kraken_reader")


def downgrade() -> None:
    op.drop_table("listener_lock", schema="kraken")
    op.drop_index(op.f("ix_ledger_entry_account_wallet_at"), table_name="ledger_entry", schema="kraken")
    op.drop_column("ledger_entry", "wallet_at", schema="kraken")
