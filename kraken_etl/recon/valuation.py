"""Check `valuation`: Kraken's own value of the account (TradeBalance `eb`) vs the sum of our valued balances.

At each moment a balance snapshot stored TradeBalance, the answer in the account's reporting currency (else
in USD) is the total: every non-zero balance of the ledger at that moment is valued in its currency with
`reporting.price_at` and summed. The tolerance is what the prices allow: for each asset, its value times the
widest relative move within the high-low range of the candles its price came from (each leg of a bridge; a
candle still filling reaches around its close as far as the previous candle was wide), plus half a unit of
`eb`'s last decimal. Beyond it, a break names the assets that explain the difference,
from evidence about one asset's price, ours or Kraken's:

- our candles contradict themselves on a price route used (`db.recon_valuation.suspect_candles`: an hourly
  candle that opens further from the previous close than both candles' ranges, or a coarser candle whose
  range misses a finished hourly candle inside it): the candle's base asset is named, ours is the suspect;
- the same moment's TradeBalance in another asset A (the balances job asks in the most valuable held
  assets) gives Kraken's own price of A, eb(currency) / eb(A); a Kraken price outside the range of our
  finest candles containing the moment names A (Kraken's figure is the suspect when our candles agree).

Without such evidence (older snapshots, no denominations asked): first any asset whose candle is
inconsistent (its close outside its own high-low range, or outside the range of the widest candle
containing the moment), then those whose price, moved by the whole difference, stays within the widest
containing candle's range (typically the day's); when none does, Kraken's figure itself is the suspect and
the message says so, listing the largest holdings. These rules only name; none narrows the tolerance.

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

from kraken_etl.core.tradebalance import trade_balance_asset
from kraken_etl.db import recon_valuation
from kraken_etl.db.valuation import account_currency
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
        reach = leg["reach"]  # an unfinished candle's range widened around its close (`route_legs`)
        lo, hi = _leg_factors(leg, min(leg["low"], leg["close"] - reach), max(leg["high"], leg["close"] + reach))
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


def _implied(inp: CheckInput, snap: dict[str, Any], denominated: list[dict[str, Any]]
             ) -> dict[str, dict[str, Any]]:
    """Kraken's own price of each denomination's asset in the snapshot's currency (eb in the currency over eb
    in the asset) beside ours and the range of the finest candles containing the moment (every leg); only the
    assets whose Kraken price lies outside that range (beyond eb's rounding) are returned."""
    taken_at, currency, eb = snap["taken_at"], snap["currency"], snap["eb"]
    out: dict[str, dict[str, Any]] = {}
    for d in denominated:
        if d["eb"] <= 0 or eb <= 0:
            continue
        ours = recon_valuation.price_of(inp.conn, d["asset"], currency, taken_at)
        if ours is None or ours["price_source"] in ("par", "fixed") or not ours["route"]:
            continue
        legs = recon_valuation.route_legs(inp.conn, ours["route"], taken_at)
        if any(leg["wide_low"] is None for leg in legs):
            continue  # no stored candle contains the moment: nothing to judge Kraken's price by
        env = _envelope(legs)
        if env.inconsistent:
            continue  # a corrupt candle is named by its own rule
        kraken = eb / d["eb"]
        rounding = kraken * (_half_unit(eb) / eb + _half_unit(d["eb"]) / d["eb"])
        low, high = ours["price"] * env.low - rounding, ours["price"] * env.high + rounding
        if not low <= kraken <= high:
            out[d["currency"]] = {"kraken": kraken, "ours": ours["price"], "low": low, "high": high}
    return out


def _suspects(inp: CheckInput, rows: list[dict[str, Any]], taken_at: datetime) -> dict[str, list[str]]:
    """The assets (each candle's base) whose stored candles, on any price route used, contradict themselves."""
    pairs: dict[str, str] = {}
    for r in rows:
        for leg in recon_valuation.route_legs(inp.conn, r["route"], taken_at) if r["route"] else []:
            pairs.setdefault(leg["pair"], leg["base"])
    out: dict[str, list[str]] = {}
    for pair, base in sorted(pairs.items()):
        reasons = recon_valuation.suspect_candles(inp.conn, pair, taken_at)
        if reasons:
            out.setdefault(base, []).extend(f"{pair}: {why}" for why in reasons)
    return out


def _compare(inp: CheckInput, snap: dict[str, Any], denominated: list[dict[str, Any]]
             ) -> tuple[list[Finding], Finding | None]:
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
    suspects = _suspects(inp, rows, taken_at)
    implied = _implied(inp, snap, denominated)
    corrupt = [r["asset"] for r in rows if envelopes[r["asset"]].inconsistent]
    if suspects or implied:  # evidence about one asset's price: ours (a candle) or Kraken's (its own price)
        explaining = sorted(set(suspects) | set(implied))
        parts = [f"our candles of {asset} contradict themselves ({'; '.join(suspects[asset][:2])})"
                 for asset in sorted(suspects)]
        parts += [f"Kraken's price of {asset} ({v['kraken']:.10g} {currency}) lies outside our candles' range "
                  f"({v['low']:.10g}..{v['high']:.10g})" + ("" if asset in suspects else ": Kraken's figure is "
                                                              "the suspect") for asset, v in sorted(implied.items())]
        why = f"explained by the price of {', '.join(explaining)}: " + "; ".join(parts)
    else:
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
    largest = [r["asset"] for r in sorted(rows, key=lambda r: abs(r["value"]), reverse=True)[:3]]
    return [], Finding(
        check=NAME, kind="value_mismatch", severity="break", asset=explaining[0] if len(explaining) == 1 else None,
        expected=ours, actual=eb, difference=difference, source_ids=tuple(explaining),
        message=(f"Kraken's TradeBalance at {taken_at:%Y-%m-%d %H:%M:%S} values the account at {eb} {currency}, "
                 f"our balances x prices at {ours} (difference {difference}, tolerance {tolerance}); {why}"),
        details={"taken_at": taken_at, "currency": currency, "tolerance": tolerance, "explaining": explaining,
                 "largest": largest, "assets": {r["asset"]: str(r["value"]) for r in rows},
                 "suspect_candles": suspects,
                 "kraken_prices": {a: {k: str(v) for k, v in d.items()} for a, d in implied.items()}},
        at=taken_at.isoformat())


def _primary(rows: list[dict[str, Any]], asked: str) -> dict[str, Any]:
    """Of one moment's TradeBalance answers, the total to compare: the one in the account's currency as the
    balances job asks it, else the one in USD, else the first; the others are denominations."""
    return next((r for r in rows if r["asset"] == asked), None) or next(
        (r for r in rows if r["currency"] == "USD"), rows[0])


def check_valuation(inp: CheckInput) -> CheckReport:
    """Breaks where Kraken's valuation and ours differ beyond the candles' ranges; warnings for what cannot
    be valued."""
    answers = recon_valuation.trade_balances(inp.conn, inp.account, inp.as_of, inp.since)
    if not recon_valuation.has_candles(inp.conn):
        return CheckReport(0)  # valuation not set up: nothing examined (the run's table shows 0 rows)
    asked = trade_balance_asset(account_currency(inp.conn, inp.account))
    moments: dict[datetime, list[dict[str, Any]]] = {}
    for answer in answers:
        moments.setdefault(answer["taken_at"], []).append(answer)
    snaps = []
    latest: dict[tuple[str, str | None], Finding] = {}
    for group in moments.values():
        snap = _primary(group, asked)
        snaps.append(snap)
        coverage, mismatch = _compare(inp, snap, [r for r in group if r is not snap])
        for finding in coverage:
            latest[(finding.kind, finding.asset)] = finding
        if not coverage:  # the total was compared: its latest outcome replaces the earlier one
            latest.pop(("value_mismatch", None), None)
            if mismatch is not None:
                latest[("value_mismatch", None)] = mismatch
    findings = sorted(latest.values(), key=lambda f: (f.kind, f.asset or ""))
    return CheckReport(len(snaps), findings, None if inp.since is None else {"": inp.since.isoformat()})
