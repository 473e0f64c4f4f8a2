"""Check `valuation`: Kraken's own value of the account (TradeBalance `eb`) vs the sum of our valued balances.

At each stored TradeBalance (taken with a balance snapshot), every non-zero balance of the ledger at that
moment is valued in the TradeBalance's currency with `reporting.price_at` and summed. The tolerance is what
the prices allow: for each asset, its value times the widest relative move within the high-low range of the
candles its price came from (each leg of a bridge), plus half a unit of `eb`'s last decimal. Beyond it, a
break names the assets that explain the difference: first any whose candle is inconsistent (its close outside
its own high-low range, or outside the range of the widest candle containing the moment: a corrupt candle),
then those whose price, moved by the whole difference, stays within the widest containing candle's range
(typically the day's); when none does, Kraken's figure itself is the suspect and the message says so,
listing the largest holdings.

Coverage: an asset with a balance but no identity (`unknown_asset_code`), or known but with no price at that
moment (`unpriced_asset`), is an info finding naming it (like `coverage`'s unknown assets: the check proved
nothing about that moment, nothing is known to be wrong), and that snapshot's total is not compared (a
missing value is never counted as zero). Only the latest snapshot's finding per asset and kind is kept.
With no market data stored at all (prices never synced or imported), the check examines nothing and
reports nothing: valuation is not set up, which the run's table shows as 0 rows examined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from kraken_etl.db import recon_valuation
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding

NAME = "valuation"
ZERO = Decimal(0)
ONE = Decimal(1)


def _half_unit(value: Decimal) -> Decimal:
    exponent = value.as_tuple().exponent
    return Decimal(5).scaleb((exponent if isinstance(exponent, int) else 0) - 1)


def _leg_factors(leg: dict[str, Any], low: Decimal | None, high: Decimal | None) -> tuple[Decimal, Decimal]:
    close = leg["close"]
    if low is None or high is None or low <= 0 or close <= 0:
        return ONE, ONE
    return (close / high, close / low) if leg["inverse"] else (low / close, high / close)


@dataclass(frozen=True, slots=True)
class Envelope:
    """How far an asset's price may be off: the factors of the candles it came from (`low`, `high`), of the
    widest candles containing the moment (`wide_low`, `wide_high`), and whether a leg's close lies outside
    its own range or the wider candle's (`inconsistent`: a corrupt candle)."""

    low: Decimal
    high: Decimal
    wide_low: Decimal
    wide_high: Decimal
    inconsistent: bool


def _envelope(legs: list[dict[str, Any]]) -> Envelope:
    low = high = wide_low = wide_high = ONE
    inconsistent = False
    for leg in legs:
        lo, hi = _leg_factors(leg, leg["low"], leg["high"])
        wlo, whi = _leg_factors(leg, leg["wide_low"] if leg["wide_low"] is not None else leg["low"],
                                leg["wide_high"] if leg["wide_high"] is not None else leg["high"])
        low, high, wide_low, wide_high = low * lo, high * hi, wide_low * min(wlo, lo), wide_high * max(whi, hi)
        inconsistent = inconsistent or not (leg["low"] <= leg["close"] <= leg["high"]) or (
            leg["wide_low"] is not None and not (leg["wide_low"] <= leg["close"] <= leg["wide_high"]))
    return Envelope(low, high, wide_low, wide_high, inconsistent)


def _coverage(row: dict[str, Any], currency: str, taken_at: datetime) -> Finding:
    asset = row["asset"]
    if not row["known"]:
        return Finding(check=NAME, kind="unknown_asset_code", severity="info", asset=asset, source_ids=(asset,),
                       message=(f"{asset!a}: balance {row['balance']} at {taken_at:%Y-%m-%d %H:%M:%S} has no "
                                "identity (kraken.asset_identity): it cannot be valued"),
                       details={"taken_at": taken_at, "balance": row["balance"]}, at=taken_at.isoformat())
    return Finding(check=NAME, kind="unpriced_asset", severity="info", asset=asset, source_ids=(asset,),
                   message=(f"{asset!a}: balance {row['balance']} at {taken_at:%Y-%m-%d %H:%M:%S} has no price in "
                            f"{currency} (no candle within the staleness limit): that moment's total is not compared"),
                   details={"taken_at": taken_at, "balance": row["balance"], "currency": currency},
                   at=taken_at.isoformat())


def _compare(inp: CheckInput, snap: dict[str, Any]) -> tuple[list[Finding], Finding | None]:
    taken_at, currency, eb = snap["taken_at"], snap["currency"], snap["eb"]
    rows = recon_valuation.valued_balances(inp.conn, inp.account, taken_at, currency)
    missing = [_coverage(r, currency, taken_at) for r in rows if r["value"] is None]
    if missing:
        return missing, None
    ours = sum((r["value"] for r in rows), ZERO)
    tolerance = _half_unit(eb)
    envelopes: dict[str, Envelope] = {}
    for r in rows:
        env = _envelope(recon_valuation.route_legs(inp.conn, r["route"], taken_at) if r["route"] else [])
        envelopes[r["asset"]] = env
        if not env.inconsistent:  # a corrupt candle's range says nothing about its close
            tolerance += abs(r["value"]) * max(ONE - env.low, env.high - ONE)
    difference = eb - ours
    if abs(difference) <= tolerance:
        return [], None
    corrupt = [r["asset"] for r in rows if envelopes[r["asset"]].inconsistent]
    explaining = corrupt + [
        r["asset"] for r in rows
        if r["asset"] not in corrupt and r["price_source"] not in ("par", "fixed")
        and r["price"] * envelopes[r["asset"]].wide_low <= r["price"] + difference / r["balance"]
        <= r["price"] * envelopes[r["asset"]].wide_high]
    largest = [r["asset"] for r in sorted(rows, key=lambda r: abs(r["value"]), reverse=True)[:3]]
    why = (f"explained by the price of {', '.join(explaining)} (a candle whose close lies outside its range, "
           "or a price that, moved by the whole difference, stays within the day's candle)" if explaining else
           f"no single asset's candle range explains it: Kraken's figure is the suspect (largest holdings: "
           f"{', '.join(largest)})")
    return [], Finding(
        check=NAME, kind="value_mismatch", severity="break", asset=explaining[0] if len(explaining) == 1 else None,
        expected=ours, actual=eb, difference=difference, source_ids=tuple(explaining),
        message=(f"Kraken's TradeBalance at {taken_at:%Y-%m-%d %H:%M:%S} values the account at {eb} {currency}, "
                 f"our balances x prices at {ours} (difference {difference}, tolerance {tolerance}); {why}"),
        details={"taken_at": taken_at, "currency": currency, "tolerance": tolerance, "explaining": explaining,
                 "largest": largest, "assets": {r["asset"]: str(r["value"]) for r in rows}},
        at=taken_at.isoformat())


def check_valuation(inp: CheckInput) -> CheckReport:
    """Breaks where Kraken's valuation and ours differ beyond the candles' ranges; warnings for what cannot
    be valued."""
    snaps = recon_valuation.trade_balances(inp.conn, inp.account, inp.as_of, inp.since)
    if not recon_valuation.has_candles(inp.conn):
        return CheckReport(0)  # valuation not set up: nothing examined (the run's table shows 0 rows)
    latest: dict[tuple[str, str | None], Finding] = {}
    for snap in snaps:
        coverage, mismatch = _compare(inp, snap)
        for finding in coverage:
            latest[(finding.kind, finding.asset)] = finding
        if not coverage:  # the total was compared: its latest outcome replaces the earlier one
            latest.pop(("value_mismatch", None), None)
            if mismatch is not None:
                latest[("value_mismatch", None)] = mismatch
    findings = sorted(latest.values(), key=lambda f: (f.kind, f.asset or ""))
    return CheckReport(len(snaps), findings, None if inp.since is None else {"": inp.since.isoformat()})
