"""Opening lots (held before they reached Kraken) drawn by the deposits of their asset, in order of acquisition.
Pure."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from kraken_etl.books.event_lines import Converted, Finding, LedgerLine, OpeningLot, Progress, value_of
from kraken_etl.books.lots_model import ZERO, Kind


@dataclass(slots=True)
class Openings:
    """The opening lots of one asset not yet deposited, and how many were used up before them."""

    lots: deque[OpeningLot]
    used: int = 0

    def progress(self) -> Progress:
        return (self.used, self.lots[0].amount, self.lots[0].cost) if self.lots else (self.used, ZERO, ZERO)


def held_openings(opening_lots: Iterable[OpeningLot], progress: Mapping[str, Progress]) -> dict[str, Openings]:
    """Per asset, its opening lots not yet deposited: all of them, or what `progress` says was left."""
    openings: dict[str, Openings] = defaultdict(lambda: Openings(deque()))
    for lot in sorted(opening_lots, key=lambda lot: lot.acquired_at):
        openings[lot.asset].lots.append(lot)
    for asset, (used, amount, cost) in progress.items():
        held = openings[asset]
        for _ in range(min(used, len(held.lots))):
            held.lots.popleft()
        held.used = used
        if held.lots:
            lot = held.lots[0]
            held.lots[0] = OpeningLot(lot.asset, amount, cost, lot.acquired_at, lot.source)
    return openings


def deposit(out: Converted, line: LedgerLine, quantity: Decimal, held: Openings) -> None:
    """A deposit of `quantity`: lots drawn from the asset's opening lots in order, the rest at fair value
    (`cost_assumed`)."""
    lots = held.lots
    if lots:
        out.progress.setdefault(line.asset, [])
    left = quantity
    while left > 0 and lots:
        lot = lots[0]
        take = min(left, lot.amount)
        cost = lot.cost if take == lot.amount else lot.cost * take / lot.amount
        out.add(Kind.ACQUIRE, line.asset, line.at, take, cost, entries=(line.ledger_id, lot.source),
                                label="deposit", acquired_at=lot.acquired_at)
        left -= take
        if take == lot.amount:
            lots.popleft()
            held.used += 1
        else:
            lots[0] = OpeningLot(lot.asset, lot.amount - take, lot.cost - cost, lot.acquired_at, lot.source)
    if left > 0:
        out.add(Kind.ACQUIRE, line.asset, line.at, left, value_of(out, line, left),
                                entries=(line.ledger_id,), cost_assumed=True, label="deposit")
        out.findings.append(Finding("cost_assumed", (line.ledger_id,),
                                    f"{left} {line.asset} deposited without an opening lot: cost is fair value",
                                    line.asset, line.at))
    if line.asset in out.progress:
        out.progress[line.asset].append((line.at, held.progress()))


def unused_openings(out: Converted, openings: Mapping[str, Openings]) -> None:
    """An `opening_lot_unused` finding for each opening lot no deposit reached."""
    for asset, held in openings.items():
        for lot in held.lots:
            out.findings.append(Finding("opening_lot_unused", (lot.source,),
                                        f"{lot.amount} {asset} acquired {lot.acquired_at.isoformat()} never deposited",
                                        asset))
