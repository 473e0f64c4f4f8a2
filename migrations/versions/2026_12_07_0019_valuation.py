"""valuation: every ledger entry, balance, fee and day of the portfolio valued in a reporting currency.

Rules (one set, two implementations kept equal by tests/db/test_valuation.py):

- A moment is priced as its UTC hour. Only candles of Kraken's whole-hour intervals (1 h, 4 h, 12 h, 1 day,
  1 week, 15 days) that start on the hour are used; within an hour every such candle contains the whole hour.
- The asset: the identity in force at that hour (`kraken.asset_identity`, matched on the normalised code so
  XBT and XXBT share one; a user's row first, then the latest `valid_from`, then the code).
- The price, first found of: par (the asset is the currency); its fixed price in the currency; its fixed
  price times the rate of the fixed currency; the rate of its pricing asset; the rates through USD, then
  through BTC (bridge: two rates multiplied, `route` names both pairs). A fresh rate before a stale one:
  fresh direct, fresh USD bridge, fresh BTC bridge, then the same order stale.
- A rate of (base, quote) at an hour: the finest candle containing the hour (a pair base/quote directly,
  else its inverse quote/base as 1 / close, route `PAIR^-1`); when none contains it, the close of the
  candle that ended last before it, flagged `stale`, for at most STALE_LIMIT after that candle ended.
  Beyond it: NULL. Prices are never invented.

Objects:
- `reporting.valuation_currency` (table, written by refresh_reporting from the settings): each account's
  reporting currency; an account without a row is valued in USD (the setting's default).
- `reporting.rate_at(base, quote, at)` and the refined `reporting.price_at(asset_code, currency, at)`:
  the rules for one moment, by index reads (live).
- `reporting.price_hourly` (materialised, refreshed with ledger_daily): the same rules for every asset of
  the materialised ledger, every hour from its first day to `refresh_state.covered_before`, and every
  reporting currency in use; NULL price rows included (an unpriced hour is a row, not a gap).
- `reporting.ledger` gains currency, price, value, price_time, price_source, price_route: the hourly series
  joined on (asset, currency, hour) for entries before the boundary (a hash join, no per-row call), price_at
  for entries after it (two branches of a UNION ALL split at the boundary).
- `reporting.balances_at(ts, account_label, currency_code)` gains currency, price, value, price_time,
  price_source (the two-argument call still works: currency_code defaults to the account's).
- `reporting.portfolio_daily`: per account, UTC day and asset, the end-of-day balance valued at the price of
  the day's last hour (now, for today).
- `reporting.fees_monthly` gains currency, fees_value and unpriced_entries (fees_value is NULL when any fee
  of the group has no price: never a partial sum).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

from models.revisions import earlier_revision

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STALE_LIMIT = "interval '7 days'"
# the lookback that finds every candle that may still give a (stale) price: the limit plus the longest candle
LOOKBACK = "interval '22 days'"
DEFAULT_CURRENCY = "USD"

# Kraken's candle intervals of whole hours (OHLC and OHLCVT files), up to MAX_INTERVAL
INTERVALS = (60, 240, 720, 1440, 10080, 21600)
# a candle usable for valuation: one of those intervals, starting on the hour
_USABLE = (f"p.interval IN {INTERVALS} AND p.start = date_trunc('hour', p.start, 'UTC')")

VALUATION_CURRENCY = f"""
CREATE TABLE reporting.valuation_currency (
    account text PRIMARY KEY,
    currency text NOT NULL CHECK (currency <> ''),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE reporting.valuation_currency IS
    'Each account''s reporting currency, written by refresh_reporting from the settings '
    '(KRAKEN_REPORTING_CURRENCY, or the account''s currency in the accounts file). An account without a '
    'row is valued in {DEFAULT_CURRENCY}.';
COMMENT ON COLUMN reporting.valuation_currency.account IS 'Account label';
COMMENT ON COLUMN reporting.valuation_currency.currency IS 'Canonical code of the currency values are in (USD, EUR)';
COMMENT ON COLUMN reporting.valuation_currency.updated_at IS 'When the settings last wrote it'
"""

# One leg for one hour: direct and inverse candles of the pair in the lookback, the containing one first
# (finest, direct before inverse, then by pair), else the one that ended last (stale), within the limit.
RATE_AT = f"""
CREATE FUNCTION reporting.rate_at(base_asset text, quote_asset text, at timestamptz,
                                  OUT price numeric, OUT price_time timestamptz, OUT stale boolean,
                                  OUT route text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH h AS (SELECT date_trunc('hour', at, 'UTC') AS hour),
    -- per interval and direction, the latest candle started at or before the hour (an index probe each): it
    -- is the one containing the hour, or the one of that interval that ended last before it
    legs AS (
        SELECT c.* FROM h, unnest(ARRAY{list(INTERVALS)}) AS iv(minutes)
        CROSS JOIN LATERAL (
            SELECT p.close AS price, p.start, p.pair AS route, p.interval, false AS inverse,
                   p.start + make_interval(mins => p.interval::int) AS finish
            FROM kraken.price p
            WHERE p.base = base_asset AND p.quote = quote_asset AND p.interval = iv.minutes
              AND p.start <= h.hour AND p.start > h.hour - {LOOKBACK}
              AND p.start = date_trunc('hour', p.start, 'UTC')
            ORDER BY p.start DESC, p.pair LIMIT 1
        ) c
        UNION ALL
        SELECT c.* FROM h, unnest(ARRAY{list(INTERVALS)}) AS iv(minutes)
        CROSS JOIN LATERAL (
            SELECT 1 / p.close AS price, p.start, p.pair || '^-1' AS route, p.interval, true AS inverse,
                   p.start + make_interval(mins => p.interval::int) AS finish
            FROM kraken.price p
            WHERE p.base = quote_asset AND p.quote = base_asset AND p.interval = iv.minutes
              AND p.start <= h.hour AND p.start > h.hour - {LOOKBACK}
              AND p.start = date_trunc('hour', p.start, 'UTC') AND p.close > 0
            ORDER BY p.start DESC, p.pair LIMIT 1
        ) c
    )
    SELECT l.price, l.start, l.finish <= h.hour, l.route
    FROM legs l, h
    WHERE l.finish > h.hour - {STALE_LIMIT}
    ORDER BY l.finish > h.hour DESC, least(l.finish, h.hour) DESC, l.interval, l.inverse, l.route
    LIMIT 1
$$
"""

# The candidates of one (identity, currency, hour), given its legs; shared by price_at and price_hourly.
# Columns of the row `i`: price_asset, canonical, fixed_price, fixed_currency, currency, hour; legs d (direct),
# f (fixed currency -> currency), u1/u2 (via USD), b1/b2 (via BTC), each (price, price_time, stale, route).
_CANDIDATES = """
    SELECT v.price, v.price_time, v.price_source, v.route
    FROM (VALUES
        (1, CASE WHEN coalesce(i.price_asset, i.canonical) = i.currency THEN 1::numeric END, i.hour, 'par', 'par'),
        (2, CASE WHEN i.fixed_currency = i.currency THEN i.fixed_price END, i.hour, 'fixed', 'fixed'),
        (3, i.fixed_price * f.price, f.price_time, CASE WHEN f.stale THEN 'stale' ELSE 'fixed' END,
            'fixed*' || f.route),
        (4, CASE WHEN NOT d.stale THEN d.price END, d.price_time, 'candle', d.route),
        (5, CASE WHEN NOT (u1.stale OR u2.stale) THEN u1.price * u2.price END, least(u1.price_time, u2.price_time),
            'bridge', u1.route || '*' || u2.route),
        (6, CASE WHEN NOT (b1.stale OR b2.stale) THEN b1.price * b2.price END, least(b1.price_time, b2.price_time),
            'bridge', b1.route || '*' || b2.route),
        (7, d.price, d.price_time, 'stale', d.route),
        (8, u1.price * u2.price, least(u1.price_time, u2.price_time), 'stale', u1.route || '*' || u2.route),
        (9, b1.price * b2.price, least(b1.price_time, b2.price_time), 'stale', b1.route || '*' || b2.route)
    ) AS v(rank, price, price_time, price_source, route)
    WHERE v.price IS NOT NULL
    ORDER BY v.rank
    LIMIT 1
"""

_IDENTITY_ORDER = "i.origin = 'user' DESC, i.valid_from DESC NULLS LAST, i.code"


def _leg_call(base: str, quote: str) -> str:
    return f"reporting.rate_at({base}, {quote}, i.hour)"


PRICE_AT = f"""
CREATE OR REPLACE FUNCTION reporting.price_at(asset_code text, currency text, at timestamptz,
                                              OUT price numeric, OUT price_time timestamptz,
                                              OUT price_source text, OUT route text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH i AS (
        SELECT n.price_asset, n.canonical, n.fixed_price, n.fixed_currency, price_at.currency,
               date_trunc('hour', at, 'UTC') AS hour
        FROM (SELECT 1) AS one
        LEFT JOIN LATERAL (
            SELECT i.price_asset, i.canonical, i.fixed_price, i.fixed_currency
            FROM kraken.asset_identity i
            WHERE reporting.normalize_asset(i.code) = reporting.normalize_asset(asset_code)
              AND (i.valid_from IS NULL OR i.valid_from <= date_trunc('hour', at, 'UTC'))
              AND (i.valid_until IS NULL OR date_trunc('hour', at, 'UTC') < i.valid_until)
            ORDER BY {_IDENTITY_ORDER}
            LIMIT 1
        ) n ON true
        WHERE n.canonical IS NOT NULL
    )
    SELECT c.* FROM i
    LEFT JOIN LATERAL (SELECT * FROM {_leg_call("i.price_asset", "i.currency")}
                       WHERE i.fixed_price IS NULL) d ON true
    LEFT JOIN LATERAL (SELECT * FROM {_leg_call("i.fixed_currency", "i.currency")}
                       WHERE i.fixed_currency <> i.currency) f ON true
    LEFT JOIN LATERAL (SELECT * FROM {_leg_call("i.price_asset", "'USD'")}
                       WHERE i.price_asset <> 'USD' AND i.currency <> 'USD') u1 ON true
    LEFT JOIN LATERAL (SELECT * FROM {_leg_call("'USD'", "i.currency")}
                       WHERE i.price_asset <> 'USD' AND i.currency <> 'USD') u2 ON true
    LEFT JOIN LATERAL (SELECT * FROM {_leg_call("i.price_asset", "'BTC'")}
                       WHERE i.price_asset <> 'BTC' AND i.currency <> 'BTC') b1 ON true
    LEFT JOIN LATERAL (SELECT * FROM {_leg_call("'BTC'", "i.currency")}
                       WHERE i.price_asset <> 'BTC' AND i.currency <> 'BTC') b2 ON true
    CROSS JOIN LATERAL ({_CANDIDATES}) c
$$
"""

# The same rules for every (asset, currency, hour) of the materialised range, set-based: candles expanded to
# the hours they contain, gaps carried forward with a window (stale), then the candidates per row.
PRICE_HOURLY = f"""
CREATE MATERIALIZED VIEW reporting.price_hourly AS
WITH bounds AS MATERIALIZED (
    SELECT (min(d.day)::timestamp AT TIME ZONE 'UTC') AS first_hour, r.covered_before AS end_at
    FROM reporting.ledger_daily d, reporting.refresh_state r
    GROUP BY r.covered_before
),
hours AS MATERIALIZED (
    SELECT g.hour FROM bounds b, generate_series(b.first_hour, b.end_at - interval '1 hour', interval '1 hour') g(hour)
),
assets AS MATERIALIZED (SELECT DISTINCT d.asset FROM reporting.ledger_daily d),
currencies AS MATERIALIZED (
    SELECT DISTINCT coalesce(v.currency, '{DEFAULT_CURRENCY}') AS currency
    FROM (SELECT DISTINCT account FROM reporting.ledger_daily) a
    LEFT JOIN reporting.valuation_currency v ON v.account = a.account
),
identities AS MATERIALIZED (
    SELECT DISTINCT ON (a.asset, h.hour) a.asset, h.hour, i.price_asset, i.canonical, i.fixed_price,
           i.fixed_currency
    FROM assets a
    JOIN kraken.asset_identity i ON reporting.normalize_asset(i.code) = a.asset
    JOIN hours h ON (i.valid_from IS NULL OR i.valid_from <= h.hour)
                AND (i.valid_until IS NULL OR h.hour < i.valid_until)
    ORDER BY a.asset, h.hour, {_IDENTITY_ORDER}
),
legs AS (
    SELECT p.base, p.quote, p.close AS price, p.start, p.pair AS route, p.interval, false AS inverse,
           p.start + make_interval(mins => p.interval::int) AS finish
    FROM kraken.price p WHERE {_USABLE}
    UNION ALL
    SELECT p.quote, p.base, 1 / p.close, p.start, p.pair || '^-1', p.interval, true,
           p.start + make_interval(mins => p.interval::int)
    FROM kraken.price p WHERE {_USABLE} AND p.close > 0
),
covering AS MATERIALIZED (
    SELECT DISTINCT ON (l.base, l.quote, g.hour) l.base, l.quote, g.hour, l.price, l.start, l.route, l.finish
    FROM legs l, bounds b,
         generate_series(greatest(l.start, b.first_hour - {STALE_LIMIT}),
                         least(l.finish, b.end_at) - interval '1 hour', interval '1 hour') g(hour)
    WHERE l.finish > b.first_hour - {STALE_LIMIT} AND l.start < b.end_at
    ORDER BY l.base, l.quote, g.hour, l.interval, l.inverse, l.route
),
grid AS (
    SELECT p.base, p.quote, g.hour, c.price, c.start, c.route, c.finish,
           count(c.hour) OVER (PARTITION BY p.base, p.quote ORDER BY g.hour) AS run
    FROM (SELECT base, quote, min(hour) AS first FROM covering GROUP BY 1, 2) p
    CROSS JOIN bounds b
    CROSS JOIN generate_series(p.first, b.end_at - interval '1 hour', interval '1 hour') g(hour)
    LEFT JOIN covering c ON c.base = p.base AND c.quote = p.quote AND c.hour = g.hour
),
filled AS (
    SELECT base, quote, hour, first_value(price) OVER w AS price, first_value(start) OVER w AS price_time,
           first_value(route) OVER w AS route, first_value(finish) OVER w AS finish, price IS NULL AS stale
    FROM grid
    WINDOW w AS (PARTITION BY base, quote, run ORDER BY hour)
),
rates AS MATERIALIZED (
    SELECT base, quote, hour, price, price_time, stale, route FROM filled
    WHERE finish > hour - {STALE_LIMIT}
),
i AS (
    SELECT a.asset, c.currency, h.hour, n.price_asset, n.canonical, n.fixed_price, n.fixed_currency
    FROM assets a CROSS JOIN hours h CROSS JOIN currencies c
    LEFT JOIN identities n ON n.asset = a.asset AND n.hour = h.hour
)
SELECT i.asset, i.currency, i.hour, c.price, c.price_time, c.price_source, c.route
FROM i
LEFT JOIN rates d ON i.fixed_price IS NULL AND d.base = i.price_asset AND d.quote = i.currency AND d.hour = i.hour
LEFT JOIN rates f ON f.base = i.fixed_currency AND f.quote = i.currency AND f.hour = i.hour
LEFT JOIN rates u1 ON i.price_asset <> 'USD' AND i.currency <> 'USD'
                  AND u1.base = i.price_asset AND u1.quote = 'USD' AND u1.hour = i.hour
LEFT JOIN rates u2 ON i.price_asset <> 'USD' AND i.currency <> 'USD'
                  AND u2.base = 'USD' AND u2.quote = i.currency AND u2.hour = i.hour
LEFT JOIN rates b1 ON i.price_asset <> 'BTC' AND i.currency <> 'BTC'
                  AND b1.base = i.price_asset AND b1.quote = 'BTC' AND b1.hour = i.hour
LEFT JOIN rates b2 ON i.price_asset <> 'BTC' AND i.currency <> 'BTC'
                  AND b2.base = 'BTC' AND b2.quote = i.currency AND b2.hour = i.hour
LEFT JOIN LATERAL ({_CANDIDATES}) c ON true
"""

_CURRENCY = f"coalesce(v.currency, '{DEFAULT_CURRENCY}')"

_LEDGER_COLUMNS = """
       l.account, l.ledger_id, l.refid, l.time, l.time_raw, l.type, l.subtype, l.aclass, l.subclass,
       reporting.normalize_asset(l.asset) AS asset, l.asset AS asset_code,
       reporting.asset_suffix(l.asset) AS asset_suffix,
       coalesce(l.wallet_resolved, l.wallet) AS wallet,
       coalesce(l.wallet_source, CASE WHEN l.wallet IS NOT NULL THEN 'export' END) AS wallet_source,
       l.amount, l.fee, l.amount - l.fee AS net, l.balance,
       t.txid AS trade_txid, t.ordertxid AS order_txid, l.source"""
_BOUNDARY = "(SELECT coalesce(r.covered_before, '-infinity') FROM reporting.refresh_state r)"

# Two branches split at the refresh boundary: before it the hourly series by a join (no per-row call), from
# it on price_at once per code, currency and hour of today's entries. Filters on account and time reach both.
LEDGER = f"""
CREATE OR REPLACE VIEW reporting.ledger AS
SELECT {_LEDGER_COLUMNS},
       {_CURRENCY} AS currency, s.price, (l.amount - l.fee) * s.price AS value, s.price_time, s.price_source,
       s.route AS price_route
FROM kraken.ledger_entry l
LEFT JOIN kraken.trade t ON t.account = l.account AND t.txid = l.refid
LEFT JOIN reporting.valuation_currency v ON v.account = l.account
LEFT JOIN reporting.price_hourly s ON s.asset = reporting.normalize_asset(l.asset) AND s.currency = {_CURRENCY}
      AND s.hour = date_trunc('hour', l.time, 'UTC')
WHERE l.time < {_BOUNDARY}
UNION ALL
SELECT {_LEDGER_COLUMNS},
       {_CURRENCY}, f.price, (l.amount - l.fee) * f.price, f.price_time, f.price_source, f.route
FROM kraken.ledger_entry l
LEFT JOIN kraken.trade t ON t.account = l.account AND t.txid = l.refid
LEFT JOIN reporting.valuation_currency v ON v.account = l.account
LEFT JOIN (  -- price_at once per Kraken code, currency and hour of the live entries, not once per entry
    SELECT k.asset_code, k.currency, k.hour, p.price, p.price_time, p.price_source, p.route
    FROM (SELECT DISTINCT e.asset AS asset_code, coalesce(w.currency, '{DEFAULT_CURRENCY}') AS currency,
                 date_trunc('hour', e.time, 'UTC') AS hour
          FROM kraken.ledger_entry e
          LEFT JOIN reporting.valuation_currency w ON w.account = e.account
          WHERE e.time >= {_BOUNDARY} AND e.time < 'infinity') k
    CROSS JOIN LATERAL reporting.price_at(k.asset_code, k.currency, k.hour) p
) f ON f.asset_code = l.asset AND f.currency = {_CURRENCY} AND f.hour = date_trunc('hour', l.time, 'UTC')
WHERE l.time >= {_BOUNDARY}
  AND l.time < 'infinity'  -- a no-op bound that makes this a range: the planner then expects few rows
"""

_DAY_END = ("least(now(), ((d.day + 1)::timestamp AT TIME ZONE 'UTC') - interval '1 microsecond')")


def _live(column: str) -> str:
    return f"CASE WHEN s.hour IS NULL THEN (reporting.price_at(d.asset, {_CURRENCY}, {_DAY_END})).{column} END"


# Days before the boundary read the hourly series; today's rows (no series row yet) call price_at, the call
# gated by CASE so no other row pays for it.
PORTFOLIO_DAILY = f"""
CREATE VIEW reporting.portfolio_daily AS
WITH days AS (
    SELECT b.account, b.day, b.asset, sum(b.balance) AS balance
    FROM reporting.balance_daily b
    GROUP BY b.account, b.day, b.asset
)
SELECT d.account, d.day, d.asset, d.balance, {_CURRENCY} AS currency,
       coalesce(s.price, {_live("price")}) AS price,
       d.balance * coalesce(s.price, {_live("price")}) AS value,
       coalesce(s.price_time, {_live("price_time")}) AS price_time,
       coalesce(s.price_source, {_live("price_source")}) AS price_source,
       coalesce(s.route, {_live("route")}) AS price_route
FROM days d
LEFT JOIN reporting.valuation_currency v ON v.account = d.account
LEFT JOIN reporting.price_hourly s ON s.asset = d.asset AND s.currency = {_CURRENCY}
      AND s.hour = (d.day::timestamp AT TIME ZONE 'UTC') + interval '23 hours'
"""

BALANCES_AT = f"""
CREATE FUNCTION reporting.balances_at(ts timestamptz, account_label text DEFAULT NULL,
                                      currency_code text DEFAULT NULL)
RETURNS TABLE (account text, asset text, wallet text, balance numeric, entries bigint, last_entry_day date,
               currency text, price numeric, value numeric, price_time timestamptz, price_source text)
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
        UNION ALL
        SELECT o.account, o.asset, coalesce(o.wallet, ''), o.opening_balance, 0, (o.first_time AT TIME ZONE 'UTC')::date
        FROM reporting.opening_balance o
        WHERE o.first_time <= ts AND o.opening_balance <> 0
          AND (account_label IS NULL OR o.account = account_label)
    ),
    balances AS (
        SELECT m.account, m.asset, nullif(m.wallet_key, '') AS wallet, sum(m.net) AS balance,
               sum(m.entries)::bigint AS entries, max(m.day) AS last_entry_day
        FROM moves m
        GROUP BY m.account, m.asset, m.wallet_key
    ),
    valued AS (
        SELECT b.*, coalesce(currency_code, (SELECT v.currency FROM reporting.valuation_currency v
                                             WHERE v.account = b.account), '{DEFAULT_CURRENCY}') AS cur
        FROM balances b
    )
    SELECT b.account, b.asset, b.wallet, b.balance, b.entries, b.last_entry_day, b.cur,
           p.price, b.balance * p.price, p.price_time, p.price_source
    FROM valued b
    LEFT JOIN LATERAL reporting.price_at(b.asset, b.cur, ts) p ON true
    ORDER BY 1, 2, 3
$$
"""

FEES_MONTHLY = """
CREATE OR REPLACE VIEW reporting.fees_monthly AS
SELECT l.account, date_trunc('month', l.time AT TIME ZONE 'UTC')::date AS month, l.asset,
       sum(l.fee) AS fees,
       sum(l.fee) FILTER (WHERE l.type = 'trade') AS trade_fees,
       sum(l.fee) FILTER (WHERE l.type <> 'trade') AS other_fees,
       count(*) AS entries,
       min(l.currency) AS currency,
       CASE WHEN count(*) FILTER (WHERE l.price IS NULL) = 0 THEN sum(l.fee * l.price) END AS fees_value,
       count(*) FILTER (WHERE l.price IS NULL) AS unpriced_entries
FROM reporting.ledger l
WHERE l.fee <> 0
GROUP BY 1, 2, 3
"""

MONEY = "in the column currency (the account's reporting currency)"
COMMENTS: dict[str, tuple[str, str | None, dict[str, str]]] = {
    "price_hourly": (
        "MATERIALIZED VIEW",
        "Materialised: the price of every asset of the materialised ledger in every reporting currency in use, "
        "every UTC hour from the first day of ledger_daily to refresh_state.covered_before (the rules of "
        "reporting.price_at; rows with a NULL price are kept). Refreshed by refresh_reporting.",
        {
            "asset": "Normalised asset code (suffix kept), as in reporting.ledger.asset",
            "currency": "Currency the price is in",
            "hour": "Start of the UTC hour priced",
            "price": "Price of one unit in the currency; NULL when no stored candle prices it",
            "price_time": "Start of the candle the price comes from (the older leg's for a bridge); the hour "
                          "itself for par and fixed prices",
            "price_source": "par, fixed, candle, bridge (two fresh rates multiplied), stale (a leg is the close "
                            "of a candle that ended before the hour)",
            "route": "The pairs used (XBTUSD; DOTXBT*XBTUSD for a bridge; EURUSD^-1 for an inverse), par or "
                     "fixed",
        },
    ),
    "portfolio_daily": (
        "VIEW",
        "Per account, UTC day and asset: the end-of-day balance (wallets summed) and its value at the price "
        "of the day's last hour (for today: now). value is NULL when no price covers the day: never a zero.",
        {
            "account": "Account label",
            "day": "UTC calendar day; balance and price as of its end",
            "asset": "Normalised asset code (suffix kept)",
            "balance": "Balance at the end of the day, every wallet summed (units of the asset)",
            "currency": "Reporting currency of price and value (the account's, reporting.valuation_currency)",
            "price": f"Price of one unit at the end of the day, {MONEY}; NULL when unpriced",
            "value": f"balance x price, {MONEY}; NULL when unpriced",
            "price_time": "Start of the candle the price comes from",
            "price_source": "par, fixed, candle, bridge or stale (see reporting.price_hourly)",
            "price_route": "The pairs used for the price",
        },
    ),
}
LEDGER_COLUMNS = {
    "currency": "Reporting currency of price and value (the account's, reporting.valuation_currency)",
    "price": f"Price of one unit of the asset at the entry's UTC hour, {MONEY}; NULL when no stored candle "
             "prices it (never invented)",
    "value": f"net x price, {MONEY}; NULL when unpriced",
    "price_time": "Start of the candle the price comes from (the older leg's for a bridge)",
    "price_source": "par, fixed, candle, bridge or stale (see reporting.price_hourly)",
    "price_route": "The pairs used for the price (XBTUSD, DOTXBT*XBTUSD, EURUSD^-1), par or fixed",
}
FEES_COLUMNS = {
    "currency": "Reporting currency of fees_value",
    "fees_value": f"Sum of each fee x the price at its entry's hour, {MONEY}; NULL when any fee of the row "
                  "is unpriced (never a partial sum)",
    "unpriced_entries": "Entries with a fee that no stored price values",
}
FUNCTION_COMMENTS = {
    "balances_at(timestamp with time zone, text, text)":
        "Balance per account, asset and wallet at a moment (the chain's opening balance plus the entries at "
        "or before ts), with its price and value at ts in currency_code (default: the account's reporting "
        "currency)",
    "price_at(text, text, timestamp with time zone)":
        "Price of one unit of a Kraken asset code in a currency at a moment (its UTC hour): par, a fixed price, "
        "the finest candle containing the hour (direct or inverse pair), through USD or BTC, else the last "
        "close within 7 days flagged stale; NULLs when none (never an invented price)",
    "rate_at(text, text, timestamp with time zone)":
        "One rate of base in quote at a moment's UTC hour: the finest candle containing it (a pair or its "
        "inverse), else the close of the candle that ended last, within 7 days (stale = true); NULLs when none",
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _revision(number: str) -> ModuleType:
    return earlier_revision(number, Path(__file__).parent)


def upgrade() -> None:
    op.execute(VALUATION_CURRENCY)
    op.execute(RATE_AT)
    op.execute(PRICE_AT)
    op.execute(PRICE_HOURLY)
    op.execute("CREATE UNIQUE INDEX price_hourly_key ON reporting.price_hourly (asset, currency, hour)")
    op.execute(LEDGER)
    op.execute(PORTFOLIO_DAILY)
    op.execute("DROP FUNCTION reporting.balances_at(timestamptz, text)")
    op.execute(BALANCES_AT)
    op.execute(FEES_MONTHLY)
    for view, (kind, comment, columns) in COMMENTS.items():
        op.execute(f"COMMENT ON {kind} reporting.{view} IS {_quote(comment or '')}")
        for column, text in columns.items():
            op.execute(f"COMMENT ON COLUMN reporting.{view}.{column} IS {_quote(text)}")
    for column, text in LEDGER_COLUMNS.items():
        op.execute(f"COMMENT ON COLUMN reporting.ledger.{column} IS {_quote(text)}")
    for column, text in FEES_COLUMNS.items():
        op.execute(f"COMMENT ON COLUMN reporting.fees_monthly.{column} IS {_quote(text)}")
    for signature, text in FUNCTION_COMMENTS.items():
        op.execute(f"COMMENT ON FUNCTION reporting.{signature} IS {_quote(text)}")
    op.execute("GRANT SELECT ON reporting.valuation_currency, reporting.price_hourly, reporting.portfolio_daily "
               "TO kraken_reader")
    op.execute("GRANT EXECUTE ON FUNCTION reporting.rate_at(text, text, timestamptz), "
               "reporting.balances_at(timestamptz, text, text) TO kraken_reader")


def downgrade() -> None:
    r6, r14, r15 = _revision("0006"), _revision("0014"), _revision("0015")
    op.execute("DROP VIEW reporting.fees_monthly")
    op.execute(r6.FEES_MONTHLY)
    op.execute("DROP FUNCTION reporting.balances_at(timestamptz, text, text)")
    op.execute(r14.BALANCES_AT)
    op.execute("DROP VIEW reporting.portfolio_daily")
    op.execute("DROP VIEW reporting.ledger")
    op.execute(r6.LEDGER)
    for view in ("ledger", "fees_monthly"):
        comment, columns = r6.COMMENTS[view]
        op.execute(f"COMMENT ON VIEW reporting.{view} IS {_quote(comment)}")
        for column, text in columns.items():
            op.execute(f"COMMENT ON COLUMN reporting.{view}.{column} IS {_quote(text)}")
    op.execute("COMMENT ON FUNCTION reporting.balances_at(timestamp with time zone, text) IS "
               f"{_quote(r14.FUNCTION_COMMENTS['balances_at(timestamp with time zone, text)'])}")
    op.execute("GRANT SELECT ON reporting.ledger, reporting.fees_monthly TO kraken_reader")
    op.execute("GRANT EXECUTE ON FUNCTION reporting.balances_at(timestamptz, text) TO kraken_reader")
    op.execute("DROP MATERIALIZED VIEW reporting.price_hourly")
    op.execute("DROP FUNCTION reporting.price_at(text, text, timestamptz)")
    op.execute(r15.PRICE_AT)
    op.execute("COMMENT ON FUNCTION reporting.price_at(text, text, timestamptz) IS "
               "'Price of one unit of a Kraken asset code in a currency at a moment: par when it is the currency, a "
               "fixed price (asset_identity), else the close of the finest stored candle that contains the moment. "
               "NULLs when none: never an invented price.'")
    op.execute("GRANT EXECUTE ON FUNCTION reporting.price_at(text, text, timestamptz) TO kraken_reader")
    op.execute("DROP FUNCTION reporting.rate_at(text, text, timestamptz)")
    op.execute("DROP TABLE reporting.valuation_currency")
