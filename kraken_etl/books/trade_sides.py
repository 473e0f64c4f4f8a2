"""The sides of one trade in the books (pure): several legs of one asset on one side are one event, and a
trade's value is shared among the assets of a side.

Kraken writes a leg per wallet when one order is filled from spot and an Earn wallet; summing them is what
keeps the disposal whole (BittyTax PR #499 under-reported a 31.41 ETH sale as 1.55 ETH by keeping one).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from kraken_etl.books.lots_model import ZERO

if TYPE_CHECKING:
    from kraken_etl.books.event_lines import LedgerLine


def by_asset(legs: list[tuple[LedgerLine, Decimal]]) -> list[tuple[LedgerLine, Decimal]]:
    """Legs of one side merged per asset (their quantities summed, the first leg standing for them): a sale
    filled from spot and an Earn wallet disposes of the whole amount in one event (BittyTax PR #499)."""
    if len(legs) < 2:
        return legs
    merged: dict[str, tuple[LedgerLine, Decimal]] = {}
    for leg, net in legs:
        first = merged.get(leg.asset)
        merged[leg.asset] = (leg, net) if first is None else (first[0], first[1] + net)
    return list(merged.values())


def net_same_asset(gives: list[tuple[LedgerLine, Decimal]], gets: list[tuple[LedgerLine, Decimal]]
                   ) -> tuple[list[tuple[LedgerLine, Decimal]], list[tuple[LedgerLine, Decimal]]]:
    """An asset on both sides (one per side, after `by_asset`) moves only by the difference: a renamed asset
    converted one for one (`ETH2.S` → `ETH`, both ETH in the books) is no disposal."""
    both = {leg.asset for leg, _ in gives} & {leg.asset for leg, _ in gets}
    if not both:
        return gives, gets
    given = {leg.asset: (leg, net) for leg, net in gives}
    got = {leg.asset: (leg, net) for leg, net in gets}
    out_gives = [(leg, net) for leg, net in gives if leg.asset not in both]
    out_gets = [(leg, net) for leg, net in gets if leg.asset not in both]
    for asset in sorted(both):
        left = got[asset][1] + given[asset][1]
        if left > 0:
            out_gets.append((got[asset][0], left))
        elif left < 0:
            out_gives.append((given[asset][0], left))
    return out_gives, out_gets


def shares(value: Decimal, legs: list[tuple[LedgerLine, Decimal]]) -> list[Decimal]:
    """The trade's value shared among several legs on one side by their fair value (equally without prices)."""
    if len(legs) <= 1:
        return [value for _ in legs]
    weights = [abs(net) * leg.price if leg.price is not None else None for leg, net in legs]
    if any(w is None for w in weights) or not sum(w for w in weights if w is not None):
        weights = [Decimal(1) for _ in legs]
    whole = sum((w for w in weights if w is not None), ZERO)
    parts = [value * w / whole for w in weights[:-1] if w is not None]
    return [*parts, value - sum(parts, ZERO)]
