"""Schema `reporting`: the contract for accountants and BI tools, declared as data.

The SQL lives, frozen, in the migrations that created it (``migrations/versions/*_0006_reporting_schema.py``,
then 0007, 0014, 0015, and the cost basis, journal and valuation migrations);
this module names what it must provide, so a test can compare the live schema with it (every view, every
column, in order, each with a comment) and code can refer to the names without spelling SQL. Changing a
view means a new migration, an update here and a line in docs/reporting-changelog.md.
"""

from __future__ import annotations

REPORTING_SCHEMA = "reporting"

# view -> its columns, in order
VIEWS: dict[str, tuple[str, ...]] = {
    "ledger": (
        "account", "ledger_id", "refid", "time", "time_raw", "type", "subtype", "aclass", "subclass",
        "asset", "asset_code", "asset_suffix", "wallet", "wallet_source", "amount", "fee", "net", "balance",
        "trade_txid", "order_txid", "source",
        # valuation (migration 0016)
        "currency", "price", "value", "price_time", "price_source", "price_route",
    ),
    "balance_daily": ("account", "asset", "base_asset", "wallet", "day", "balance", "net_change", "entries"),
    "trade": (
        "account", "txid", "time", "pair", "base", "quote", "base_code", "quote_code", "side", "ordertype",
        "price", "vol", "cost", "fee", "maker", "order_txid", "order_status", "ledger_ids", "source",
    ),
    "fees_monthly": (
        "account", "month", "asset", "fees", "trade_fees", "other_fees", "entries", "currency", "fees_value",
        "unpriced_entries",
    ),
    "portfolio_daily": (
        "account", "day", "asset", "balance", "currency", "price", "value", "price_time", "price_source",
        "price_route",
    ),
    "deposits_withdrawals": (
        "account", "ledger_id", "refid", "time", "type", "subtype", "asset", "asset_code", "wallet",
        "amount", "fee", "net",
    ),
    "earn_rewards": ("account", "month", "asset", "base_asset", "kind", "rewards", "fees", "net", "entries"),
    "reconciliation_latest": (
        "account", "run_id", "as_of", "started_at", "finished_at", "status", "checks", "incremental",
        "rows_examined", "duration_seconds", "run_findings", "run_breaks", "error", "open_breaks",
        "open_warnings", "open_info", "acknowledged",
    ),
    "reconciliation_open_findings": (
        "account", "finding_id", "check_name", "kind", "severity", "asset", "wallet", "expected", "actual",
        "difference", "source_ids", "message", "first_seen_at", "last_seen_at", "last_seen_run_id",
        "acknowledged_at", "ack_note", "acknowledgements",
    ),
    "reconciliation_acks": (
        "account", "finding_id", "ack_id", "acknowledged_at", "note", "finding_status", "check_name", "kind",
        "severity",
    ),
    # where each chain's stored history starts and the balance it opens with (migration 0014)
    "opening_balance": (
        "account", "asset", "asset_code", "wallet", "first_ledger_id", "first_time", "opening_balance",
        "partial_history",
    ),
    "sync_health": (
        "account", "stream", "last_success_at", "last_success_kind", "age", "age_seconds", "last_run_status",
        "last_run_at", "last_error", "bookmark", "open_quarantine",
    ),
    # the listener's views (migration 0007)
    "intraday_balances": (
        "account", "asset", "wallet", "nightly_balance", "nightly_as_of", "intraday_delta", "intraday_balance",
        "updates_since_nightly", "last_update_at",
    ),
    # double entry: every ledger entry as balanced postings (the journal migration)
    "journal": (
        "account", "txn_id", "txn_time", "txn_date", "refid", "ledger_id", "time", "type", "subtype", "posting",
        "role", "gl_account", "asset", "asset_code", "wallet", "amount", "kraken_balance",
    ),
    # the journal one row per ledger entry: its transaction, accounts and which postings it has (migration 0030)
    "journal_entry": (
        "account", "txn_id", "txn_time", "txn_date", "refid", "ledger_id", "time", "type", "subtype", "asset",
        "asset_code", "wallet", "asset_account", "amount", "fee", "kraken_balance", "counter_role",
        "counter_account", "fee_posted", "counter_posted",
    ),
    "listener_health": (
        "account", "session_id", "status", "started_at", "connected_since", "last_message_at",
        "seconds_since_last_message", "messages_today", "session_messages", "session_connects", "gaps_total",
        "gaps_filled", "gaps_open", "last_gap_at", "healthy",
    ),
    # the books (migration 0016, cost_basis)
    "disposals": (
        "entity", "method", "currency", "asset", "disposed_at", "amount", "proceeds", "cost", "fees", "gain", "rule",
        "acquired_first", "acquired_last", "holding_days", "disposal_entries", "acquisition_entries",
        "cost_assumed",
    ),
    "realised_gains": (
        "entity", "method", "currency", "year", "asset", "disposals", "amount", "proceeds", "cost", "fees", "gain",
        "has_shortfall",
    ),
    "income": ("entity", "method", "currency", "asset", "received_at", "amount", "value", "kind", "entries"),
}

# materialised views, refreshed by kraken_etl.db.reporting.refresh_reporting (in this order)
MATERIALISED: dict[str, tuple[str, ...]] = {
    "ledger_daily": ("account", "asset", "wallet_key", "day", "amount", "fee", "net", "entries"),
    "chain_start": ("account", "asset_code", "wallet_key", "first_time", "first_ledger_id", "opening_balance"),
    # after ledger_daily, whose days bound it (migration 0016)
    "price_hourly": ("asset", "currency", "hour", "price", "price_time", "price_source", "route"),
}

# tables of the schema (state of the refresh; readers may read them, only refresh_reporting writes)
TABLES: dict[str, tuple[str, ...]] = {
    "refresh_state": ("singleton", "covered_before", "refreshed_at"),
    # each account's reporting currency, written by refresh_reporting from the settings (migration 0016)
    "valuation_currency": ("account", "currency", "updated_at"),
}

# set-returning and helper functions: name -> result columns (empty for scalar functions)
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "balances_at": (
        "account", "asset", "wallet", "balance", "entries", "last_entry_day", "currency", "price", "value",
        "price_time", "price_source",
    ),
    "price_at": ("price", "price_time", "price_source", "route"),
    "rate_at": ("price", "price_time", "stale", "route"),
    "chain_opening": ("first_time", "first_ledger_id", "opening_balance"),
    "normalize_asset": (),
    "asset_base_code": (),
    "asset_suffix": (),
    "asset_suffix_length": (),
    "split_pair": ("base", "quote"),
    "pair_base": (),
    "pair_quote": (),
    "pair_quote_length": (),
    "lots_at": ("entity", "method", "currency", "asset", "quantity", "cost"),
    "unrealised_at": ("entity", "method", "currency", "asset", "quantity", "cost", "price", "price_time", "value",
                      "unrealised"),
    "journal_component": (),
    "journal_wallet_path": (),
    "journal_asset_account": (),
}
