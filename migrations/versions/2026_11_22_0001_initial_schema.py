"""Initial schema: every table of the mission in schema `kraken` (money NUMERIC, times timestamptz, raw JSONB).

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:56:14.412660
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS kraken")
    op.create_table(
        "asset",
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("altname", sa.Text(), nullable=True),
        sa.Column("normalized", sa.Text(), nullable=False),
        sa.Column("aclass", sa.Text(), nullable=True),
        sa.Column("decimals", sa.BigInteger(), nullable=True),
        sa.Column("display_decimals", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("asset", name=op.f("pk_asset")),
        schema="kraken",
    )
    op.create_table(
        "asset_pair",
        sa.Column("pair", sa.Text(), nullable=False),
        sa.Column("altname", sa.Text(), nullable=True),
        sa.Column("wsname", sa.Text(), nullable=True),
        sa.Column("base", sa.Text(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("pair_decimals", sa.BigInteger(), nullable=True),
        sa.Column("cost_decimals", sa.BigInteger(), nullable=True),
        sa.Column("lot_decimals", sa.BigInteger(), nullable=True),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("pair", name=op.f("pk_asset_pair")),
        schema="kraken",
    )
    op.create_table(
        "balance_snapshot",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("taken_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("wallet", sa.Text(), nullable=True),
        sa.Column("balance", sa.Numeric(), nullable=False),
        sa.Column("hold_trade", sa.Numeric(), nullable=True),
        sa.Column("credit", sa.Numeric(), nullable=True),
        sa.Column("credit_used", sa.Numeric(), nullable=True),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "source IN ('Balance', 'BalanceEx', 'ws')", name=op.f("ck_balance_snapshot_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_snapshot")),
        sa.UniqueConstraint(
            "account",
            "taken_at",
            "source",
            "asset",
            "wallet",
            name=op.f("uq_balance_snapshot_account_taken_at_source_asset_wallet"),
            postgresql_nulls_not_distinct=True,
        ),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_balance_snapshot_account_asset_taken_at"),
        "balance_snapshot",
        ["account", "asset", "taken_at"],
        unique=False,
        schema="kraken",
    )
    op.create_table(
        "closed_order",
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("txid", sa.Text(), nullable=False),
        sa.Column("refid", sa.Text(), nullable=True),
        sa.Column("userref", sa.BigInteger(), nullable=True),
        sa.Column("cl_ord_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("opentm", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("opentm_raw", sa.Numeric(), nullable=False),
        sa.Column("closetm", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("closetm_raw", sa.Numeric(), nullable=True),
        sa.Column("starttm_raw", sa.Numeric(), nullable=True),
        sa.Column("expiretm_raw", sa.Numeric(), nullable=True),
        sa.Column("pair", sa.Text(), nullable=False),
        sa.Column("side", sa.Text(), nullable=False),
        sa.Column("ordertype", sa.Text(), nullable=False),
        sa.Column("descr_price", sa.Numeric(), nullable=True),
        sa.Column("descr_price2", sa.Numeric(), nullable=True),
        sa.Column("leverage", sa.Text(), nullable=True),
        sa.Column("order_descr", sa.Text(), nullable=True),
        sa.Column("vol", sa.Numeric(), nullable=False),
        sa.Column("vol_exec", sa.Numeric(), nullable=False),
        sa.Column("cost", sa.Numeric(), nullable=False),
        sa.Column("fee", sa.Numeric(), nullable=False),
        sa.Column("price", sa.Numeric(), nullable=False),
        sa.Column("stopprice", sa.Numeric(), nullable=True),
        sa.Column("limitprice", sa.Numeric(), nullable=True),
        sa.Column("misc", sa.Text(), server_default="", nullable=False),
        sa.Column("oflags", sa.Text(), server_default="", nullable=False),
        sa.Column("trigger", sa.Text(), nullable=True),
        sa.Column("amended", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("trades", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False),
        sa.Column(
            "first_seen_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("account", "txid", name=op.f("pk_closed_order")),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_closed_order_account_closetm"),
        "closed_order",
        ["account", "closetm"],
        unique=False,
        schema="kraken",
    )
    op.create_index(
        op.f("ix_closed_order_account_opentm"),
        "closed_order",
        ["account", "opentm"],
        unique=False,
        schema="kraken",
    )
    op.create_table(
        "export_job",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kraken_id", sa.Text(), nullable=True),
        sa.Column("format", sa.Text(), server_default="CSV", nullable=False),
        sa.Column("fields", sa.Text(), server_default="all", nullable=False),
        sa.Column("starttm", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("endtm", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.Text(), nullable=True),
        sa.Column("rows_loaded", sa.BigInteger(), nullable=True),
        sa.Column("rows_quarantined", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("report IN ('ledgers', 'trades')", name=op.f("ck_export_job_report")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_job")),
        sa.UniqueConstraint("account", "description", name=op.f("uq_export_job_account_description")),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_export_job_account_report_status"),
        "export_job",
        ["account", "report", "status"],
        unique=False,
        schema="kraken",
    )
    op.create_table(
        "ledger_entry",
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("ledger_id", sa.Text(), nullable=False),
        sa.Column("refid", sa.Text(), nullable=True),
        sa.Column("time", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("time_raw", sa.Numeric(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("subtype", sa.Text(), server_default="", nullable=False),
        sa.Column("aclass", sa.Text(), server_default="currency", nullable=False),
        sa.Column("subclass", sa.Text(), nullable=True),
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("wallet", sa.Text(), nullable=True),
        sa.Column("amount", sa.Numeric(), nullable=False),
        sa.Column("fee", sa.Numeric(), nullable=False),
        sa.Column("balance", sa.Numeric(), nullable=True),
        sa.Column("flags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False),
        sa.Column(
            "first_seen_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("account", "ledger_id", name=op.f("pk_ledger_entry")),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_ledger_entry_account_asset_wallet_time"),
        "ledger_entry",
        ["account", "asset", "wallet", "time"],
        unique=False,
        schema="kraken",
    )
    op.create_index(
        op.f("ix_ledger_entry_account_refid"),
        "ledger_entry",
        ["account", "refid"],
        unique=False,
        schema="kraken",
    )
    op.create_index(
        op.f("ix_ledger_entry_account_time"),
        "ledger_entry",
        ["account", "time"],
        unique=False,
        schema="kraken",
    )
    op.create_table(
        "order_amend",
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("amend_id", sa.Text(), nullable=False),
        sa.Column("order_txid", sa.Text(), nullable=False),
        sa.Column("amend_type", sa.Text(), nullable=False),
        sa.Column("order_qty", sa.Numeric(), nullable=True),
        sa.Column("display_qty", sa.Numeric(), nullable=True),
        sa.Column("remaining_qty", sa.Numeric(), nullable=True),
        sa.Column("limit_price", sa.Numeric(), nullable=True),
        sa.Column("trigger_price", sa.Numeric(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("post_only", sa.Boolean(), nullable=True),
        sa.Column("timestamp", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("timestamp_ns", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False),
        sa.Column(
            "first_seen_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("account", "amend_id", name=op.f("pk_order_amend")),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_order_amend_account_order_txid_timestamp_ns"),
        "order_amend",
        ["account", "order_txid", "timestamp_ns"],
        unique=False,
        schema="kraken",
    )
    op.create_table(
        "reconciliation_run",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("as_of", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("started_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("finished_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("findings", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("breaks", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_run")),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_reconciliation_run_account_started_at"),
        "reconciliation_run",
        ["account", "started_at"],
        unique=False,
        schema="kraken",
    )
    op.create_table(
        "sync_run",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("window_start", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("window_end", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("started_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("finished_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("fetched", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("inserted", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("quarantined", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("calls", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("wait_seconds", sa.Numeric(), server_default=sa.text("0"), nullable=False),
        sa.Column("duration_seconds", sa.Numeric(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_run")),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_sync_run_account_stream_started_at"),
        "sync_run",
        ["account", "stream", "started_at"],
        unique=False,
        schema="kraken",
    )
    op.create_table(
        "sync_state",
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("bookmark", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("bookmark_raw", sa.Numeric(), nullable=True),
        sa.Column("state", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("account", "stream", name=op.f("pk_sync_state")),
        schema="kraken",
    )
    op.create_table(
        "trade",
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("txid", sa.Text(), nullable=False),
        sa.Column("ordertxid", sa.Text(), nullable=True),
        sa.Column("postxid", sa.Text(), nullable=True),
        sa.Column("pair", sa.Text(), nullable=False),
        sa.Column("time", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("time_raw", sa.Numeric(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("ordertype", sa.Text(), nullable=False),
        sa.Column("price", sa.Numeric(), nullable=False),
        sa.Column("cost", sa.Numeric(), nullable=False),
        sa.Column("fee", sa.Numeric(), nullable=False),
        sa.Column("vol", sa.Numeric(), nullable=False),
        sa.Column("margin", sa.Numeric(), nullable=True),
        sa.Column("leverage", sa.Text(), nullable=True),
        sa.Column("misc", sa.Text(), server_default="", nullable=False),
        sa.Column("trade_id", sa.BigInteger(), nullable=True),
        sa.Column("maker", sa.Boolean(), nullable=True),
        sa.Column("ledgers", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("flags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False),
        sa.Column(
            "first_seen_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("account", "txid", name=op.f("pk_trade")),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_trade_account_ordertxid"), "trade", ["account", "ordertxid"], unique=False, schema="kraken"
    )
    op.create_index(
        op.f("ix_trade_account_time"), "trade", ["account", "time"], unique=False, schema="kraken"
    )
    op.create_table(
        "ws_balance_update",
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("ledger_id", sa.Text(), nullable=False),
        sa.Column("ref_id", sa.Text(), nullable=True),
        sa.Column("timestamp", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("subtype", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("asset_class", sa.Text(), nullable=True),
        sa.Column("wallet_type", sa.Text(), nullable=True),
        sa.Column("wallet_id", sa.Text(), nullable=True),
        sa.Column("amount", sa.Numeric(), nullable=False),
        sa.Column("fee", sa.Numeric(), nullable=False),
        sa.Column("balance", sa.Numeric(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column(
            "received_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("account", "ledger_id", name=op.f("pk_ws_balance_update")),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_ws_balance_update_account_timestamp"),
        "ws_balance_update",
        ["account", "timestamp"],
        unique=False,
        schema="kraken",
    )
    op.create_table(
        "ws_execution",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("event_key", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("exec_id", sa.Text(), nullable=True),
        sa.Column("exec_type", sa.Text(), nullable=False),
        sa.Column("order_status", sa.Text(), nullable=True),
        sa.Column("symbol", sa.Text(), nullable=True),
        sa.Column("side", sa.Text(), nullable=True),
        sa.Column("order_qty", sa.Numeric(), nullable=True),
        sa.Column("last_qty", sa.Numeric(), nullable=True),
        sa.Column("last_price", sa.Numeric(), nullable=True),
        sa.Column("cost", sa.Numeric(), nullable=True),
        sa.Column("fee", sa.Numeric(), nullable=True),
        sa.Column("fee_asset", sa.Text(), nullable=True),
        sa.Column("liquidity_ind", sa.Text(), nullable=True),
        sa.Column("timestamp", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("is_snapshot", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "received_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ws_execution")),
        sa.UniqueConstraint("account", "event_key", name=op.f("uq_ws_execution_account_event_key")),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_ws_execution_account_order_id"),
        "ws_execution",
        ["account", "order_id"],
        unique=False,
        schema="kraken",
    )
    op.create_index(
        op.f("ix_ws_execution_account_timestamp"),
        "ws_execution",
        ["account", "timestamp"],
        unique=False,
        schema="kraken",
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("record_id", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("raw", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False),
        sa.Column("sync_run_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("resolved_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["sync_run_id"],
            ["kraken.sync_run.id"],
            name=op.f("fk_quarantine_sync_run_id_sync_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint(
            "account", "stream", "fingerprint", name=op.f("uq_quarantine_account_stream_fingerprint")
        ),
        schema="kraken",
    )
    op.create_table(
        "reconciliation_finding",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("check_name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("asset", sa.Text(), nullable=True),
        sa.Column("wallet", sa.Text(), nullable=True),
        sa.Column("expected", sa.Numeric(), nullable=True),
        sa.Column("actual", sa.Numeric(), nullable=True),
        sa.Column("difference", sa.Numeric(), nullable=True),
        sa.Column("source_ids", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["kraken.reconciliation_run.id"],
            name=op.f("fk_reconciliation_finding_run_id_reconciliation_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_finding")),
        schema="kraken",
    )
    op.create_index(
        op.f("ix_reconciliation_finding_account_kind"),
        "reconciliation_finding",
        ["account", "kind"],
        unique=False,
        schema="kraken",
    )
    op.create_index(
        op.f("ix_reconciliation_finding_run_id"),
        "reconciliation_finding",
        ["run_id"],
        unique=False,
        schema="kraken",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_reconciliation_finding_run_id"), table_name="reconciliation_finding", schema="kraken"
    )
    op.drop_index(
        op.f("ix_reconciliation_finding_account_kind"), table_name="reconciliation_finding", schema="kraken"
    )
    op.drop_table("reconciliation_finding", schema="kraken")
    op.drop_table("quarantine", schema="kraken")
    op.drop_index(op.f("ix_ws_execution_account_timestamp"), table_name="ws_execution", schema="kraken")
    op.drop_index(op.f("ix_ws_execution_account_order_id"), table_name="ws_execution", schema="kraken")
    op.drop_table("ws_execution", schema="kraken")
    op.drop_index(
        op.f("ix_ws_balance_update_account_timestamp"), table_name="ws_balance_update", schema="kraken"
    )
    op.drop_table("ws_balance_update", schema="kraken")
    op.drop_index(op.f("ix_trade_account_time"), table_name="trade", schema="kraken")
    op.drop_index(op.f("ix_trade_account_ordertxid"), table_name="trade", schema="kraken")
    op.drop_table("trade", schema="kraken")
    op.drop_table("sync_state", schema="kraken")
    op.drop_index(op.f("ix_sync_run_account_stream_started_at"), table_name="sync_run", schema="kraken")
    op.drop_table("sync_run", schema="kraken")
    op.drop_index(
        op.f("ix_reconciliation_run_account_started_at"), table_name="reconciliation_run", schema="kraken"
    )
    op.drop_table("reconciliation_run", schema="kraken")
    op.drop_index(
        op.f("ix_order_amend_account_order_txid_timestamp_ns"), table_name="order_amend", schema="kraken"
    )
    op.drop_table("order_amend", schema="kraken")
    op.drop_index(op.f("ix_ledger_entry_account_time"), table_name="ledger_entry", schema="kraken")
    op.drop_index(op.f("ix_ledger_entry_account_refid"), table_name="ledger_entry", schema="kraken")
    op.drop_index(
        op.f("ix_ledger_entry_account_asset_wallet_time"), table_name="ledger_entry", schema="kraken"
    )
    op.drop_table("ledger_entry", schema="kraken")
    op.drop_index(op.f("ix_export_job_account_report_status"), table_name="export_job", schema="kraken")
    op.drop_table("export_job", schema="kraken")
    op.drop_index(op.f("ix_closed_order_account_opentm"), table_name="closed_order", schema="kraken")
    op.drop_index(op.f("ix_closed_order_account_closetm"), table_name="closed_order", schema="kraken")
    op.drop_table("closed_order", schema="kraken")
    op.drop_index(
        op.f("ix_balance_snapshot_account_asset_taken_at"), table_name="balance_snapshot", schema="kraken"
    )
    op.drop_table("balance_snapshot", schema="kraken")
    op.drop_table("asset_pair", schema="kraken")
    op.drop_table("asset", schema="kraken")
