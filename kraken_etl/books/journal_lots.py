"""Lots with cost in the journal: the lot engine's events as Beancount augmentations and `{}` reductions.

With `fifo` books, the Beancount export carries the lots themselves and leaves the realised gains to
Beancount's own booking (``option "booking_method" "FIFO"``):

- an acquisition (a trade's purchase, a reward, a deposit, an adjustment up) is an augmentation at the lot
  engine's cost, written as a total cost with its date and a label (``0.5 BTC {{20010.00 USD, 2025-01-02,
  "L…"}}``): the same fair value and fee rule `kraken-etl pnl` used, since the events are the engine's own
  (`kraken_etl.books.treatments_events`);
- a disposal is a `{}` reduction at its proceeds (``-0.5 BTC {} @@ 22500.00 USD``), a withdrawal a `{}`
  reduction whose cost goes to its counter account (elided: Beancount fills it in); the gain is an elided
  ``Income:Kraken:Gains`` posting, so Beancount computes it from the lots it booked;
- a trade's fee in the reporting currency is inside the lots (added to the cost, or taken off the proceeds,
  as the books' fee rule says), so the trade keeps only its reporting-currency wallet postings;
- income, deposits and adjustments are valued in the reporting currency on their counter account.

The books pool an asset across the wallets of an account (spot, Earn, staked `DOT.S` with `DOT`, `ETH2` with
`ETH`) while Beancount books lots per account, so in this mode an asset's wallets are one account,
``Assets:Kraken:<Account>:<Asset>``, in the books' commodity; its balance assertion is the sum of Kraken's
running balances of those wallets. Moves between wallets net to zero there and carry no cost.

Pure: events, postings and names in, records out (`LotLine`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from kraken_etl.books.journal import Posting, Transaction
from kraken_etl.books.lots import compute
from kraken_etl.books.lots_model import Event, Kind, Lot, Method
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.money import exact_sum

GAINS_ACCOUNT = "Income:Kraken:Gains"
CONVERSIONS_ACCOUNT = "Equity:Conversions"
LOT_KINDS = frozenset({Kind.ACQUIRE, Kind.INCOME, Kind.DISPOSE, Kind.TRANSFER_OUT})
_ADDS = frozenset({Kind.ACQUIRE, Kind.INCOME})
OPENING_PREFIX = "opening:"  # the books' id of a partial history's opening balance (`kraken_etl.db.books`)


class LotsError(KrakenEtlError):
    """The journal cannot carry the books' lots (a transaction whose lots and Kraken amounts disagree)."""


class LotLine(NamedTuple):
    """One posting line of a transaction in lots mode.

    `amount` None: an elided posting (Beancount fills it in). `cost` (a total) with `cost_date` and `label`:
    an augmentation. `reduce`: a `{}` reduction, at the total price `price` when it is a disposal."""

    gl_account: str
    amount: Decimal | None
    asset: str
    ledger_id: str
    cost: Decimal | None = None
    cost_date: date | None = None
    label: str = ""
    reduce: bool = False
    price: Decimal | None = None
    cost_assumed: bool = False
    value: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Pool:
    """Where a (Kraken account, journal asset) keeps its lots: the books' asset and the pooled account."""

    asset: str
    gl_account: str


@dataclass(slots=True)
class LotPlan:
    """The books' lot events of the exported accounts, ready to be placed on the journal's transactions.

    `pools` maps (account, journal asset) to its pool for every lotted asset (not the reporting currency, not
    fee credits); `events` are each account's events from the books' conversion of its ledger. `start`: the
    lots open then are the period's opening lots (the engine run over the earlier events with `method`)."""

    currency: str
    pools: Mapping[tuple[str, str], Pool]
    events: Mapping[str, Sequence[Event]]
    start: datetime | None = None
    method: Method = Method.FIFO  # the books' method: Beancount's booking_method of the same name
    _by_entry: dict[tuple[str, str], list[Event]] = field(default_factory=dict)
    _openings: dict[tuple[str, date], list[Event]] = field(default_factory=dict)
    acquisitions: int = 0
    reductions: int = 0

    def __post_init__(self) -> None:
        for account, events in self.events.items():
            for event in events:
                if event.kind not in LOT_KINDS or (self.start is not None and event.at < self.start):
                    continue
                first = event.entries[0] if event.entries else ""
                if first.startswith(OPENING_PREFIX):
                    self._openings.setdefault((account, event.at.date()), []).append(event)
                else:
                    self._by_entry.setdefault((account, first), []).append(event)

    def pool_account(self, account: str, asset: str) -> str:
        """The pooled account of a books' asset (the first pool naming it)."""
        for (acc, _), pool in self.pools.items():
            if acc == account and pool.asset == asset:
                return pool.gl_account
        raise LotsError(f"no journal account holds {asset} of account {account!r}")

    def opening_lots(self) -> list[tuple[str, Lot]]:
        """(account, lot) of the lots open at `start`, in the books' order (empty for the whole history)."""
        if self.start is None:
            return []
        start = self.start
        out: list[tuple[str, Lot]] = []
        for account, events in sorted(self.events.items()):
            books = compute([e for e in events if e.at < start], self.method)
            for lots in books.lots.values():
                out += [(account, lot) for lot in lots if lot.amount > 0]
        return out

    def opening_events(self, account: str, day: date) -> list[Event]:
        """The books' openings of partial histories (`opening:` deposits) of `account` on `day`."""
        return self._openings.pop((account, day), [])

    def transaction(self, txn: Transaction) -> list[LotLine]:
        """The lines of `txn`: with its lots when it has lot events, else its postings as they are (a lotted
        asset's in its pooled account and the books' commodity: a move between wallets nets to zero)."""
        events: list[Event] = []
        for p in txn.postings:
            found = self._by_entry.pop((txn.account, p.ledger_id), None)
            if found:
                events += found
        if events:
            return self._lines(txn, events)
        lines = []
        for p in txn.postings:
            pool = self.pools.get((txn.account, p.asset))
            if pool is None:
                lines.append(LotLine(p.gl_account, p.amount, p.asset, p.ledger_id, value=p.value))
            else:
                lines.append(LotLine(pool.gl_account if p.posting == 1 else p.gl_account, p.amount, pool.asset,
                                     p.ledger_id, value=p.value))
        return lines

    def unplaced(self, end: datetime | None) -> list[Event]:
        """Lot events dated before `end` (None: any) that no exported transaction or opening carried."""
        left = [e for events in self._by_entry.values() for e in events]
        left += [e for events in self._openings.values() for e in events]
        return sorted((e for e in left if end is None or e.at < end), key=lambda e: (e.at, e.seq))

    def _lines(self, txn: Transaction, events: list[Event]) -> list[LotLine]:
        assets = {e.asset for e in events}
        by_id: dict[str, Posting] = {}
        held: dict[str, list[Decimal]] = defaultdict(list)
        kept: list[LotLine] = []
        trade = any(e.label == "trade" for e in events)
        for p in txn.postings:
            pool = self.pools.get((txn.account, p.asset))
            if p.posting == 3:
                by_id.setdefault(p.ledger_id, p)
            if pool is not None and pool.asset in assets:
                if p.posting == 1:
                    held[pool.asset].append(p.amount)
                continue  # the lots stand for the asset postings; its fee and counter postings are inside them
            if trade and p.asset == self.currency and p.posting != 1:
                continue  # a trade's fee and counter in the reporting currency: inside the lots' cost and proceeds
            if pool is not None:  # a lotted asset with no lot event here (a wallet move beside a trade)
                kept.append(LotLine(pool.gl_account if p.posting == 1 else p.gl_account, p.amount, pool.asset,
                                    p.ledger_id, value=p.value))
            else:
                kept.append(LotLine(p.gl_account, p.amount, p.asset, p.ledger_id, value=p.value))
        for asset in sorted(assets):
            moved = exact_sum(e.amount if e.kind in _ADDS else -e.amount for e in events if e.asset == asset)
            if exact_sum(held[asset]) != moved:
                raise LotsError(f"transaction {txn.txn_id} of {txn.account!r} ({txn.kinds}) moves "
                                f"{exact_sum(held[asset])} {asset} but its lot events {moved}: it cannot carry lots")
        lots: list[LotLine] = []
        elided: list[LotLine] = []
        residual: list[Decimal] = [line.amount for line in kept if line.asset == self.currency and line.amount]
        for e in sorted(events, key=lambda e: e.kind in _ADDS):  # reductions first, then the new lots
            entry = e.entries[0] if e.entries else txn.txn_id
            account = self.pool_account(txn.account, e.asset)
            if e.kind in _ADDS:
                lots.append(LotLine(account, e.amount, e.asset, entry, cost=e.value,
                                    cost_date=(e.acquired_at or e.at).date(), label=_label(e),
                                    cost_assumed=e.cost_assumed))
                residual.append(e.value)
                self.acquisitions += 1
            elif e.kind is Kind.DISPOSE:
                lots.append(LotLine(account, -e.amount, e.asset, entry, reduce=True, price=e.value))
                residual += [-e.value, e.fees]
                self.reductions += 1
                if not any(line.gl_account == GAINS_ACCOUNT for line in elided):
                    elided.append(LotLine(GAINS_ACCOUNT, None, self.currency, entry))
            else:  # a withdrawal: its lots leave at their cost, which its counter account takes
                lots.append(LotLine(account, -e.amount, e.asset, entry, reduce=True))
                self.reductions += 1
                counter = by_id.get(entry)
                elided.append(LotLine(counter.gl_account if counter else CONVERSIONS_ACCOUNT, None,
                                      self.currency, entry))
        if len(elided) > 1:
            raise LotsError(f"transaction {txn.txn_id} of {txn.account!r} ({txn.kinds}) both disposes of lots "
                            "and withdraws them: Beancount can fill in only one posting")
        balance = exact_sum(residual)
        if balance:
            first = events[0].entries[0] if events[0].entries else txn.txn_id
            counter = None if trade else by_id.get(first)
            lots.append(LotLine(counter.gl_account if counter else CONVERSIONS_ACCOUNT, -balance, self.currency,
                                first))
        return kept + lots + elided


def _label(event: Event) -> str:
    return event.entries[0] if event.entries else f"{event.asset}-{event.at.isoformat()}"


def pools_from_rows(rows: Iterable[tuple[str, str, str, str]], currency: str,
                    unlotted: Iterable[str] = ("KFEE",)) -> dict[tuple[str, str], Pool]:
    """Pools from rows of (account, journal asset, books' asset, pooled account): every asset but the
    reporting currency and fee credits."""
    skip = {currency, *unlotted}
    return {(account, asset): Pool(book, gl) for account, asset, book, gl in rows if book not in skip}
