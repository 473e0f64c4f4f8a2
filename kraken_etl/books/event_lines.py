"""The lines the books convert and what the conversion gives: a ledger entry as the books read it, an opening
lot, a finding, and the events being built. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from kraken_etl.books.lots_model import ZERO, Event, Kind


@dataclass(frozen=True, slots=True)
class LedgerLine:
    ledger_id: str
    refid: str | None
    at: datetime
    type: str
    subtype: str
    asset: str  # canonical, wallet suffix dropped
    amount: Decimal
    fee: Decimal
    price: Decimal | None  # one unit in the reporting currency at `at`; None when no price is known
    account: str = ""

    @property
    def net(self) -> Decimal:
        return self.amount - self.fee


@dataclass(frozen=True, slots=True)
class OpeningLot:
    """A lot the user says they held before it reached Kraken (`kraken-etl lots import`)."""

    asset: str
    amount: Decimal
    cost: Decimal
    acquired_at: datetime
    source: str  # where it came from (file and row), carried to the disposals that draw on it


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # unclassified, no_price, cost_assumed, opening_lot_unused
    entries: tuple[str, ...]
    detail: str
    asset: str = ""  # the entry's asset (the lot's, for an opening lot)
    at: datetime | None = None  # the entry's moment (a trade's: the trade's); None for an opening lot


# How far the deposits of one asset have used its opening lots: (lots used up, what is left of the next one:
# quantity, cost), the next one being the asset's lot of that index in order of acquisition.
Progress = tuple[int, Decimal, Decimal]


@dataclass(slots=True)
class Converted:
    events: list[Event]
    findings: list[Finding]
    # events being built, as Event's fields without `seq` (given once they are in order: one Event each)
    pending: list[tuple[object, ...]] = field(default_factory=list)
    # per asset with opening lots: (moment of a deposit, how far the opening lots were used after it)
    progress: dict[str, list[tuple[datetime, Progress]]] = field(default_factory=dict)

    def add(self, kind: Kind, asset: str, at: datetime, amount: Decimal, value: Decimal = ZERO,
            fees: Decimal = ZERO, entries: tuple[str, ...] = (), *, cost_assumed: bool = False, label: str = "",
            acquired_at: datetime | None = None) -> None:
        self.pending.append((kind, asset, at, amount, value, fees, entries, cost_assumed, label, acquired_at))


def value_of(out: Converted, line: LedgerLine, quantity: Decimal, at: datetime | None = None) -> Decimal:
    """`quantity` of `line`'s asset at its price; no price is a `no_price` finding and a value of 0."""
    if line.price is None:
        out.findings.append(Finding("no_price", (line.ledger_id,),
                                    f"no price for {line.asset} at {line.at.isoformat()}: valued at 0",
                                    line.asset, at or line.at))
        return ZERO
    return quantity * line.price
