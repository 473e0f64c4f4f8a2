"""Valuation in SQL: Kraken's TradeBalance stored with the balance snapshots, each account's reporting currency,
and the valued queries the HTML report reads (from the `reporting` views, as an accountant's SQL would).

Money stays in SQL and comes back as `Decimal`; a value that cannot be computed is NULL (None), never 0.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import insert

from kraken_etl.core.tradebalance import TradeBalance
from kraken_etl.db.reporting import ReportFilter, _rows
from models.market import TradeBalanceRow

DEFAULT_CURRENCY = "USD"


def insert_trade_balance(conn: Connection, account: str, balance: TradeBalance) -> int:
    """Store one TradeBalance answer (re-inserting the same moment is a no-op); returns rows written."""
    row = {"account": account, "taken_at": balance.taken_at, "asset": balance.asset, "eb": balance.eb,
           **balance.margin, "raw": json.loads(json.dumps(balance.raw, default=str))}
    stmt = insert(TradeBalanceRow).values(row).on_conflict_do_nothing()
    return conn.execute(stmt).rowcount or 0


def denominations(conn: Connection, held: dict[str, Decimal], currency: str, at: datetime, limit: int,
                  min_share: Decimal) -> list[str]:
    """The Kraken codes to ask TradeBalance in besides `currency`, so the `valuation` check can read Kraken's
    own price of each asset (eb in the currency over eb in the asset): the assets that price the `held`
    balances (code -> amount; ETH for ETH2.S), valued in `currency` at `at` by market data (par and fixed
    prices are not market prices), the `limit` most valuable worth at least `min_share` of the valued total.
    Each is named by Kraken's code of that asset (kraken.asset, from `prices sync`; else a held code). Empty
    when nothing is priced (no market data stored yet)."""
    if limit <= 0 or not held:
        return []
    rows = conn.execute(text("""
        WITH held AS (
            SELECT h.code, h.amount FROM unnest(CAST(:codes AS text[]), CAST(:amounts AS numeric[])) AS h(code, amount)
        ),
        valued AS (
            SELECT h.code, abs(h.amount * p.price) AS value,
                   (SELECT coalesce(i.price_asset, i.canonical) FROM kraken.asset_identity i
                    WHERE reporting.normalize_asset(i.code) = reporting.normalize_asset(h.code)
                      AND (i.valid_from IS NULL OR i.valid_from <= :at)
                      AND (i.valid_until IS NULL OR :at < i.valid_until)
                    ORDER BY i.origin = 'user' DESC, i.valid_from DESC NULLS LAST, i.code LIMIT 1) AS price_asset,
                   p.price_source
            FROM held h CROSS JOIN LATERAL reporting.price_at(h.code, :currency, :at) p
            WHERE p.price IS NOT NULL
        ),
        assets AS (
            SELECT price_asset, sum(value) AS value FROM valued
            WHERE price_source IN ('candle', 'bridge', 'stale') AND price_asset IS NOT NULL
              AND price_asset <> :currency
            GROUP BY price_asset
        )
        SELECT a.price_asset, a.value,
               coalesce((SELECT k.asset FROM kraken.asset k WHERE reporting.normalize_asset(k.asset) = a.price_asset
                         ORDER BY length(k.asset) DESC, k.asset LIMIT 1),
                        (SELECT h.code FROM held h WHERE reporting.normalize_asset(h.code) = a.price_asset
                         ORDER BY h.code LIMIT 1)) AS code
        FROM assets a
        WHERE a.value >= :share * (SELECT coalesce(sum(value), 0) FROM valued)
        ORDER BY a.value DESC, a.price_asset
        LIMIT :limit
    """), {"codes": list(held), "amounts": list(held.values()), "currency": currency, "at": at,
           "share": min_share, "limit": limit})
    return [str(r.code) for r in rows if r.code]


def account_currency(conn: Connection, account: str) -> str:
    """The account's reporting currency as last written from the settings (USD when never written)."""
    value = conn.execute(text("SELECT currency FROM reporting.valuation_currency WHERE account = :a"),
                         {"a": account}).scalar()
    return str(value) if value else DEFAULT_CURRENCY


def report_currency(conn: Connection, f: ReportFilter) -> str | None:
    """The one currency the report's values are in; None when the accounts covered use several."""
    codes = [r[0] for r in conn.execute(text("""
        SELECT DISTINCT coalesce(v.currency, :default)
        FROM (SELECT DISTINCT account FROM reporting.ledger_daily
              WHERE CAST(:account AS text) IS NULL OR account = :account
              UNION SELECT CAST(:account AS text) WHERE CAST(:account AS text) IS NOT NULL) a
        LEFT JOIN reporting.valuation_currency v ON v.account = a.account
    """), {"account": f.account, "default": DEFAULT_CURRENCY})]
    return codes[0] if len(codes) == 1 else None


def portfolio_series(conn: Connection, f: ReportFilter, step_days: int = 1) -> list[dict[str, Any]]:
    """Total portfolio value per day of the range (every `step_days` days and the last), with how many assets
    held that day have no price (the total then leaves them out and says so)."""
    return _rows(conn, """
        SELECT day, min(currency) AS currency, sum(value) AS value,
               count(*) FILTER (WHERE value IS NULL AND balance <> 0) AS unpriced
        FROM reporting.portfolio_daily
        WHERE (CAST(:account AS text) IS NULL OR account = :account) AND day <= :date_to
          AND (CAST(:date_from AS date) IS NULL OR day >= :date_from)
          AND (day = :date_to OR (day - coalesce(CAST(:date_from AS date), DATE '2000-01-01')) % :step = 0)
        GROUP BY day ORDER BY day
    """, {"account": f.account, "date_from": f.date_from, "date_to": f.date_to, "step": step_days})


def valued_holdings(conn: Connection, f: ReportFilter) -> list[dict[str, Any]]:
    """Balance per account and asset (wallets summed) at the end of `date_to`, with price and value, then one
    total row per currency (`asset` 'total': the sum of the priced values, `unpriced` the holdings left out)."""
    return _rows(conn, """
        WITH h AS (
            SELECT account, asset, balance, currency, price, value, price_source, price_time
            FROM reporting.portfolio_daily
            WHERE (CAST(:account AS text) IS NULL OR account = :account) AND day = :date_to AND balance <> 0
        )
        SELECT * FROM (
            SELECT account, asset, balance, currency, price, value, price_source, price_time, NULL::bigint AS unpriced
            FROM h ORDER BY account, value DESC NULLS LAST, asset
        ) rows
        UNION ALL
        SELECT NULL, 'total', NULL, currency, NULL, sum(value), NULL, NULL, count(*) FILTER (WHERE value IS NULL)
        FROM h GROUP BY currency
    """, {"account": f.account, "date_to": f.date_to})


# Income: what earn_rewards counts (staking, earn rewards) and Kraken's other credited income types.
_INCOME = "(type IN ('staking', 'dividend', 'reward', 'invite bonus') OR (type = 'earn' AND subtype = 'reward'))"
_KINDS = {
    "deposits": "type = 'deposit'",
    "withdrawals": "type = 'withdrawal'",
    "trades": "type = 'trade'",
    "income": _INCOME,
    "other": f"type NOT IN ('deposit', 'withdrawal', 'trade') AND NOT {_INCOME}",
}


def roll_forward(conn: Connection, f: ReportFilter) -> list[dict[str, Any]]:
    """Per account and asset over the range: opening balance (end of the day before `date_from`), deposits,
    withdrawals, trades, income, other movements (amounts), fees (negative), closing balance (end of
    `date_to`), in units and in value. Movements are valued at their entries' prices, the balances at the
    day's end price; `revaluation` is what the price changes added. A value is NULL when any price it needs
    is missing (`unpriced` counts those entries), never a partial sum."""
    sums = ",\n".join(
        f"coalesce(sum(amount) FILTER (WHERE {cond}), 0) AS {kind},\n"
        f"  coalesce(sum(amount * price) FILTER (WHERE {cond}), 0) AS {kind}_value" for kind, cond in _KINDS.items())
    return _rows(conn, f"""
        WITH moves AS (
            SELECT account, asset, {sums},
                   -coalesce(sum(fee), 0) AS fees, -coalesce(sum(fee * price), 0) AS fees_value,
                   count(*) FILTER (WHERE price IS NULL AND (amount <> 0 OR fee <> 0)) AS unpriced
            FROM reporting.ledger
            WHERE (CAST(:account AS text) IS NULL OR account = :account)
              AND time < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE 'UTC'
              AND time >= CAST(:date_from AS date)::timestamp AT TIME ZONE 'UTC'
            GROUP BY account, asset
        ),
        ends AS (
            SELECT account, asset, day, balance, value, price FROM reporting.portfolio_daily
            WHERE (CAST(:account AS text) IS NULL OR account = :account)
              AND day IN (CAST(:date_from AS date) - 1, CAST(:date_to AS date))
        ),
        keys AS (
            SELECT account, asset FROM moves UNION SELECT account, asset FROM ends WHERE balance <> 0
        ),
        rolled AS (
            SELECT k.account, k.asset, coalesce(c.currency, :default) AS currency,
                   coalesce(o.balance, 0) AS opening,
                   coalesce(m.deposits, 0) AS deposits, coalesce(m.withdrawals, 0) AS withdrawals,
                   coalesce(m.trades, 0) AS trades, coalesce(m.income, 0) AS income, coalesce(m.other, 0) AS other,
                   coalesce(m.fees, 0) AS fees, coalesce(e.balance, 0) AS closing,
                   CASE WHEN coalesce(o.balance, 0) = 0 THEN 0 ELSE o.value END AS opening_value,
                   CASE WHEN coalesce(m.unpriced, 0) = 0 THEN ARRAY[
                       coalesce(m.deposits_value, 0), coalesce(m.withdrawals_value, 0), coalesce(m.trades_value, 0),
                       coalesce(m.income_value, 0), coalesce(m.other_value, 0), coalesce(m.fees_value, 0)] END AS mv,
                   CASE WHEN coalesce(e.balance, 0) = 0 THEN 0 ELSE e.value END AS closing_value,
                   coalesce(m.unpriced, 0) AS unpriced
            FROM keys k
            LEFT JOIN moves m ON m.account = k.account AND m.asset = k.asset
            LEFT JOIN ends o ON o.account = k.account AND o.asset = k.asset AND o.day = CAST(:date_from AS date) - 1
            LEFT JOIN ends e ON e.account = k.account AND e.asset = k.asset AND e.day = CAST(:date_to AS date)
            LEFT JOIN reporting.valuation_currency c ON c.account = k.account
        )
        SELECT account, asset, currency, opening, deposits, withdrawals, trades, income, other, fees, closing,
               opening_value, mv[1] AS deposits_value, mv[2] AS withdrawals_value, mv[3] AS trades_value,
               mv[4] AS income_value, mv[5] AS other_value, mv[6] AS fees_value,
               closing_value - opening_value - (mv[1] + mv[2] + mv[3] + mv[4] + mv[5] + mv[6]) AS revaluation,
               closing_value, unpriced
        FROM rolled
        ORDER BY account, asset
    """, {"account": f.account, "date_from": f.date_from, "date_to": f.date_to, "default": DEFAULT_CURRENCY})
