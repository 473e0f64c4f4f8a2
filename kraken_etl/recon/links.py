"""Checks `trade_ledger` (every trade's ledger legs exist and agree) and `order_trades` (each closed order's
vol_exec, cost and fee equal the sums over its trades). SQL proves the common trades clean and returns only
the rest (`kraken_etl.db.recon_links`), judged here by `verdict`; it returns only the orders that disagree.

A trade agrees when every listed leg is stored, exactly one leg moves `vol` of the base (bought: +, sold:
-) or, for one order filled from several wallets (spot and Earn), several legs of one asset on that side
add up to `vol`, one moves `cost` of the quote (the other sign), and the fee agrees with where it sits (seen in real
accounts): on the quote leg = the trade's fee; on the base leg ≈ the fee converted at the trade's price
(Kraken states the trade fee in the quote currency, rounded to the quote's precision, while the base leg's
fee is the rate on the base amount: they may differ by fee/50 for the conversion plus one unit of the quote
leg's precision for the rounding, which dominates on small trades); on a KFEE leg (amount 0) = fee / 0.01
USD for USD-quoted pairs.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from kraken_etl.db import recon_links, recon_orders
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding
from kraken_etl.recon.margin import is_position_trade, margin_findings, margin_verdict

TRADE = "trade_ledger"
ORDER = "order_trades"
_USD = ("ZUSD", "USD")


def _scale(d: Decimal) -> int:
    return max(0, -int(d.as_tuple().exponent))


def _half_unit(*figures: Decimal) -> Decimal:
    """Half a unit of the finer precision of `figures` (how far two roundings of one amount may differ)."""
    return Decimal(1).scaleb(-max(_scale(f) for f in figures)) / 2


def _kind(amount: Decimal, buy: bool, vol: Decimal, cost: Decimal) -> str:
    """A leg's role: k (KFEE, amount 0), b (base: +vol bought, -vol sold), q (quote), x (neither)."""
    if amount == 0:
        return "k"
    if abs(amount) == vol:
        return "b" if (amount > 0) == buy else "x"
    if abs(amount) == cost:
        return "q" if (amount < 0) == buy else "x"
    return "x"


def _split_base(legs: list[tuple[str, str, Decimal, Decimal]], trade: dict[str, Any], count: dict[str, int]) -> bool:
    """One order filled from several wallets (spot and Earn): no single base leg, one quote leg, and two or
    more other legs of one asset, all on the base's side, that add up to `vol` (BittyTax PR #499)."""
    if count["b"] or count["q"] != 1 or count["x"] < 2:
        return False
    buy, vol, cost = trade["type"] == "buy", trade["vol"], trade["cost"]
    rest = [(asset, amount) for _, asset, amount, _ in legs if _kind(amount, buy, vol, cost) == "x"]
    return (len({asset for asset, _ in rest}) == 1 and all((amount > 0) == buy for _, amount in rest)
            and abs(sum((amount for _, amount in rest), start=Decimal(0))) == vol)


def verdict(trade: dict[str, Any], legs: list[tuple[str, str, Decimal, Decimal]]) -> str | None:
    """What is wrong with a trade (`type`, `vol`, `cost`, `fee`, `price`, `ledgers`) given its stored legs
    ((ledger_id, asset, amount, fee) by refid): no_legs, missing_leg, leg_amount_mismatch,
    leg_fee_mismatch, or None when it agrees."""
    listed = trade["ledgers"]
    if not legs:
        return "no_legs" if listed is None else ("missing_leg" if listed else None)
    if listed is not None and sum(1 for leg in legs if leg[0] in listed) < len(listed):
        return "missing_leg"
    buy, fee = trade["type"] == "buy", trade["fee"]
    fees: dict[str, Decimal] = {"b": Decimal(0), "q": Decimal(0), "k": Decimal(0), "x": Decimal(0)}
    count = dict.fromkeys(fees, 0)
    usd_quote, qscale = False, 0
    for _, asset, amount, leg_fee in legs:
        kind = _kind(amount, buy, trade["vol"], trade["cost"])
        count[kind] += 1
        fees[kind] += leg_fee
        if kind == "q":
            usd_quote, qscale = usd_quote or asset.upper() in _USD, max(qscale, _scale(amount))
    if (count["x"] or count["b"] != 1 or count["q"] != 1) and not _split_base(legs, trade, count):
        return "leg_amount_mismatch"
    qfee, bfee, kfee = fees["q"], fees["b"] + fees["x"], fees["k"]
    with localcontext() as ctx:
        ctx.prec = 60  # exact: products and sums of stored amounts
        on_quote = bfee == 0 and kfee == 0 and abs(qfee - fee) <= _half_unit(qfee, fee)
        on_base = (bfee > 0 and kfee == 0 and abs(bfee * trade["price"] + qfee - fee)
                   <= fee / 50 + max(_half_unit(qfee, fee), Decimal(1).scaleb(-qscale)))
        on_kfee = (kfee > 0 and bfee == 0 and qfee == 0
                   and (not usd_quote or abs(kfee / 100 - fee) <= _half_unit(kfee, fee)))
    return None if on_quote or on_base or on_kfee else "leg_fee_mismatch"


def _judged(row: dict[str, Any]) -> dict[str, Any] | None:
    """A suspect trade with its verdict and every leg (listed ids not stored: asset None), or None when it
    agrees."""
    stored = row["legs"]
    row["verdict"] = margin_verdict(row, stored, row["types"]) if is_position_trade(row) else verdict(row, stored)
    if row["verdict"] is None:
        return None
    have = {leg[0] for leg in stored}
    legs = sorted([*stored, *((i, None, None, None) for i in row["ledgers"] or [] if i not in have)],
                  key=lambda leg: leg[0])
    row["leg_ids"], row["assets"] = [leg[0] for leg in legs], [leg[1] for leg in legs]
    row["amounts"], row["fees"] = [leg[2] for leg in legs], [leg[3] for leg in legs]
    return row


def _legs(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"ledger_id": i, "asset": a, "amount": m, "fee": f}
            for i, a, m, f in zip(row["leg_ids"] or [], row["assets"] or [], row["amounts"] or [],
                                  row["fees"] or [], strict=True)]


def _trade_findings(row: dict[str, Any]) -> list[Finding]:
    txid, verdict, legs = row["txid"], row["verdict"], _legs(row)
    details = {"trade": txid, "pair": row["pair"], "type": row["type"], "vol": row["vol"], "cost": row["cost"],
               "fee": row["fee"], "legs": legs, "time": row["time"]}
    base = {"check": TRADE, "kind": verdict, "severity": "break", "details": details, "scope": txid,
            "at": row["time"].isoformat()}
    if verdict == "missing_leg":
        return [Finding(**base, asset=None, source_ids=(txid, leg["ledger_id"]),
                        message=f"trade {txid} ({row['pair']}): ledger leg {leg['ledger_id']} is not stored")
                for leg in legs if leg["asset"] is None]
    if verdict == "no_legs":
        return [Finding(**base, source_ids=(txid,),
                        message=f"trade {txid} ({row['pair']}) has no ledger legs (no listed ids, no refid match)")]
    if verdict == "margin_leg_mismatch" or (verdict == "leg_fee_mismatch" and is_position_trade(row)):
        return margin_findings(row, legs, base)
    if verdict == "leg_fee_mismatch":
        fees = sum((leg["fee"] for leg in legs), start=row["fee"] * 0)
        return [Finding(**base, expected=row["fee"], actual=fees, difference=fees - row["fee"],
                        source_ids=(txid, *(leg["ledger_id"] for leg in legs)),
                        message=f"trade {txid} ({row['pair']}): fee {row['fee']} but its legs charge {fees}")]
    return _amount_findings(row, legs, base)


def _amount_findings(row: dict[str, Any], legs: list[dict[str, Any]], base: dict[str, Any]) -> list[Finding]:
    """Name the leg whose amount disagrees: the moving leg that matches neither vol nor cost (or the wrong sign)."""
    txid, vol, cost, buy = row["txid"], row["vol"], row["cost"], row["type"] == "buy"
    moving = [leg for leg in legs if leg["amount"] != 0]
    matched = {"vol": any(abs(leg["amount"]) == vol for leg in moving),
               "cost": any(abs(leg["amount"]) == cost for leg in moving)}
    out = []
    for leg in moving:
        amount = leg["amount"]
        if (abs(amount) == vol and (amount > 0) == buy) or (abs(amount) == cost and (amount < 0) == buy):
            continue
        want_vol = not matched["vol"]
        expected = (vol if buy else -vol) if want_vol else (-cost if buy else cost)
        out.append(Finding(**base, asset=leg["asset"], expected=expected, actual=amount,
                           difference=amount - expected, source_ids=(txid, leg["ledger_id"]),
                           message=(f"trade {txid} ({row['pair']} {row['type']} vol {vol} cost {cost}): leg "
                                    f"{leg['ledger_id']} moves {amount} {leg['asset']}, expected {expected}")))
    if not out:
        out.append(Finding(**base, source_ids=(txid,),
                           message=(f"trade {txid} ({row['pair']}): {len(moving)} moving legs, "
                                    "expected a base and a quote leg")))
    return out


def check_trade_ledger(inp: CheckInput) -> CheckReport:
    """Trades whose ledger legs are missing or disagree with vol, cost and fee."""
    examined, ids, suspects = recon_links.suspect_trades(inp.conn, inp.account, inp.as_of, inp.since)
    rows = [judged for row in suspects if (judged := _judged(row)) is not None]
    findings = [f for row in rows for f in _trade_findings(row)]
    return CheckReport(examined, findings, _scopes(ids))


def check_order_trades(inp: CheckInput) -> CheckReport:
    """Closed orders whose vol_exec, cost or fee differ from the sums over their trades."""
    examined, ids, rows = recon_orders.order_mismatches(inp.conn, inp.account, inp.as_of, inp.since)
    findings = []
    for row in rows:
        txid = row["txid"]
        parts = [(name, row[mine], row[theirs]) for name, mine, theirs in
                 (("vol_exec", "vol_exec", "vol"), ("cost", "cost", "tcost"), ("fee", "fee", "tfee"))
                 if row[mine] != row[theirs]]
        name, mine, theirs = parts[0] if parts else ("vol_exec", row["vol_exec"], row["vol"])
        findings.append(Finding(
            check=ORDER, kind="order_mismatch", severity="break", expected=theirs, actual=mine,
            difference=mine - theirs, source_ids=(txid,),
            message=(f"order {txid}: " + "; ".join(f"{n} {m} but its {row['n']} trade(s) sum to {t}"
                                                   for n, m, t in parts or [(name, mine, theirs)])),
            details={"order": txid, "fields": [p[0] for p in parts], "trades": row["ids"] or [],
                     "vol_exec": row["vol_exec"], "trades_vol": row["vol"], "cost": row["cost"],
                     "trades_cost": row["tcost"], "fee": row["fee"], "trades_fee": row["tfee"]},
            scope=txid, at=row["closetm"].isoformat(),
        ))
    return CheckReport(examined, findings, _scopes(ids))


def _scopes(ids: list[str] | None) -> dict[str, str | None] | None:
    """Incremental: only the trades/orders re-examined can be resolved."""
    return None if ids is None else {txid: None for txid in ids}
