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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from kraken_etl.books.lots import split
from kraken_etl.books.lots_checkpoint import WEEK, State
from kraken_etl.books.lots_model import (
    ZERO,
    Books,
    Checkpoint,
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
    margin_disposal,
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


def compute_uk(events: list[Event], *, day: Callable[[datetime], object] | None = None,
               resume: Mapping[str, Checkpoint] | None = None, checkpoints: bool = False) -> Books:
    """`events` sorted by moment then `seq` (as `lots.compute` hands them over; `resume` and `checkpoints` as
    there: a resumed asset's events start at its checkpoint, which is at least 30 days before its first
    changed event).

    Raises:
        ValueError: a checkpoint's 30-day draws name an acquisition day that has no acquisition (the
            checkpoint does not belong to these events).
    """
    to_day: Callable[[datetime], date] = day or _utc_day  # type: ignore[assignment]
    resume = resume or {}
    books = Books(Method.UK)
    per_asset: dict[str, list[Event]] = {}
    for event in events:
        if event.kind is Kind.GAIN:  # no lots, no pool: a margin position's profit or loss
            books.disposals.append(margin_disposal(event))
            continue
        per_asset.setdefault(event.asset, []).append(event)
        if event.kind is Kind.INCOME:
            books.income.append(Income(event.asset, event.at, event.amount, event.value, event.label, event.entries))
        elif event.kind is Kind.EXPENSE:
            books.expenses.append(Expense(event.asset, event.at, event.amount, event.value, event.label,
                                          event.entries))
    for asset, asset_events in sorted(per_asset.items()):
        pool = _match_asset(books, asset, asset_events, to_day, resume.get(asset), checkpoints)
        if pool is not None and pool.amount > ZERO:
            books.lots[asset] = [pool]
    books.disposals.sort(key=lambda d: d.disposed_at)
    books.holdings.sort(key=lambda h: h.at)
    return books


def _match_asset(books: Books, asset: str, events: list[Event], to_day: Callable[[datetime], date],
                 start: Checkpoint | None, record: bool) -> Lot | None:
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
    crossing: dict[date, list[tuple[date, Decimal]]] = {}  # week start → draws across it, in order
    # what the 30-day rule drew, before the checkpoint, from the acquisitions after it (in the same order)
    draws: list[tuple[date, Decimal]] = [] if start is None else start.state["draws"]
    for b, quantity in draws:
        assert start is not None
        if b not in bought or bought[b].left < quantity:
            raise ValueError(f"{asset}: the checkpoint of {start.at.isoformat()} drew {quantity} from {b}, "
                             "which these events do not hold")
        bought[b].draw(quantity)
        if record:  # drawn by a disposal before the checkpoint: it crosses every later week start up to `b`
            _crossing(crossing, start.at.date() - timedelta(days=1), b, quantity)
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
            if record:
                _crossing(crossing, d, b, quantity)
            out.matches.append(("thirty_day", quantity, cost, acq.first_at, acq.first_at, tuple(acq.entries),
                                acq.cost_assumed))
    # 3. the section 104 pool, in time order; on one day: acquisitions in, disposals out, then transfers out
    pool, pool_last = _pool(asset, start)
    last_week = None if start is None else start.at.date()
    timeline: list[tuple[date, int, datetime, object]] = []
    timeline += [(d, 0, acq.first_at, acq) for d, acq in bought.items()]
    timeline += [(d, 1, out.first_at, out) for d, out in sold.items()]
    timeline += [(to_day(t.at), 2, t.at, t) for t in transfers]
    timeline.sort(key=lambda item: (item[0], item[1], item[2]))
    for item_day, step, _, item in timeline:
        if record:
            week = item_day - timedelta(days=item_day.weekday())
            if last_week is None or week > last_week:
                books.checkpoints.append(_checkpoint(asset, week, pool, pool_last, crossing))
                last_week = week
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
    if record and last_week is not None and timeline:
        books.checkpoints.append(_checkpoint(asset, last_week + WEEK, pool, pool_last, crossing))
    return pool


def _crossing(crossing: dict[date, list[tuple[date, Decimal]]], sold: date, bought: date, quantity: Decimal) -> None:
    """Note a 30-day draw in the checkpoint of every week start between the disposal and the acquisition."""
    week = bought - timedelta(days=bought.weekday())
    while week > sold:
        crossing.setdefault(week, []).append((bought, quantity))
        week -= WEEK


def _pool(asset: str, start: Checkpoint | None) -> tuple[Lot | None, datetime | None]:
    if start is None or start.state["pool"] is None:
        return None, None if start is None else start.state["pool_last"]
    acquired_at, amount, cost, assumed = start.state["pool"]
    return Lot(asset, acquired_at, amount, cost, (), assumed), start.state["pool_last"]


def _checkpoint(asset: str, week: date, pool: Lot | None, pool_last: datetime | None,
                crossing: dict[date, list[tuple[date, Decimal]]]) -> Checkpoint:
    state: State = {"pool": None if pool is None else (pool.acquired_at, pool.amount, pool.cost, pool.cost_assumed),
                    "pool_last": pool_last, "draws": list(crossing.get(week, []))}
    return Checkpoint(asset, datetime.combine(week, time(), UTC), state)


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
