"""The report's valuation sections: portfolio value over time, holdings with price and value and a total, and
the period's roll-forward per asset in units and in value.

Every money column's heading names its currency (the accounts' reporting currency; when the accounts
covered use several, each row's `currency` column says which). Values come from SQL (`kraken_etl.db.valuation`)
as Decimal; a missing price shows as an empty cell and is counted, never as 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kraken_etl.db import valuation as v
from kraken_etl.db.reporting import ReportFilter
from kraken_etl.report import charts
from kraken_etl.report.page import Section

MONEY_HOLDINGS = ("price", "value")
MONEY_ROLL = ("opening_value", "deposits_value", "withdrawals_value", "trades_value", "income_value",
              "other_value", "fees_value", "revaluation", "closing_value")
UNITS_ROLL = ("opening", "deposits", "withdrawals", "trades", "income", "other", "fees", "closing")


def queries(f: ReportFilter, step: int) -> dict[str, Callable[[Any], Any]]:
    """The valuation queries, to run with the report's others."""
    return {
        "currency": lambda c: v.report_currency(c, f),
        "portfolio": lambda c: v.portfolio_series(c, f, step),
        "valued_holdings": lambda c: v.valued_holdings(c, f),
        "roll_forward": lambda c: v.roll_forward(c, f),
    }


def _label(currency: str | None) -> str:
    return f"({currency})" if currency else "(the row's currency)"


def _relabel(rows: Sequence[Mapping[str, Any]], money: Sequence[str], currency: str | None) -> list[dict[str, Any]]:
    """Rows with each money column renamed to name its currency."""
    label = _label(currency)
    return [{(f"{k} {label}" if k in money else k): value for k, value in r.items()} for r in rows]


def chart_spec(got: Mapping[str, Any]) -> dict[str, Any] | None:
    """The portfolio value chart, or None when no day has a value."""
    points = [r for r in got["portfolio"] if r["value"] is not None]
    if not points:
        return None
    return charts.portfolio_spec(charts.values(points, ("day", "value")), got["currency"] or "mixed currencies")


def sections(got: Mapping[str, Any], chart: str | None, to_day: object, no_chart: str = "") -> list[Section]:
    """The three valuation sections (`no_chart`: what the portfolio's note says when the chart is left out)."""
    currency = got["currency"]
    label = _label(currency)
    unpriced_days = sum(1 for r in got["portfolio"] if r["unpriced"])
    holdings, roll = got["valued_holdings"], got["roll_forward"]
    total_rows = [r for r in holdings if r["asset"] == "total" and r["account"] is None]
    left_out = sum(int(r["unpriced"] or 0) for r in total_rows)
    return [
        Section("portfolio", f"Portfolio value {label}",
                "Value of the end-of-day holdings (balance x the price of the day's last hour, from Kraken's "
                "candles), wallets" + (" and accounts" if got.get("all_accounts") else "") + " summed."
                + (f" {unpriced_days} day(s) hold an asset without a price: those days' totals leave it out."
                   if unpriced_days else "") + no_chart,
                chart=chart),
        Section("valuation", f"Holdings at the end of {to_day} with price and value {label}",
                "Per account and asset, wallets summed; the last row is the total of the priced holdings."
                + (f" {left_out} holding(s) have no price (empty cells): the total leaves them out."
                   if left_out else ""),
                rows=_relabel(holdings, MONEY_HOLDINGS, currency),
                columns=("account", "asset", "balance", "currency", f"price {label}", f"value {label}",
                         "price_source", "price_time", "unpriced")),
        Section("rollforward", f"Roll-forward per asset, in units and in value {label}",
                "Opening balance (end of the day before the range) + deposits + withdrawals + trades + income "
                "(staking, earn rewards) + other movements + fees (negative) = closing balance; values at each "
                "entry's price, balances at the day's end price, revaluation = what price changes added. "
                "A value is empty when a price it needs is missing (unpriced = entries without one).",
                rows=_relabel(roll, MONEY_ROLL, currency),
                columns=("account", "asset", "currency", *UNITS_ROLL,
                         *(f"{k} {label}" for k in MONEY_ROLL), "unpriced")),
    ]
