"""`trade_ledger` for position trades (margin): which ledger entries a position trade must have.

Kraken's ledger moves no base asset for a trade on margin (support article "How to calculate profits/losses
from trading on margin"): each position trade has one ``margin`` entry in the quote currency, amount 0 when
it opens the position, the realised profit or loss when it closes it, and the trade's fee. A trade of type
``settle-position`` has two ``settled`` entries instead: the position's volume of the base and its cost of
the quote, opposite signs, no fee. A position's ``rollover`` entries may share the opening trade's txid as
refid; they belong to the position (the `positions` check), not to the trade, and are not judged here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kraken_etl.recon.finding import Finding

SETTLE = "settle-position"
Leg = tuple[str, str, Decimal, Decimal]  # ledger id, asset, amount, fee


def is_position_trade(trade: dict[str, Any]) -> bool:
    """A trade on margin: an opening trade (it has a `posstatus`) or one that posts a margin (closing)."""
    margin = trade.get("margin")
    return trade.get("posstatus") is not None or (margin is not None and margin > 0)


def margin_verdict(trade: dict[str, Any], legs: list[Leg], types: dict[str, str]) -> str | None:
    """What is wrong with a position trade given its stored legs by refid (and each leg's ledger type):
    missing_leg, no_legs, margin_leg_mismatch, leg_fee_mismatch, or None when it agrees."""
    listed = trade["ledgers"]
    own = [leg for leg in legs if types.get(leg[0]) != "rollover"]
    if listed is not None and sum(1 for leg in own if leg[0] in listed) < len(listed):
        return "missing_leg"
    if not own:
        return "no_legs" if listed is None else ("missing_leg" if listed else None)
    if trade["ordertype"] == SETTLE:
        if len(own) != 2 or any(types.get(leg[0]) != "settled" for leg in own):
            return "margin_leg_mismatch"
        amounts = sorted((abs(leg[2]), leg[2] > 0) for leg in own)
        wanted = sorted((trade["vol"], trade["cost"]))
        if [a for a, _ in amounts] != wanted or amounts[0][1] == amounts[1][1]:
            return "margin_leg_mismatch"
        return None if trade["fee"] == 0 and all(leg[3] == 0 for leg in own) else "leg_fee_mismatch"
    if len(own) != 1 or types.get(own[0][0]) != "margin":
        return "margin_leg_mismatch"
    if trade.get("posstatus") is not None and own[0][2] != 0:
        return "margin_leg_mismatch"  # opening a position realises nothing
    return None if own[0][3] == trade["fee"] else "leg_fee_mismatch"


def margin_findings(row: dict[str, Any], legs: list[dict[str, Any]], base: dict[str, Any]) -> list[Finding]:
    """The findings of a position trade whose verdict is margin_leg_mismatch or leg_fee_mismatch."""
    txid, types = row["txid"], row["types"]
    own = [leg for leg in legs if types.get(leg["ledger_id"]) != "rollover"]
    shown = ", ".join(f"{leg['ledger_id']} {types.get(leg['ledger_id'])} {leg['amount']} {leg['asset']} "
                      f"fee {leg['fee']}" for leg in own) or "none"
    ids = (txid, *(leg["ledger_id"] for leg in own))
    if row["verdict"] == "leg_fee_mismatch":
        fees = sum((leg["fee"] for leg in own), start=Decimal(0))
        return [Finding(**base, expected=row["fee"], actual=fees, difference=fees - row["fee"], source_ids=ids,
                        message=f"position trade {txid} ({row['pair']}): fee {row['fee']} but its ledger "
                                f"entries charge {fees} ({shown})")]
    want = ("two settled entries (the volume of the base, the cost of the quote)" if row["ordertype"] == SETTLE
            else "one margin entry" + (" of amount 0" if row.get("posstatus") is not None else ""))
    return [Finding(**base, source_ids=ids,
                    message=f"position trade {txid} ({row['pair']} {row['type']} vol {row['vol']} cost "
                            f"{row['cost']}): expected {want}; the ledger has {shown}")]
