"""Valuation in SQL: Kraken's TradeBalance stored with the balance snapshots, each account's reporting currency,
and the valued queries the HTML report reads (from the `reporting` views, as an accountant's SQL would).

Money stays in SQL and comes back as `Decimal`; a value that cannot be computed is NULL (None), never 0.
"""

from __future__ import annotations

import json
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
    """Balance per account and asset (wallets summed) at the end of `date_to`, with price and value."""
    return _rows(conn, """
        SELECT account, asset, balance, currency, price, value, price_source, price_time
        FROM reporting.portfolio_daily
        WHERE (CAST(:account AS text) IS NULL OR account = :account) AND day = :date_to AND balance <> 0
        ORDER BY account, value DESC NULLS LAST, asset
    """, {"account": f.account, "date_to": f.date_to})
