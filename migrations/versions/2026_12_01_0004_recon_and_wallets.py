"""Reconciliation state and resolved wallets: the schema the recon, reporting and listener work shares.

- `ledger_entry.wallet_resolved` / `wallet_source`: the wallet each row is assigned to and how it was
  known (`export` row with the same id, asset `suffix`, `listener` balance update, balance `continuity`,
  or `unknown`); `wallet` stays what Kraken wrote (NULL on REST rows).
- `reconciliation_run`: which checks ran, rows examined, duration, counts per check, incremental or full.
- `reconciliation_finding`: one row per distinct problem, keyed by a stable fingerprint (check, account,
  asset, wallet, ids); a rerun updates `last_seen_run_id` instead of adding a copy and sets `status =
  'resolved'` when the problem no longer holds; an accountant may acknowledge it with a note.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WALLET_SOURCES = "('export', 'suffix', 'listener', 'continuity', 'unknown')"


def upgrade() -> None:
    op.add_column("ledger_entry", sa.Column("wallet_resolved", sa.Text(), nullable=True), schema="kraken")
    op.add_column("ledger_entry", sa.Column("wallet_source", sa.Text(), nullable=True), schema="kraken")
    op.create_check_constraint(
        op.f("ck_ledger_entry_wallet_source"), "ledger_entry",
        f"wallet_source IS NULL OR wallet_source IN {WALLET_SOURCES}", schema="kraken",
    )

    run = "reconciliation_run"
    op.add_column(run, sa.Column("checks", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
                  schema="kraken")
    op.add_column(run, sa.Column("incremental", sa.Boolean(), server_default=sa.false(), nullable=False),
                  schema="kraken")
    op.add_column(run, sa.Column("rows_examined", sa.BigInteger(), server_default="0", nullable=False),
                  schema="kraken")
    op.add_column(run, sa.Column("duration_seconds", sa.Numeric(), nullable=True), schema="kraken")
    op.add_column(run, sa.Column("counts", postgresql.JSONB(), server_default="{}", nullable=False),
                  schema="kraken")
    op.add_column(run, sa.Column("error", sa.Text(), nullable=True), schema="kraken")

    finding = "reconciliation_finding"
    op.add_column(finding, sa.Column("fingerprint", sa.Text(), nullable=False), schema="kraken")
    op.add_column(finding, sa.Column("status", sa.Text(), server_default="open", nullable=False),
                  schema="kraken")
    op.add_column(finding, sa.Column("last_seen_run_id", sa.BigInteger(), nullable=True), schema="kraken")
    op.add_column(finding, sa.Column("first_seen_at", sa.TIMESTAMP(timezone=True),
                                     server_default=sa.func.now(), nullable=False), schema="kraken")
    op.add_column(finding, sa.Column("last_seen_at", sa.TIMESTAMP(timezone=True),
                                     server_default=sa.func.now(), nullable=False), schema="kraken")
    op.add_column(finding, sa.Column("resolved_at", sa.TIMESTAMP(timezone=True), nullable=True),
                  schema="kraken")
    op.add_column(finding, sa.Column("acknowledged_at", sa.TIMESTAMP(timezone=True), nullable=True),
                  schema="kraken")
    op.add_column(finding, sa.Column("ack_note", sa.Text(), nullable=True), schema="kraken")
    op.create_unique_constraint(op.f("uq_reconciliation_finding_account_fingerprint"), finding,
                                ["account", "fingerprint"], schema="kraken")
    op.create_check_constraint(op.f("ck_reconciliation_finding_status"), finding, "status IN ('open', 'resolved')",
                               schema="kraken")
    op.create_check_constraint(op.f("ck_reconciliation_finding_severity"), finding,
                               "severity IN ('break', 'warning', 'info')", schema="kraken")
    op.create_foreign_key(op.f("fk_reconciliation_finding_last_seen_run_id_reconciliation_run"), finding,
                          "reconciliation_run", ["last_seen_run_id"], ["id"], source_schema="kraken",
                          referent_schema="kraken", ondelete="SET NULL")
    op.create_index(op.f("ix_reconciliation_finding_account_status_check_name"), finding,
                    ["account", "status", "check_name"], schema="kraken")


def downgrade() -> None:
    finding = "reconciliation_finding"
    op.drop_index(op.f("ix_reconciliation_finding_account_status_check_name"), finding, schema="kraken")
    op.drop_constraint(op.f("fk_reconciliation_finding_last_seen_run_id_reconciliation_run"), finding,
                       schema="kraken")
    op.drop_constraint(op.f("ck_reconciliation_finding_severity"), finding, schema="kraken")
    op.drop_constraint(op.f("ck_reconciliation_finding_status"), finding, schema="kraken")
    op.drop_constraint(op.f("uq_reconciliation_finding_account_fingerprint"), finding, schema="kraken")
    for column in ("ack_note", "acknowledged_at", "resolved_at", "last_seen_at", "first_seen_at",
                   "last_seen_run_id", "status", "fingerprint"):
        op.drop_column(finding, column, schema="kraken")
    for column in ("error", "counts", "duration_seconds", "rows_examined", "incremental", "checks"):
        op.drop_column("reconciliation_run", column, schema="kraken")
    op.drop_constraint(op.f("ck_ledger_entry_wallet_source"), "ledger_entry", schema="kraken")
    op.drop_column("ledger_entry", "wallet_source", schema="kraken")
    op.drop_column("ledger_entry", "wallet_resolved", schema="kraken")
