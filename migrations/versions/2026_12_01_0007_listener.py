"""The WebSocket listener: session and gap tables, and two reporting views (intraday balances, health).

- `listener_session`: one row per `kraken-etl listen` run of an account, updated with every committed
  batch (last message, counters), so health survives a crash; `status` running | stopped | interrupted.
- `listener_gap`: every interval the WebSocket may have missed (sequence jump, disconnect, heartbeat
  silence, restart after downtime) with its REST fill (status pending | filled | failed, counts, the
  `sync_run` ids of the ledgers and trades windows).
- `reporting.intraday_balances`: per account, asset (normalised, WS tickers) and wallet, the last state the
  REST ledger holds (the nightly sync's running balance) plus the balance updates the listener saw that
  REST does not hold yet.
- `reporting.listener_health`: per account, the latest session: connected since, last message, messages
  today, gaps filled / open.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kraken's legacy ids → common codes (a frozen copy of kraken_etl.core.assets.ASSET_ALIASES, 2026-12-01).
ALIASES = {
    "XXBT": "BTC", "XBT": "BTC", "XXDG": "DOGE", "XDG": "DOGE", "XETH": "ETH", "XETC": "ETC", "XLTC": "LTC",
    "XXRP": "XRP", "XXLM": "XLM", "XXMR": "XMR", "XZEC": "ZEC", "XMLN": "MLN", "XREP": "REP", "XICN": "ICN",
    "XNMC": "NMC", "XXVN": "XVN", "ZUSD": "USD", "ZEUR": "EUR", "ZGBP": "GBP", "ZCAD": "CAD", "ZJPY": "JPY",
    "ZAUD": "AUD", "ZCHF": "CHF", "ZKRW": "KRW",
}
_VALUES = ", ".join(f"('{k}', '{v}')" for k, v in ALIASES.items())
_SUFFIX = r"\.(HOLD|S|M|B|F|T|P)$"

INTRADAY = f"""
CREATE OR REPLACE VIEW reporting.intraday_balances AS
WITH alias(kraken, code) AS (VALUES {_VALUES}),
ledger AS (
    SELECT l.account,
           COALESCE(a.code, regexp_replace(l.asset, '{_SUFFIX}', ''))
               || COALESCE(substring(l.asset from '({_SUFFIX})'), '') AS asset,
           COALESCE(l.wallet, l.wallet_resolved, w.wallet_type || ' / ' || w.wallet_id) AS wallet,
           l.ledger_id, l.time, l.balance
    FROM kraken.ledger_entry l
    LEFT JOIN alias a ON a.kraken = regexp_replace(l.asset, '{_SUFFIX}', '')
    LEFT JOIN kraken.ws_balance_update w ON w.account = l.account AND w.ledger_id = l.ledger_id
    WHERE l.balance IS NOT NULL
),
nightly AS (
    SELECT DISTINCT ON (account, asset, wallet) account, asset, wallet, balance, time AS as_of
    FROM ledger WHERE wallet IS NOT NULL
    ORDER BY account, asset, wallet, time DESC, ledger_id DESC
),
since AS (
    -- only updates after the nightly row: REST's running balance already includes everything before it
    SELECT w.account, w.asset, w.wallet_type || ' / ' || w.wallet_id AS wallet,
           sum(w.amount - w.fee) AS delta, count(*) AS updates, max(w.timestamp) AS last_update_at
    FROM kraken.ws_balance_update w
    LEFT JOIN nightly n ON n.account = w.account AND n.asset = w.asset
                       AND n.wallet = w.wallet_type || ' / ' || w.wallet_id
    WHERE NOT EXISTS (SELECT 1 FROM kraken.ledger_entry l
                      WHERE l.account = w.account AND l.ledger_id = w.ledger_id)
      AND (n.as_of IS NULL OR w.timestamp > n.as_of)
    GROUP BY 1, 2, 3
)
SELECT account, asset, wallet,
       n.balance AS nightly_balance,
       n.as_of AS nightly_as_of,
       COALESCE(s.delta, 0) AS intraday_delta,
       COALESCE(n.balance, 0) + COALESCE(s.delta, 0) AS intraday_balance,
       COALESCE(s.updates, 0) AS updates_since_nightly,
       s.last_update_at
FROM nightly n FULL JOIN since s USING (account, asset, wallet)
"""

HEALTH = """
CREATE OR REPLACE VIEW reporting.listener_health AS
WITH latest AS (
    SELECT DISTINCT ON (account) * FROM kraken.listener_session ORDER BY account, started_at DESC, id DESC
),
gaps AS (
    SELECT account, count(*) AS gaps_total,
           count(*) FILTER (WHERE status = 'filled') AS gaps_filled,
           count(*) FILTER (WHERE status <> 'filled') AS gaps_open,
           max(detected_at) AS last_gap_at
    FROM kraken.listener_gap GROUP BY account
),
midnight AS (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS at),
today AS (
    SELECT account, count(*) AS messages_today FROM (
        SELECT account FROM kraken.ws_execution, midnight WHERE timestamp >= midnight.at
        UNION ALL
        SELECT account FROM kraken.ws_balance_update, midnight WHERE timestamp >= midnight.at
    ) t GROUP BY account
)
SELECT s.account, s.id AS session_id, s.status, s.started_at,
       CASE WHEN s.status = 'running' THEN s.connected_at END AS connected_since,
       s.last_message_at,
       extract(epoch FROM now() - s.last_message_at) AS seconds_since_last_message,
       COALESCE(t.messages_today, 0) AS messages_today,
       s.messages AS session_messages, s.connects AS session_connects,
       COALESCE(g.gaps_total, 0) AS gaps_total, COALESCE(g.gaps_filled, 0) AS gaps_filled,
       COALESCE(g.gaps_open, 0) AS gaps_open, g.last_gap_at,
       (s.status = 'running' AND s.last_message_at > now() - interval '30 seconds'
        AND COALESCE(g.gaps_open, 0) = 0) AS healthy
FROM latest s
LEFT JOIN gaps g USING (account)
LEFT JOIN today t USING (account)
"""

COMMENTS = {
    "reporting.intraday_balances": (
        "Per account, asset (normalised: BTC, not XXBT) and wallet: the running balance of the newest REST "
        "ledger row (the last nightly state) plus the WebSocket balance updates after it that REST does not "
        "hold yet (amount - fee each)."
    ),
    "reporting.listener_health": (
        "Per account, the latest WebSocket listener session: connected since, last message, messages today "
        "(by event time, UTC), gaps detected / filled / open; healthy = running, a message in the last 30 s, "
        "no open gap."
    ),
}


COLUMN_COMMENTS = {
    "reporting.intraday_balances": {
        "account": "Account label.",
        "asset": "Normalised asset code (BTC, not XXBT).",
        "wallet": "Wallet (spot / main, earn / flexible, ...).",
        "nightly_balance": "Balance of the newest REST ledger row (the last nightly state).",
        "nightly_as_of": "Time of that REST ledger row.",
        "intraday_delta": "Sum of amount - fee of the WebSocket balance updates after it that REST lacks.",
        "intraday_balance": "nightly_balance + intraday_delta: the balance now.",
        "updates_since_nightly": "How many WebSocket balance updates the delta holds.",
        "last_update_at": "Time of the newest of those updates.",
    },
    "reporting.listener_health": {
        "account": "Account label.",
        "session_id": "The latest listener session.",
        "status": "running, stopped or failed.",
        "started_at": "When the session started.",
        "connected_since": "When the current WebSocket connection opened (running sessions only).",
        "last_message_at": "When the last message arrived.",
        "seconds_since_last_message": "Seconds since then.",
        "messages_today": "Executions and balance updates stored today (UTC, by event time).",
        "session_messages": "Messages the session stored.",
        "session_connects": "Connections the session opened (1 + reconnects).",
        "gaps_total": "Gaps detected (all sessions).",
        "gaps_filled": "Gaps filled from REST.",
        "gaps_open": "Gaps not filled yet.",
        "last_gap_at": "When the last gap was detected.",
        "healthy": "Running, a message in the last 30 s and no open gap.",
    },
}


def upgrade() -> None:
    op.create_table(
        "listener_session",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("started_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("connected_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("last_message_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("messages", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("executions", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("balance_updates", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("connects", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("pid", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'stopped', 'interrupted')",
                           name=op.f("ck_listener_session_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listener_session")),
        schema="kraken",
    )
    op.create_index(op.f("ix_listener_session_account_started_at"), "listener_session",
                    ["account", "started_at"], schema="kraken")
    op.create_table(
        "listener_gap",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("expected_sequence", sa.BigInteger(), nullable=True),
        sa.Column("got_sequence", sa.BigInteger(), nullable=True),
        sa.Column("detected_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("gap_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("gap_end", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("filled_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("fetched", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("inserted", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("ledgers_run_id", sa.BigInteger(), nullable=True),
        sa.Column("trades_run_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('sequence', 'disconnect', 'silence', 'restart')",
                           name=op.f("ck_listener_gap_kind")),
        sa.CheckConstraint("status IN ('pending', 'filled', 'failed')", name=op.f("ck_listener_gap_status")),
        sa.ForeignKeyConstraint(["session_id"], ["kraken.listener_session.id"], ondelete="SET NULL",
                                name=op.f("fk_listener_gap_session_id_listener_session")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listener_gap")),
        schema="kraken",
    )
    op.create_index(op.f("ix_listener_gap_account_status"), "listener_gap", ["account", "status"],
                    schema="kraken")
    op.create_index(op.f("ix_listener_gap_account_gap_start"), "listener_gap", ["account", "gap_start"],
                    schema="kraken")
    op.execute("GRANT SELECT ON kraken.listener_session, kraken.listener_gap TO kraken_reader")

    op.execute("CREATE SCHEMA IF NOT EXISTS reporting")
    op.execute("GRANT USAGE ON SCHEMA reporting TO kraken_reader")
    op.execute(INTRADAY)
    op.execute(HEALTH)
    for view, comment in COMMENTS.items():
        op.execute(sa.text(f"COMMENT ON VIEW {view} IS '{comment}'"))
        op.execute(f"GRANT SELECT ON {view} TO kraken_reader")
    for view, columns in COLUMN_COMMENTS.items():
        for column, comment in columns.items():
            op.execute(sa.text(f"COMMENT ON COLUMN {view}.{column} IS '{comment}'"))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS reporting.listener_health")
    op.execute("DROP VIEW IF EXISTS reporting.intraday_balances")
    op.drop_table("listener_gap", schema="kraken")
    op.drop_table("listener_session", schema="kraken")
