"""Realised gains in the journal: the `GainsHook` fed from the stored cost-basis results.

Each stored disposal (`reporting.disposals` of the entity's run for the chosen method and currency) is posted
once, on the transaction holding its first disposal entry: ``Income:Kraken:Gains`` gets minus the gain (a gain
is income, a credit) and ``Equity:Conversions`` the gain, both in the reporting currency, so the transaction
still balances in every commodity. Nothing is recomputed here: proceeds, cost and gain are the books'. The
gains of one transaction are summed exactly and written to 16 decimals (`QUANTUM`): Beancount holds 28
significant digits, the stored gains more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from kraken_etl.books.journal import Posting, Transaction
from kraken_etl.core.money import EXACT_DIGITS

GAINS_ACCOUNT = "Income:Kraken:Gains"
CONVERSIONS_ACCOUNT = "Equity:Conversions"
GAIN_POSTING = 4  # after 1 asset, 2 fee, 3 counter

# Beancount keeps 28 significant digits of a number and the books' gains carry more (a cost split over lots):
# each transaction's gain is written to 16 decimals (exact in Beancount for a gain under 10**12), half-even.
QUANTUM = Decimal("1e-16")


@dataclass(frozen=True, slots=True)
class StoredDisposal:
    """One row of the stored books: what the journal needs of it."""

    asset: str
    disposed_at: datetime
    gain: Decimal
    disposal_entries: tuple[str, ...]


@dataclass(slots=True)
class StoredGains:
    """A `GainsHook`: posts each stored disposal's gain once, on the transaction of its first disposal entry.

    `posted` counts the disposals posted and `total` sums the gains written (each transaction's to
    `QUANTUM`); `unposted` lists those of a period that no exported transaction carried (the export refuses
    to finish with any: nothing is dropped)."""

    currency: str
    disposals: Sequence[StoredDisposal]
    posted: int = 0
    total: Decimal = Decimal(0)
    _by_entry: dict[str, list[int]] = field(default_factory=dict)
    _done: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        for index, disposal in enumerate(self.disposals):
            if disposal.disposal_entries:
                self._by_entry.setdefault(disposal.disposal_entries[0], []).append(index)

    def __call__(self, txn: Transaction) -> list[Posting]:
        gain = Decimal(0)
        hits = 0
        source: Posting | None = None  # the posting of the first disposal entry: the gain postings' origin
        with localcontext(prec=EXACT_DIGITS):  # sums stay exact: the books' gains carry many decimals
            for p in txn.postings:
                for index in self._by_entry.get(p.ledger_id, ()):
                    if index not in self._done:
                        self._done.add(index)
                        gain += self.disposals[index].gain
                        hits += 1
                        source = source or p
            if source is None:
                return []
            gain = gain.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)
            self.posted += hits
            self.total += gain
        income = source._replace(posting=GAIN_POSTING, role="gain", gl_account=GAINS_ACCOUNT,
                                 asset=self.currency, wallet=None, amount=gain.copy_negate(),
                                 kraken_balance=None, value=gain.copy_negate())
        return [income, income._replace(role="gain counter", gl_account=CONVERSIONS_ACCOUNT, amount=gain,
                                        value=gain)]

    def unposted(self, start: datetime | None, end: datetime | None) -> list[StoredDisposal]:
        """The disposals dated in [start, end) that no transaction carried."""
        return [d for i, d in enumerate(self.disposals) if i not in self._done
                and (start is None or d.disposed_at >= start) and (end is None or d.disposed_at < end)]


def stored_gains(currency: str, rows: Iterable[tuple[str, datetime, Decimal, Sequence[str]]]) -> StoredGains:
    """A hook over rows of (asset, disposed_at, gain, disposal_entries)."""
    return StoredGains(currency, [StoredDisposal(a, at, g, tuple(e or ())) for a, at, g, e in rows])
