"""What every journal renderer provides, and the one loop that drives them.

The loop reads the postings once, in order (streaming: a 1,000,000-entry account is never held in memory),
groups them into transactions, and hands each renderer the openings, the transactions and, when a day ends,
Kraken's balances of the accounts that moved that day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol, TextIO

from kraken_etl.books.journal import Assertion, DayEnds, GainsHook, Opening, Posting, Transaction, transactions


@dataclass(frozen=True, slots=True)
class Price:
    """A day's closing price of one unit of `base` in `quote` (from Kraken's candles)."""

    day: date
    base: str
    quote: str
    price: Decimal


@dataclass(slots=True)
class JournalStats:
    """What was written."""

    transactions: int = 0
    postings: int = 0
    openings: int = 0
    assertions: int = 0
    prices: int = 0
    unasserted: int = 0  # asset postings with no wallet or no Kraken balance: not asserted
    first_day: date | None = None
    last_day: date | None = None
    gains: int = 0  # stored disposals whose realised gain was posted (with a cost-basis method)
    gain_total: Decimal = Decimal(0)  # their gains summed, in the reporting currency
    lot_acquisitions: int = 0  # lots written at cost (Beancount with lots)
    lot_reductions: int = 0  # `{}` reductions written, Beancount booking them (disposals and withdrawals)


class Renderer(Protocol):
    def begin(self) -> None: ...
    def prices(self, prices: Iterable[Price]) -> int: ...
    def openings(self, openings: list[Opening]) -> None: ...
    def transaction(self, txn: Transaction) -> None: ...
    def assertion(self, assertion: Assertion) -> None: ...
    def end(self) -> None: ...


def write_block(out: TextIO, lines: Iterable[str]) -> int:
    """Write `lines` (each without its newline) and a blank line after them when there were any; returns how many."""
    count = 0
    for line in lines:
        out.write(line + "\n")
        count += 1
    if count:
        out.write("\n")
    return count


def number(value: Decimal) -> str:
    """A Decimal written exactly as stored (its own decimals, trailing zeros kept), never in exponent form."""
    text = str(value)  # the plain form unless it has an exponent (then the same digits as format "f" gives)
    if "E" in text:
        text = format(value, "f")
    return text[1:] if text.startswith("-0") and value == 0 else text


def begin(renderer: Renderer, openings: list[Opening], prices: Iterable[Price]) -> JournalStats:
    """Start the file: its header, the price directives and the opening balances; what they wrote."""
    stats = JournalStats()
    renderer.begin()
    stats.prices = renderer.prices(prices)
    if openings:
        renderer.openings(openings)
        stats.openings = len(openings)
        stats.first_day = min(o.day for o in openings)
    return stats


def render(renderer: Renderer, *, openings: list[Opening], postings: Iterable[Posting], prices: Iterable[Price],
           gains: GainsHook | None = None) -> JournalStats:
    """Drive `renderer` over the journal; returns what was written."""
    stats = begin(renderer, openings, prices)
    ends = DayEnds()
    for txn in transactions(postings, gains):
        for assertion in ends.add(txn):
            renderer.assertion(assertion)
            stats.assertions += 1
        renderer.transaction(txn)
        stats.transactions += 1
        stats.postings += len(txn.postings)
        stats.first_day = txn.day if stats.first_day is None else min(stats.first_day, txn.day)
        stats.last_day = txn.day
    for assertion in ends.close_day():
        renderer.assertion(assertion)
        stats.assertions += 1
    stats.unasserted = ends.unasserted
    renderer.end()
    return stats
