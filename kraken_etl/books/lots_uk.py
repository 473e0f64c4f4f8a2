"""HMRC share matching for cryptoassets (the `uk` method), per asset:

1. the same-day rule: disposals are matched with acquisitions of the same day (all of a day's acquisitions
   count as one acquisition, all of its disposals as one disposal, at their total cost and proceeds);
2. the 30-day ("bed and breakfast") rule: what is left of a day's disposals is matched with acquisitions in
   the 30 days after it, the earliest acquisition first, the earlier disposal day first;
3. the section 104 pool: everything else; a disposal takes the pool's average cost at that moment.

A transfer out (to the owner's own wallet) takes quantity and its share of cost out of the pool and is
never matched by the day rules. A disposal row is one day's disposals matched by one rule to one source
(one acquisition day, or the pool). Pure and Decimal throughout, like `lots`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from kraken_etl.books.lots import split
from kraken_etl.books.lots_model import (
    ZERO,
    Books,
    Disposal,
    Event,
    Expense,
    Holding,
    Income,
    Kind,
    Lot,
    Method,
    Shortfall,
    Transfer,
)

WINDOW = timedelta(days=30)


@dataclass(slots=True)
class _Day:
    """All acquisitions (or all disposals) of one asset on one day, as one."""

    day: date
    first_at: datetime
    amount: Decimal = ZERO
    value: Decimal = ZERO  # cost, or proceeds
    fees: Decimal = ZERO
    entries: list[str] = field(default_factory=list)
    cost_assumed: bool = False
    left: Decimal = ZERO  # quantity not yet matched
    value_left: Decimal = ZERO  # cost of what is not yet matched (acquisitions)
    # disposals: (rule, quantity, cost, first, last, acquisition entries, cost assumed)
    matches: list[tuple[str, Decimal, Decimal, datetime | None, datetime | None, tuple[str, ...], bool]] = field(
        default_factory=list)

    def add(self, event: Event) -> None:
        self.amount += event.amount
        self.value += event.value
        self.fees += event.fees
        self.entries.extend(event.entries)
        self.cost_assumed = self.cost_assumed or event.cost_assumed
        self.left = self.amount
        self.value_left = self.value

    def draw(self, quantity: Decimal) -> Decimal:
        """Take `quantity` of what is left of this acquisition day; returns its share of the cost."""
        cost = self.value_left if quantity == self.left else self.value_left * quantity / self.left
        self.left -= quantity
        self.value_left -= cost
        return cost


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def compute_uk(events: list[Event], *, day: Callable[[datetime], object] | None = None) -> Books:
    """`events` sorted by moment then `seq` (as `lots.compute` hands them over)."""
    to_day: Callable[[datetime], date] = day or _utc_day  # type: ignore[assignment]
    books = Books(Method.UK)
    per_asset: dict[str, list[Event]] = {}
    for event in events:
        per_asset.setdefault(event.asset, []).append(event)
        if event.kind is Kind.INCOME:
            books.income.append(Income(event.asset, event.at, event.amount, event.value, event.label, event.entries))
        elif event.kind is Kind.EXPENSE:
            books.expenses.append(Expense(event.asset, event.at, event.amount, event.value, event.label,
                                          event.entries))
    for asset, asset_events in sorted(per_asset.items()):
        pool = _match_asset(books, asset, asset_events, to_day)
        if pool is not None and pool.amount > ZERO:
            books.lots[asset] = [pool]
    books.disposals.sort(key=lambda d: d.disposed_at)
    books.holdings.sort(key=lambda h: h.at)
    return books


def _match_asset(books: Books, asset: str, events: list[Event], to_day: Callable[[datetime], date]) -> Lot | None:
    bought: dict[date, _Day] = {}
    sold: dict[date, _Day] = {}
    transfers: list[Event] = []
    for event in events:
        if event.kind in (Kind.ACQUIRE, Kind.INCOME):
            books.holdings.append(Holding(asset, event.at, event.amount, event.value))
        if event.kind in (Kind.ACQUIRE, Kind.INCOME, Kind.DISPOSE):
            d = to_day(event.at)
            book = sold if event.kind is Kind.DISPOSE else bought
            if d not in book:
                book[d] = _Day(d, event.at)
            book[d].add(event)
        elif event.kind is Kind.TRANSFER_OUT:
            transfers.append(event)

    # 1. same day
    for d, out in sold.items():
        acq = bought.get(d)
        if acq is not None and acq.left > ZERO:
            quantity = min(out.left, acq.left)
            cost = acq.draw(quantity)
            out.left -= quantity
            out.matches.append(("same_day", quantity, cost, acq.first_at, acq.first_at, tuple(acq.entries),
                                acq.cost_assumed))
    # 2. the next 30 days, earlier disposals first, earliest acquisition first
    buy_days = sorted(bought)
    for d in sorted(sold):
        out = sold[d]
        for i in range(bisect_right(buy_days, d), len(buy_days)):  # the first acquisition day after `d`
            b = buy_days[i]
            if out.left <= ZERO:
                break
            if b > d + WINDOW:
                break
            acq = bought[b]
            if acq.left <= ZERO:
                continue
            quantity = min(out.left, acq.left)
            cost = acq.draw(quantity)
            out.left -= quantity
            out.matches.append(("thirty_day", quantity, cost, acq.first_at, acq.first_at, tuple(acq.entries),
                                acq.cost_assumed))
    # 3. the section 104 pool, in time order; on one day: acquisitions in, disposals out, then transfers out
    pool: Lot | None = None
    pool_last: datetime | None = None
    timeline: list[tuple[date, int, datetime, object]] = []
    timeline += [(d, 0, acq.first_at, acq) for d, acq in bought.items()]
    timeline += [(d, 1, out.first_at, out) for d, out in sold.items()]
    timeline += [(to_day(t.at), 2, t.at, t) for t in transfers]
    timeline.sort(key=lambda item: (item[0], item[1], item[2]))
    for _, step, _, item in timeline:
        if step == 0:
            acq = item  # type: ignore[assignment]
            assert isinstance(acq, _Day)
            if acq.left > ZERO:
                if pool is None or pool.amount <= ZERO:
                    pool = Lot(asset, acq.first_at, ZERO, ZERO)
                pool.amount += acq.left
                pool.cost += acq.value_left
                pool.cost_assumed = pool.cost_assumed or acq.cost_assumed
                pool_last = acq.first_at
                acq.value_left, acq.left = ZERO, ZERO
        elif step == 1:
            out = item  # type: ignore[assignment]
            assert isinstance(out, _Day)
            if out.left > ZERO and pool is not None and pool.amount > ZERO:
                quantity = min(out.left, pool.amount)
                cost = pool.cost if quantity == pool.amount else pool.cost * quantity / pool.amount
                pool.amount -= quantity
                pool.cost -= cost
                out.left -= quantity
                out.matches.append(("pool", quantity, cost, pool.acquired_at, pool_last, (), pool.cost_assumed))
            _emit(books, asset, out)
        else:
            transfer = item
            assert isinstance(transfer, Event)
            held = pool.amount if pool is not None else ZERO
            quantity = min(transfer.amount, held)
            if quantity > ZERO and pool is not None:
                cost = pool.cost if quantity == pool.amount else pool.cost * quantity / pool.amount
                pool.amount -= quantity
                pool.cost -= cost
                books.transfers.append(Transfer(asset, transfer.at, quantity, cost, transfer.entries))
                books.holdings.append(Holding(asset, transfer.at, -quantity, -cost))
            if transfer.amount > held:
                books.shortfalls.append(Shortfall(asset, transfer.at, transfer.amount, held, transfer.entries))
    return pool


def _emit(books: Books, asset: str, out: _Day) -> None:
    """One day's disposals as rows, one per match, proceeds and fees shared by quantity."""
    matches = list(out.matches)
    if out.left > ZERO:
        books.shortfalls.append(Shortfall(asset, out.first_at, out.amount, out.amount - out.left,
                                          tuple(out.entries)))
        matches.append(("shortfall", out.left, ZERO, None, None, (), False))
    matched = [m for m in matches if m[0] != "shortfall"]
    if matched:
        books.holdings.append(Holding(asset, out.first_at, -sum((m[1] for m in matched), ZERO),
                                      -sum((m[2] for m in matched), ZERO)))
    quantities = [m[1] for m in matches]
    proceeds = split(out.value, quantities)
    fees = split(out.fees, quantities)
    for i, (rule, quantity, cost, first, last, sources, assumed) in enumerate(matches):
        books.disposals.append(Disposal(asset, out.first_at, quantity, proceeds[i], cost, fees[i], rule, first,
                                        last, tuple(out.entries), sources, assumed))
