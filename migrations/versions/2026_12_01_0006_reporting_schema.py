"""Schema `reporting`: the documented, read-only surface for accountants and dashboards.

The `kraken` tables are load targets and may change; these views and functions are the contract and
change only through a migration with a line in docs/reporting-changelog.md. Every view and column
carries a `COMMENT ON` so BI tools show it. `kraken_reader` may read (USAGE, SELECT, EXECUTE) and
write nothing.

What is materialised, and why: `ledger_daily`, the net movement per account, asset, wallet and UTC day
of the entries before `refresh_state.covered_before` (a one-row table, NULL until the first refresh:
then nothing is materialised and everything is read live, so nothing is ever missed, only slower).
Summing a 1M-entry ledger for every question takes longer than a second; the daily sums are a few
thousand rows. `balance_daily` and `balances_at` read them for the days before the boundary and the live
ledger after it, so entries loaded since the last refresh still count; a backfill of older days shows
after `refresh_reporting` runs (the nightly flow calls it after loading).

The SQL is frozen here (a migration must not change when the code does); `models/reporting.py`
declares the views' columns, and tests compare the two and the asset normalisation with
`kraken_etl/core/assets.py`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# kraken_etl.core.assets.ASSET_ALIASES as of this revision (a test keeps them in agreement).
ALIASES: dict[str, str] = {
    "XXBT": "BTC", "XBT": "BTC", "XXDG": "DOGE", "XDG": "DOGE", "XETH": "ETH", "XETC": "ETC", "XLTC": "LTC",
    "XXRP": "XRP", "XXLM": "XLM", "XXMR": "XMR", "XZEC": "ZEC", "XMLN": "MLN", "XREP": "REP", "XICN": "ICN",
    "XNMC": "NMC", "XXVN": "XVN", "ZUSD": "USD", "ZEUR": "EUR", "ZGBP": "GBP", "ZCAD": "CAD", "ZJPY": "JPY",
    "ZAUD": "AUD", "ZCHF": "CHF", "ZKRW": "KRW",
}
WS = r"E' \t\n\r\f\x0b'"  # Python's str.strip() whitespace (ASCII)
# Quote currencies recognised at the end of a pair key when kraken.asset_pair is not loaded, by length.
QUOTES: dict[int, tuple[str, ...]] = {
    5: ("PYUSD",),
    4: ("ZUSD", "ZEUR", "ZGBP", "ZCAD", "ZJPY", "ZAUD", "ZCHF", "XXBT", "XETH", "USDT", "USDC"),
    3: ("DAI", "USD", "EUR", "GBP", "CAD", "JPY", "AUD", "CHF", "XBT", "ETH", "DOT"),
}


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# Every function is one expression of plain string operations (no regular expression), so PostgreSQL inlines
# it into the calling query when its argument is a column: no per-row function call.
_ALIAS_CASE = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in ALIASES.items())
_QUOTE_LEN = " ".join(
    f"WHEN length(pair) > {n} AND right(pair, {n}) IN {_in(q)} THEN {n}" for n, q in QUOTES.items()
)
_T = f"btrim(code, {WS})"
FUNCTIONS = [
    # split_suffix: .HOLD, then .S .M .B .F .T .P, case-insensitive, with at least one character before
    f"""
    CREATE FUNCTION reporting.asset_suffix_length(code text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN strpos(code, '.') = 0 THEN 0
                WHEN length({_T}) > 5 AND upper(right({_T}, 5)) = '.HOLD' THEN 5
                WHEN length({_T}) > 2 AND upper(right({_T}, 2)) IN ('.S', '.M', '.B', '.F', '.T', '.P') THEN 2
                WHEN code IS NOT NULL THEN 0 END
    """,
    f"""
    CREATE FUNCTION reporting.asset_base_code(code text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN left({_T}, length({_T}) - reporting.asset_suffix_length(code))
    """,
    f"""
    CREATE FUNCTION reporting.asset_suffix(code text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN right({_T}, reporting.asset_suffix_length(code))
    """,
    """
    CREATE FUNCTION reporting.normalize_asset(code text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(CASE reporting.asset_base_code(code) """ + _ALIAS_CASE + """ END, reporting.asset_base_code(code))
        || reporting.asset_suffix(code)
    """,
    f"""
    CREATE FUNCTION reporting.pair_quote_length(pair text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE {_QUOTE_LEN} END
    """,
    """
    CREATE FUNCTION reporting.pair_base(pair text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN pair LIKE '%_/_%' THEN split_part(pair, '/', 1)
                WHEN strpos(pair, '/') = 0 THEN left(pair, -reporting.pair_quote_length(pair)) END
    """,
    """
    CREATE FUNCTION reporting.pair_quote(pair text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN pair LIKE '%_/_%' THEN split_part(pair, '/', 2)
                WHEN strpos(pair, '/') = 0 THEN right(pair, reporting.pair_quote_length(pair)) END
    """,
    """
    CREATE FUNCTION reporting.split_pair(pair text, OUT base text, OUT quote text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT reporting.pair_base(pair), reporting.pair_quote(pair)
    $$
    """,
]

LEDGER = """
CREATE VIEW reporting.ledger AS
SELECT l.account, l.ledger_id, l.refid, l.time, l.time_raw, l.type, l.subtype, l.aclass, l.subclass,
       reporting.normalize_asset(l.asset) AS asset, l.asset AS asset_code,
       reporting.asset_suffix(l.asset) AS asset_suffix,
       coalesce(l.wallet_resolved, l.wallet) AS wallet,
       coalesce(l.wallet_source, CASE WHEN l.wallet IS NOT NULL THEN 'export' END) AS wallet_source,
       l.amount, l.fee, l.amount - l.fee AS net, l.balance,
       t.txid AS trade_txid, t.ordertxid AS order_txid, l.source
FROM kraken.ledger_entry l
LEFT JOIN kraken.trade t ON t.account = l.account AND t.txid = l.refid
"""

REFRESH_STATE = """
CREATE TABLE reporting.refresh_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    covered_before timestamptz,
    refreshed_at timestamptz
)
"""

LEDGER_DAILY = """
CREATE MATERIALIZED VIEW reporting.ledger_daily AS
WITH by_code AS (
    SELECT account, asset, coalesce(wallet_resolved, wallet, '') AS wallet_key,
           (time AT TIME ZONE 'UTC')::date AS day,
           sum(amount) AS amount, sum(fee) AS fee, count(*) AS entries
    FROM kraken.ledger_entry
    WHERE time < (SELECT coalesce(covered_before, '-infinity') FROM reporting.refresh_state)
    GROUP BY 1, 2, 3, 4
)
SELECT account, reporting.normalize_asset(asset) AS asset, wallet_key, day,
       sum(amount) AS amount, sum(fee) AS fee, sum(amount) - sum(fee) AS net, sum(entries)::bigint AS entries
FROM by_code
GROUP BY 1, 2, 3, 4
"""

# Daily movements: materialised days, then live entries from the boundary on (a scalar subquery, so the
# planner sees one value and uses the (account, time) index).
_MOVES = """
    SELECT d.account, d.asset, d.wallet_key, d.day, d.net, d.entries
    FROM reporting.ledger_daily d
    UNION ALL
    SELECT l.account, reporting.normalize_asset(l.asset), coalesce(l.wallet_resolved, l.wallet, ''),
           (l.time AT TIME ZONE 'UTC')::date, l.amount - l.fee, 1
    FROM kraken.ledger_entry l
    WHERE l.time >= (SELECT coalesce(r.covered_before, '-infinity') FROM reporting.refresh_state r)
      AND l.time < 'infinity'  -- a no-op bound that makes this a range: the planner then expects few rows
"""

# One pass: the running sum per (account, asset, wallet) on the days with movements, each row then spread
# over the days until the next movement (or today). Filters on account/asset push down to the daily sums.
BALANCE_DAILY = f"""
CREATE VIEW reporting.balance_daily AS
WITH moves AS ({_MOVES}),
per_day AS (
    SELECT account, asset, wallet_key, day, sum(net) AS net, sum(entries)::bigint AS entries
    FROM moves GROUP BY 1, 2, 3, 4
),
running AS (
    SELECT account, asset, wallet_key, day, net, entries,
           sum(net) OVER w AS balance, lead(day) OVER w AS next_day
    FROM per_day
    WINDOW w AS (PARTITION BY account, asset, wallet_key ORDER BY day)
)
SELECT r.account, r.asset, reporting.asset_base_code(r.asset) AS base_asset, nullif(r.wallet_key, '') AS wallet,
       g.day::date AS day, r.balance,
       CASE WHEN g.day = r.day THEN r.net ELSE 0 END AS net_change,
       CASE WHEN g.day = r.day THEN r.entries ELSE 0 END AS entries
FROM running r,
     generate_series(r.day, coalesce(r.next_day - 1, greatest(r.day, (now() AT TIME ZONE 'UTC')::date)),
                     interval '1 day') AS g(day)
"""

BALANCES_AT = """
CREATE FUNCTION reporting.balances_at(ts timestamptz, account_label text DEFAULT NULL)
RETURNS TABLE (account text, asset text, wallet text, balance numeric, entries bigint, last_entry_day date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH moves AS (
        SELECT d.account, d.asset, d.wallet_key, d.net, d.entries, d.day
        FROM reporting.ledger_daily d
        WHERE d.day < (SELECT least(coalesce(r.covered_before, '-infinity'), date_trunc('day', ts, 'UTC'))
                              AT TIME ZONE 'UTC'
                       FROM reporting.refresh_state r)::date
          AND (account_label IS NULL OR d.account = account_label)
        UNION ALL
        SELECT l.account, reporting.normalize_asset(l.asset), coalesce(l.wallet_resolved, l.wallet, ''),
               l.amount - l.fee, 1, (l.time AT TIME ZONE 'UTC')::date
        FROM kraken.ledger_entry l
        WHERE l.time >= (SELECT least(coalesce(r.covered_before, '-infinity'), date_trunc('day', ts, 'UTC'))
                         FROM reporting.refresh_state r)
          AND l.time <= ts
          AND (account_label IS NULL OR l.account = account_label)
    )
    SELECT m.account, m.asset, nullif(m.wallet_key, ''), sum(m.net), sum(m.entries)::bigint, max(m.day)
    FROM moves m
    GROUP BY m.account, m.asset, m.wallet_key
    ORDER BY 1, 2, 3
$$
"""

# Base and quote are worked out once per distinct pair (a handful), not once per fill.
TRADE = """
CREATE VIEW reporting.trade AS
WITH pairs AS MATERIALIZED (  -- computed once per query, before the join
    SELECT d.pair, c.base_code, c.quote_code,
           reporting.normalize_asset(c.base_code) AS base, reporting.normalize_asset(c.quote_code) AS quote
    FROM (SELECT DISTINCT pair FROM kraken.trade) d
    LEFT JOIN kraken.asset_pair p ON p.pair = d.pair
    CROSS JOIN LATERAL (SELECT coalesce(p.base, reporting.pair_base(d.pair)) AS base_code,
                               coalesce(p.quote, reporting.pair_quote(d.pair)) AS quote_code) c
)
SELECT t.account, t.txid, t.time, t.pair, pr.base, pr.quote, pr.base_code, pr.quote_code,
       t.type AS side, t.ordertype, t.price, t.vol, t.cost, t.fee, t.maker,
       t.ordertxid AS order_txid, o.status AS order_status,
       coalesce(t.ledgers, ARRAY(SELECT l.ledger_id FROM kraken.ledger_entry l
                                 WHERE l.account = t.account AND l.refid = t.txid ORDER BY l.ledger_id))
           AS ledger_ids,
       t.source
FROM kraken.trade t
JOIN pairs pr ON pr.pair = t.pair
LEFT JOIN kraken.closed_order o ON o.account = t.account AND o.txid = t.ordertxid
"""

FEES_MONTHLY = """
CREATE VIEW reporting.fees_monthly AS
WITH by_code AS (
    SELECT l.account, date_trunc('month', l.time AT TIME ZONE 'UTC')::date AS month, l.asset,
           sum(l.fee) AS fees,
           sum(l.fee) FILTER (WHERE l.type = 'trade') AS trade_fees,
           sum(l.fee) FILTER (WHERE l.type <> 'trade') AS other_fees,
           count(*) AS entries
    FROM kraken.ledger_entry l
    WHERE l.fee <> 0
    GROUP BY 1, 2, 3
)
SELECT account, month, reporting.normalize_asset(asset) AS asset, sum(fees) AS fees,
       sum(trade_fees) AS trade_fees, sum(other_fees) AS other_fees, sum(entries)::bigint AS entries
FROM by_code
GROUP BY 1, 2, 3
"""

DEPOSITS_WITHDRAWALS = """
CREATE VIEW reporting.deposits_withdrawals AS
SELECT l.account, l.ledger_id, l.refid, l.time, l.type, l.subtype,
       reporting.normalize_asset(l.asset) AS asset, l.asset AS asset_code,
       coalesce(l.wallet_resolved, l.wallet) AS wallet,
       l.amount, l.fee, l.amount - l.fee AS net
FROM kraken.ledger_entry l
WHERE l.type IN ('deposit', 'withdrawal')
"""

EARN_REWARDS = """
CREATE VIEW reporting.earn_rewards AS
WITH by_code AS (
    SELECT l.account, date_trunc('month', l.time AT TIME ZONE 'UTC')::date AS month, l.asset,
           CASE WHEN l.type = 'staking' THEN 'staking' ELSE 'earn' END AS kind,
           sum(l.amount) AS rewards, sum(l.fee) AS fees, count(*) AS entries
    FROM kraken.ledger_entry l
    WHERE l.type = 'staking' OR (l.type = 'earn' AND l.subtype = 'reward')
    GROUP BY 1, 2, 3, 4
)
SELECT account, month, reporting.normalize_asset(asset) AS asset,
       reporting.normalize_asset(reporting.asset_base_code(asset)) AS base_asset, kind,
       sum(rewards) AS rewards, sum(fees) AS fees, sum(rewards) - sum(fees) AS net, sum(entries)::bigint AS entries
FROM by_code
GROUP BY 1, 2, 3, 4, 5
"""

RECONCILIATION_LATEST = """
CREATE VIEW reporting.reconciliation_latest AS
WITH latest AS (
    SELECT DISTINCT ON (r.account) r.*
    FROM kraken.reconciliation_run r
    ORDER BY r.account, r.started_at DESC, r.id DESC
),
open_findings AS (
    SELECT f.account,
           count(*) FILTER (WHERE f.severity = 'break') AS open_breaks,
           count(*) FILTER (WHERE f.severity = 'warning') AS open_warnings,
           count(*) FILTER (WHERE f.severity = 'info') AS open_info,
           count(*) FILTER (WHERE f.acknowledged_at IS NOT NULL) AS acknowledged
    FROM kraken.reconciliation_finding f
    WHERE f.status = 'open'
    GROUP BY f.account
)
SELECT l.account, l.id AS run_id, l.as_of, l.started_at, l.finished_at, l.status, l.checks, l.incremental,
       l.rows_examined, l.duration_seconds, l.findings AS run_findings, l.breaks AS run_breaks, l.error,
       coalesce(o.open_breaks, 0) AS open_breaks, coalesce(o.open_warnings, 0) AS open_warnings,
       coalesce(o.open_info, 0) AS open_info, coalesce(o.acknowledged, 0) AS acknowledged
FROM latest l
LEFT JOIN open_findings o ON o.account = l.account
"""

OPEN_FINDINGS = """
CREATE VIEW reporting.reconciliation_open_findings AS
SELECT f.account, f.id AS finding_id, f.check_name, f.kind, f.severity,
       reporting.normalize_asset(f.asset) AS asset, f.wallet, f.expected, f.actual, f.difference,
       f.source_ids, f.message, f.first_seen_at, f.last_seen_at, f.last_seen_run_id,
       f.acknowledged_at, f.ack_note
FROM kraken.reconciliation_finding f
WHERE f.status = 'open'
"""

SYNC_HEALTH = """
CREATE VIEW reporting.sync_health AS
WITH streams AS (
    SELECT account, stream FROM kraken.sync_run
    UNION SELECT account, stream FROM kraken.sync_state
    UNION SELECT account, stream FROM kraken.quarantine
),
last_ok AS (
    SELECT DISTINCT ON (account, stream) account, stream, id, kind, finished_at
    FROM kraken.sync_run WHERE status = 'ok'
    ORDER BY account, stream, finished_at DESC NULLS LAST, id DESC
),
last_any AS (
    SELECT DISTINCT ON (account, stream) account, stream, status, started_at, error
    FROM kraken.sync_run
    ORDER BY account, stream, started_at DESC, id DESC
),
quarantined AS (
    SELECT account, stream, count(*) AS open_quarantine
    FROM kraken.quarantine WHERE resolved_at IS NULL GROUP BY 1, 2
)
SELECT s.account, s.stream, o.finished_at AS last_success_at, o.kind AS last_success_kind,
       now() - o.finished_at AS age,
       round(extract(epoch FROM now() - o.finished_at), 0)::bigint AS age_seconds,
       a.status AS last_run_status, a.started_at AS last_run_at, a.error AS last_error,
       st.bookmark, coalesce(q.open_quarantine, 0) AS open_quarantine
FROM streams s
LEFT JOIN last_ok o ON o.account = s.account AND o.stream = s.stream
LEFT JOIN last_any a ON a.account = s.account AND a.stream = s.stream
LEFT JOIN kraken.sync_state st ON st.account = s.account AND st.stream = s.stream
LEFT JOIN quarantined q ON q.account = s.account AND q.stream = s.stream
"""

COMMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "ledger": (
        "One row per ledger movement (kraken.ledger_entry) with the asset normalised and the wallet resolved.",
        {
            "account": "Account label given in the settings",
            "ledger_id": "Kraken ledger id (unique per account)",
            "refid": "Kraken reference id linking the legs of one event (for a trade: the trade txid)",
            "time": "When the movement happened (UTC)",
            "time_raw": "Kraken's time value in unix seconds, exact",
            "type": "Kraken ledger type as sent (trade, deposit, withdrawal, transfer, staking, earn, ...)",
            "subtype": "Kraken ledger subtype as sent (may be empty)",
            "aclass": "Kraken asset class (currency)",
            "subclass": "Kraken asset subclass (fiat, crypto, stable_coin) where known",
            "asset": "Normalised asset code: XXBT -> BTC, ZUSD -> USD, suffix kept (DOT.S)",
            "asset_code": "Kraken's asset code as sent (XXBT, ZUSD, DOT.S)",
            "asset_suffix": "Kraken's asset suffix, a wallet hint: .S staked, .M opt-in rewards, .B bonded, "
                            ".F flexible, .T tokenized, .P parachain, .HOLD held fiat; empty when none",
            "wallet": "Wallet (e.g. 'spot / main'): the one reconciliation assigned, else the one Kraken wrote "
                      "in an export; NULL when unknown (REST rows before wallet assignment)",
            "wallet_source": "How the wallet is known: export, suffix, listener, continuity, unknown; NULL if none",
            "amount": "Amount moved (NUMERIC, exact; negative for debits)",
            "fee": "Fee charged on this movement, in the same asset",
            "net": "amount - fee: the change of the balance",
            "balance": "Balance of the asset in its wallet after this movement, as Kraken reported it",
            "trade_txid": "The trade this movement belongs to (NULL if not a trade leg or the trade is not loaded)",
            "order_txid": "The order of that trade",
            "source": "Where the stored values came from (rest, export, import, ws)",
        },
    ),
    "ledger_daily": (
        "Materialised: net movement per account, normalised asset, wallet and UTC day, for days before "
        "reporting.refresh_state.covered_before. Refreshed by refresh_reporting (nightly flow).",
        {
            "account": "Account label",
            "asset": "Normalised asset code (suffix kept)",
            "wallet_key": "Wallet, or '' when unknown",
            "day": "UTC calendar day",
            "amount": "Sum of amounts that day",
            "fee": "Sum of fees that day",
            "net": "Sum of amount - fee that day",
            "entries": "Ledger entries that day",
        },
    ),
    "refresh_state": (
        "One row: the boundary of the materialised daily sums (written by refresh_reporting only).",
        {
            "singleton": "Always true (the table holds one row)",
            "covered_before": "ledger_daily covers entries strictly before this instant (a UTC midnight; "
                              "NULL before the first refresh: nothing materialised, all read live)",
            "refreshed_at": "When refresh_reporting last ran (NULL before the first refresh)",
        },
    ),
    "balance_daily": (
        "End-of-day (UTC) balance per account, asset and wallet, every day from the first entry to today; "
        "days without movement carry the balance forward. Balance = running sum of amount - fee from the "
        "account's first loaded entry.",
        {
            "account": "Account label",
            "asset": "Normalised asset code (suffix kept: DOT.S separate from DOT)",
            "base_asset": "Asset without its suffix (DOT for DOT.S)",
            "wallet": "Wallet, NULL when not known (then the balance covers every wallet of the asset)",
            "day": "UTC calendar day; the balance is as of the end of it (entries before the next midnight)",
            "balance": "Balance at the end of the day",
            "net_change": "Net movement during the day (amount - fee)",
            "entries": "Ledger entries during the day",
        },
    ),
    "trade": (
        "One row per fill (kraken.trade) with base and quote split from the pair, the order and the ledger legs.",
        {
            "account": "Account label",
            "txid": "Kraken trade id",
            "time": "When the fill happened (UTC)",
            "pair": "Kraken pair as sent (XXBTZUSD)",
            "base": "Normalised base asset (BTC)",
            "quote": "Normalised quote asset (USD)",
            "base_code": "Kraken base asset code (kraken.asset_pair when loaded, else split from the pair)",
            "quote_code": "Kraken quote asset code",
            "side": "buy or sell",
            "ordertype": "Order type (limit, market, ...)",
            "price": "Price in the quote asset",
            "vol": "Volume in the base asset",
            "cost": "Cost in the quote asset (price x vol)",
            "fee": "Fee as Kraken states it on the trade (quote asset); the ledger legs show the real debit",
            "maker": "True when the fill was a maker fill",
            "order_txid": "The order the fill belongs to",
            "order_status": "Status of that order (closed, canceled, expired) when loaded",
            "ledger_ids": "Ledger ids of the trade's legs",
            "source": "Where the stored values came from (rest, export, import)",
        },
    ),
    "fees_monthly": (
        "Fees really debited (from the ledger) per account, UTC month and normalised asset.",
        {
            "account": "Account label",
            "month": "First day of the UTC month",
            "asset": "Normalised asset the fee was paid in",
            "fees": "Total fees",
            "trade_fees": "Fees on trade legs (NULL when none)",
            "other_fees": "Fees on other movements: deposits, withdrawals, rewards (NULL when none)",
            "entries": "Ledger entries with a fee",
        },
    ),
    "deposits_withdrawals": (
        "Deposits and withdrawals, one row per ledger movement.",
        {
            "account": "Account label",
            "ledger_id": "Kraken ledger id",
            "refid": "Kraken reference id (Kraken rewrote these in Dec 2024: do not deduplicate on it)",
            "time": "When (UTC)",
            "type": "deposit or withdrawal",
            "subtype": "Kraken subtype as sent",
            "asset": "Normalised asset",
            "asset_code": "Kraken's asset code",
            "wallet": "Wallet when known",
            "amount": "Amount (positive deposit, negative withdrawal)",
            "fee": "Fee",
            "net": "amount - fee",
        },
    ),
    "earn_rewards": (
        "Staking and earn income per account, UTC month, asset and kind.",
        {
            "account": "Account label",
            "month": "First day of the UTC month",
            "asset": "Normalised asset the reward was paid in (suffix kept: DOT.S)",
            "base_asset": "The asset without its suffix (DOT)",
            "kind": "staking (ledger type staking) or earn (type earn, subtype reward)",
            "rewards": "Sum of reward amounts",
            "fees": "Sum of fees on the rewards",
            "net": "rewards - fees",
            "entries": "Reward entries",
        },
    ),
    "reconciliation_latest": (
        "The latest reconciliation run per account and the findings still open.",
        {
            "account": "Account label",
            "run_id": "Id of the latest run",
            "as_of": "The moment the run reconciled to",
            "started_at": "When the run started",
            "finished_at": "When it finished (NULL if it did not)",
            "status": "Run status",
            "checks": "Checks the run ran",
            "incremental": "True when the run examined only new rows",
            "rows_examined": "Rows examined",
            "duration_seconds": "Run time in seconds",
            "run_findings": "Findings the run reported",
            "run_breaks": "Breaks the run reported",
            "error": "Error of the run, if it failed",
            "open_breaks": "Open findings of severity break (all runs)",
            "open_warnings": "Open findings of severity warning",
            "open_info": "Open findings of severity info",
            "acknowledged": "Open findings an accountant acknowledged",
        },
    ),
    "reconciliation_open_findings": (
        "Reconciliation findings still open, one row each.",
        {
            "account": "Account label",
            "finding_id": "Finding id",
            "check_name": "Check that found it",
            "kind": "Kind of finding",
            "severity": "break, warning or info",
            "asset": "Normalised asset concerned",
            "wallet": "Wallet concerned",
            "expected": "Expected value",
            "actual": "Actual value",
            "difference": "actual - expected",
            "source_ids": "Ids of the rows concerned",
            "message": "What is wrong, in one line",
            "first_seen_at": "First seen",
            "last_seen_at": "Last seen",
            "last_seen_run_id": "Last run that saw it",
            "acknowledged_at": "When an accountant acknowledged it (NULL if not)",
            "ack_note": "The acknowledgement note",
        },
    ),
    "sync_health": (
        "Freshness per account and stream: last successful load, its age, the last run and open quarantine.",
        {
            "account": "Account label",
            "stream": "Stream (ledgers, trades, closed_orders, order_amends, balances, ...)",
            "last_success_at": "When the last successful run finished (NULL if none)",
            "last_success_kind": "Kind of that run (sync, backfill, export, import)",
            "age": "Time since the last success",
            "age_seconds": "The same in whole seconds",
            "last_run_status": "Status of the latest run (ok or failed)",
            "last_run_at": "When the latest run started",
            "last_error": "Error of the latest run, if it failed",
            "bookmark": "Incremental bookmark of the stream (sync_state)",
            "open_quarantine": "Quarantined records not yet resolved",
        },
    ),
}

FUNCTION_COMMENTS = {
    "balances_at(timestamptz, text)":
        "Balance per account, normalised asset and wallet at the moment ts (entries with time <= ts); "
        "optional account label. Columns: account, asset, wallet (NULL = not known), balance "
        "(running sum of amount - fee), entries, last_entry_day.",
    "normalize_asset(text)": "Kraken asset code to the common code, suffix kept: XXBT -> BTC, XBT.M -> BTC.M",
    "asset_base_code(text)": "Kraken asset code without its suffix: DOT.S -> DOT",
    "asset_suffix(text)": "Kraken asset suffix (.S, .M, .B, .F, .T, .P, .HOLD) or ''",
    "asset_suffix_length(text)": "Length of the Kraken asset suffix (5 for .HOLD, 2 for .S and the others, else 0)",
    "split_pair(text)": "Kraken pair to (base, quote) Kraken codes when kraken.asset_pair is not loaded",
    "pair_base(text)": "Kraken pair to its base asset code (XXBTZUSD -> XXBT, XBT/USD -> XBT); NULL if unknown",
    "pair_quote(text)": "Kraken pair to its quote asset code (XXBTZUSD -> ZUSD); NULL if unknown",
    "pair_quote_length(text)": "Length of the known quote code ending a pair key, NULL if none",
}

VIEWS = [LEDGER, REFRESH_STATE, LEDGER_DAILY, BALANCE_DAILY, TRADE, FEES_MONTHLY, DEPOSITS_WITHDRAWALS,
         EARN_REWARDS, RECONCILIATION_LATEST, OPEN_FINDINGS, SYNC_HEALTH]
MATERIALISED = ("ledger_daily",)
TABLES = ("refresh_state",)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    op.execute("CREATE SCHEMA reporting")
    op.execute("COMMENT ON SCHEMA reporting IS " + _quote(
        "kraken-etl reporting contract: views for accountants and dashboards (see docs/sql-guide.md)"))
    for statement in FUNCTIONS:
        op.execute(statement)
    op.execute(LEDGER)
    op.execute(REFRESH_STATE)
    op.execute("INSERT INTO reporting.refresh_state DEFAULT VALUES")
    op.execute(LEDGER_DAILY)
    op.execute("CREATE UNIQUE INDEX ledger_daily_key ON reporting.ledger_daily (account, asset, wallet_key, day)")
    op.execute(BALANCES_AT)
    for statement in VIEWS[3:]:
        op.execute(statement)
    for view, (comment, columns) in COMMENTS.items():
        kind = "MATERIALIZED VIEW" if view in MATERIALISED else "TABLE" if view in TABLES else "VIEW"
        op.execute(f"COMMENT ON {kind} reporting.{view} IS {_quote(comment)}")
        for column, text in columns.items():
            op.execute(f"COMMENT ON COLUMN reporting.{view}.{column} IS {_quote(text)}")
    for signature, text in FUNCTION_COMMENTS.items():
        op.execute(f"COMMENT ON FUNCTION reporting.{signature} IS {_quote(text)}")
    op.execute("GRANT USAGE ON SCHEMA reporting TO kraken_reader")
    op.execute("GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO kraken_reader")
    op.execute("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reporting TO kraken_reader")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO kraken_reader")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT EXECUTE ON FUNCTIONS TO kraken_reader")


def downgrade() -> None:
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA reporting REVOKE EXECUTE ON FUNCTIONS FROM kraken_reader")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA reporting REVOKE SELECT ON TABLES FROM kraken_reader")
    op.execute("DROP SCHEMA reporting CASCADE")
