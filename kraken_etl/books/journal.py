"""The journal's records: postings (one row of `reporting.journal`), transactions, openings, assertions.

The posting rules live in one place, the `reporting.journal_entry` view (see its migration): each entry's
transaction, accounts and which postings it has. The export reads it one row per entry and
`entry_postings` expands each row into its postings exactly as `reporting.journal` does (asset, fee,
counter; the amounts are the database's). This module groups the postings into transactions and works out,
from Kraken's own running balance, what each asset account holds at the end of each day with movements
(the balance assertions).

The seam for trading gains: a `GainsHook` receives each transaction and may return extra postings (for
example `Income:Kraken:Gains` against `Equity:Conversions` in the reporting currency, from the cost-basis
results). `kraken_etl.books.journal_gains` is the one wired: the stored books' realised gains.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NamedTuple

UNASSIGNED = "Unassigned"


class Posting(NamedTuple):
    """One posting: a row of `reporting.journal` (plus its value in the reporting currency, when asked).

    A named tuple: a million-entry journal builds a few million of them straight from database rows."""

    account: str  # Kraken account label
    txn_id: str
    txn_time: datetime
    refid: str | None
    ledger_id: str
    time: datetime
    type: str
    subtype: str
    posting: int  # 1 asset, 2 fee, 3 counter
    role: str
    gl_account: str
    asset: str
    wallet: str | None
    amount: Decimal
    kraken_balance: Decimal | None
    value: Decimal | None = None


@dataclass(slots=True)  # not frozen: a million-entry journal builds half a million (frozen fields cost a call each)
class Transaction:
    """The postings of one (account, txn_id), in order; they sum to zero in every asset."""

    account: str
    txn_id: str
    time: datetime
    postings: tuple[Posting, ...]
    day: date  # UTC day of `time`: the transaction's date

    @property
    def refid(self) -> str | None:
        return self.postings[0].refid

    @property
    def kinds(self) -> str:
        """The distinct ``type/subtype`` of its entries, in order: the transaction's narration."""
        first = self.postings[0]
        kind = f"{first.type}/{first.subtype}" if first.subtype else first.type
        seen: dict[str, None] = {kind: None}
        for p in self.postings:
            if p.type != first.type or p.subtype != first.subtype:
                seen.setdefault(f"{p.type}/{p.subtype}" if p.subtype else p.type, None)
        return ", ".join(seen)


@dataclass(frozen=True, slots=True)
class Opening:
    """A balance carried in: what an asset account holds before the first transaction exported."""

    day: date
    account: str
    gl_account: str
    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Assertion:
    """Kraken's running balance of an asset account at the end of `day` (the last entry's `balance`)."""

    day: date
    gl_account: str
    asset: str
    balance: Decimal
    ledger_id: str


GainsHook = Callable[[Transaction], Sequence[Posting]]

FEE_ACCOUNT = "Expenses:Kraken:Fees"  # the fee posting's account (`reporting.journal`'s posting 2)

# One row of the export's read of `reporting.journal_entry` (`kraken_etl.db.journal.journal_entries`):
# (account, txn_id, txn_time, refid, ledger_id, time, type, subtype, asset, wallet, asset account,
#  asset posting's amount (amount - fee), fee posting's amount or None, counter posting's amount or None,
#  Kraken balance, counter role, counter account, the three postings' values or None)
EntryRow = tuple[str, str, datetime, str | None, str, datetime, str, str, str, str | None, str, Decimal,
                 Decimal | None, Decimal | None, Decimal | None, str, str, Decimal | None, Decimal | None,
                 Decimal | None]


def entry_postings(rows: Iterable[EntryRow]) -> Iterator[Posting]:
    """The postings of each entry row, in order: 1 asset, 2 fee (when it has one), 3 counter (when it has
    one): the rows of `reporting.journal` for those entries."""
    new = tuple.__new__  # a million-entry journal makes 2.4 million postings: skip the named tuple's own __new__
    for (account, txn_id, txn_time, refid, ledger_id, time, kind, subtype, asset, wallet, asset_account, net, fee,
         counter, balance, role, counter_account, net_value, fee_value, counter_value) in rows:
        yield new(Posting, (account, txn_id, txn_time, refid, ledger_id, time, kind, subtype, 1, "asset",
                            asset_account, asset, wallet, net, balance, net_value))
        if fee is not None:
            yield new(Posting, (account, txn_id, txn_time, refid, ledger_id, time, kind, subtype, 2, "fee",
                                FEE_ACCOUNT, asset, wallet, fee, None, fee_value))
        if counter is not None:
            yield new(Posting, (account, txn_id, txn_time, refid, ledger_id, time, kind, subtype, 3, role,
                                counter_account, asset, wallet, counter, None, counter_value))

OPENING_ACCOUNT = "Equity:Opening-Balances"


def transactions(postings: Iterable[Posting], gains: GainsHook | None = None) -> Iterator[Transaction]:
    """Consecutive postings of one (account, txn_id) as one transaction (rows come ordered by transaction)."""
    batch: list[Posting] = []
    account = txn_id = None
    for posting in postings:
        if posting[1] != txn_id or posting[0] != account:  # (account, txn_id): a new transaction
            if batch:
                yield _made(batch, gains)
            batch = []
            account, txn_id = posting[0], posting[1]
        batch.append(posting)
    if batch:
        yield _made(batch, gains)


def _made(batch: list[Posting], gains: GainsHook | None) -> Transaction:
    first = batch[0]
    moment = first.txn_time.astimezone(UTC)  # the database session's time zone may be another
    txn = Transaction(first.account, first.txn_id, moment, tuple(batch), moment.date())
    if gains is not None:
        extra = tuple(gains(txn))
        if extra:
            txn = replace(txn, postings=txn.postings + extra)
    return txn


@dataclass(slots=True)
class _Last:
    time: datetime
    candidates: list[tuple[str, Decimal | str, Decimal | str]]  # (ledger_id, Kraken balance, amount - fee)


@dataclass(slots=True)
class DayEnds:
    """Feed transactions in order; `close_day` gives each asset account's balance at the end of the day,
    from Kraken's running balance of the day's last entry.

    Entries sharing the last second are ordered the way the chain allows: the last is the one whose balance
    is no other tied entry's starting balance (Kraken's order inside a second is not given). Entries with no
    wallet (`Unassigned`) or no Kraken balance are not asserted: they are counted in `unasserted`.
    """

    day: date | None = None
    last: dict[tuple[str, str], _Last] = field(default_factory=dict)
    unasserted: int = 0

    def add(self, txn: Transaction) -> list[Assertion]:
        """Take one transaction; returns the assertions of the day it closes (empty when the day goes on)."""
        closed = self.start(txn.day)
        for (_, _, _, _, ledger_id, time, _, _, posting, role, gl_account, asset, wallet, amount, balance,
             *_) in txn.postings:
            if posting == 1 and role == "asset":
                self.entry(ledger_id, time, gl_account, asset, wallet, amount, balance)
        return closed

    def start(self, day: date) -> list[Assertion]:
        """A transaction of `day` begins: returns the assertions of the day it closes (empty when the day goes on)."""
        closed = self.close_day() if self.day is not None and day != self.day else []
        self.day = day
        return closed

    def entry(self, ledger_id: str, time: datetime, gl_account: str, asset: str, wallet: str | None,
              net: Decimal | str, balance: Decimal | str | None) -> None:
        """Take the asset posting of one entry of the current day: its amount (amount - fee) and Kraken's
        balance after it, as Decimals or as their exact text."""
        if wallet is None or balance is None:
            self.unasserted += 1
            return
        key = (gl_account, asset)
        seen = self.last.get(key)
        if seen is None or time > seen.time:
            self.last[key] = _Last(time, [(ledger_id, balance, net)])
        elif time == seen.time:
            seen.candidates.append((ledger_id, balance, net))

    def close_day(self) -> list[Assertion]:
        """The assertions of the current day (and forget it)."""
        if self.day is None:
            return []
        out = [Assertion(self.day, gl, asset, *_final(last.candidates)) for (gl, asset), last in self.last.items()]
        self.last.clear()
        return out


def _final(candidates: list[tuple[str, Decimal | str, Decimal | str]]) -> tuple[Decimal, str]:
    if len(candidates) > 1:
        starts = [Decimal(balance) - Decimal(net) for _, balance, net in candidates]
        ends = [(lid, bal) for i, (lid, bal, _) in enumerate(candidates)
                if not any(j != i and s == Decimal(bal) for j, s in enumerate(starts))]
        if ends:
            lid, bal = ends[-1]
            return Decimal(bal), lid
    lid, bal, _ = candidates[-1]
    return Decimal(bal), lid
