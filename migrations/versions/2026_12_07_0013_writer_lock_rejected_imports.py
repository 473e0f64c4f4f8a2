"""writer_lock_rejected_imports: an account lock only the writing role can take; rejected file imports
kept apart from the run log.

- `account_lock` (one row per account label): the per-account lock is a row lock on its row
  (``SELECT … FOR UPDATE NOWAIT``), which PostgreSQL grants only to a role with UPDATE on the table; the
  read-only `kraken_reader` has SELECT only, so it can no longer lock writers out (an advisory lock is open
  to every role).
- `account_lock_holder`: who holds it (session pid and start, purpose, host), written by the holder;
  `status` and a busy run read it instead of a client-chosen `application_name`.
- `rejected_import`: a file `import` refused as a whole (not a Kraken export, corrupt, unknown layout).
  Such a file used to be logged as a failed `sync_run` of stream ``unknown``, which the freshness view
  showed as failed forever; those rows move here.
- an index on (account, lower(key)) of `ledger_entry` and `trade`: the loader refuses a look-alike of a
  stored id (the same id in another case) with one probe per staged row, set-based per batch.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_lock",
        sa.Column("account", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_account_lock")),
        schema="kraken",
    )
    op.create_table(
        "account_lock_holder",
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("pid", sa.BigInteger(), nullable=False),
        sa.Column("backend_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("since", sa.TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_account_lock_holder")),
        schema="kraken",
    )
    op.create_table(
        "rejected_import",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("rejected_at", sa.TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_import")),
        schema="kraken",
    )
    op.create_index(op.f("ix_rejected_import_account_rejected_at"), "rejected_import", ["account", "rejected_at"],
                    schema="kraken")
    op.create_index("ix_ledger_entry_account_lower_ledger_id", "ledger_entry",
                    ["account", sa.text("lower(ledger_id)")], schema="kraken")
    op.create_index("ix_trade_account_lower_txid", "trade", ["account", sa.text("lower(txid)")], schema="kraken")
    # The reader keeps SELECT (default privileges) and nothing more: no row lock, no write.
    op.execute("REVOKE UPDATE, INSERT, DELETE, TRUNCATE ON kraken.account_lock, kraken.account_lock_holder "
               "FROM kraken_reader")
    op.execute(
        "INSERT INTO kraken.rejected_import (account, file_name, error, rejected_at) "
        "SELECT account, 'unknown file', coalesce(error, 'rejected'), started_at FROM kraken.sync_run "
        "WHERE kind = 'import' AND stream = 'unknown' AND status = 'failed'"
    )
    op.execute("DELETE FROM kraken.sync_run WHERE kind = 'import' AND stream = 'unknown' AND status = 'failed'")


def downgrade() -> None:
    op.drop_index("ix_trade_account_lower_txid", table_name="trade", schema="kraken")
    op.drop_index("ix_ledger_entry_account_lower_ledger_id", table_name="ledger_entry", schema="kraken")
    op.drop_index(op.f("ix_rejected_import_account_rejected_at"), table_name="rejected_import", schema="kraken")
    op.drop_table("rejected_import", schema="kraken")
    op.drop_table("account_lock_holder", schema="kraken")
    op.drop_table("account_lock", schema="kraken")
