"""The lot engine: events of one tax entity in, open lots, disposals, income, transfers and shortfalls out.

`compute(events, method)` is the one entry. `fifo`, `lifo`, `hifo` and `average` are here (their queue of
open lots in `lots_queue`); `uk` (HMRC matching) is in `lots_uk`. Pure: no SQL, no HTTP, no clock; Decimal
throughout, nothing rounded.

A disposal draws lots in the method's order; each lot it draws from gives one `Disposal` row carrying that
lot's share of the proceeds and fees (split by quantity; the last share takes the remainder so the shares
add up exactly). A disposal or transfer larger than what is held draws everything there is and records a
`Shortfall` naming the entries, plus a disposal row with rule `shortfall` and no cost for the missing
quantity, so the proceeds stay in the totals and the gap is visible.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, localcontext
from operator import attrgetter

from kraken_etl.books.lots_checkpoint import WEEK, week_start
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
from kraken_etl.books.lots_queue import LotQueue

_ORDER = attrgetter("at", "seq")
# (an enum member lookup is slow: looked up once here)
_ACQUIRE, _INCOME, _DISPOSE, _TRANSFER_OUT = Kind.ACQUIRE, Kind.INCOME, Kind.DISPOSE, Kind.TRANSFER_OUT
_GAIN = Kind.GAIN
_AVERAGE = Method.AVERAGE.value
PRECISION = 48  # digits kept while splitting costs and proceeds (Decimal's default 28 is not enough for sums)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the engine allocates its (acyclic) rows.

    A run builds millions of small objects; without this the collector re-walks them again and again and the
    run spends a good part of its time there. Memory is still freed as usual (by reference counting); the
    collector is switched back on afterwards, only if it was on before.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def split(total: Decimal, parts: list[Decimal]) -> list[Decimal]:
    """`total` shared in proportion to `parts`; the last share is the remainder, so the shares sum to `total`."""
    if len(parts) == 1:  # the usual case, the same arithmetic as below without building the empty lists
        return [total - ZERO]
    if len(parts) == 2:  # the next most usual: the same operations in the same order, written out
        whole = ZERO + parts[0] + parts[1]
        share = total * parts[0] / whole if whole else ZERO
        return [share, total - (ZERO + share)]
    whole = sum(parts, ZERO)
    shares = [total * part / whole for part in parts[:-1]] if whole else [ZERO for _ in parts[:-1]]
    return [*shares, total - sum(shares, ZERO)]


def compute(events: Iterable[Event], method: Method | str, *, day: Callable[[datetime], object] | None = None,
            resume: Mapping[str, Checkpoint] | None = None, checkpoints: bool = False) -> Books:
    """Run the engine over every event of one entity (any order: they are sorted by moment, then `seq`).

    `day` (UK only) maps a moment to the calendar day the same-day and 30-day rules count in; the default is
    the UTC date. `checkpoints`: record each asset's state at the start of every week it has an event in
    (`books.checkpoints`, see `lots_checkpoint`). `resume`: per asset, the checkpoint to start from; that
    asset's events before the checkpoint are ignored, and its rows and checkpoints are those from there on.
    """
    method = Method(method)
    resume = resume or {}
    with gc_paused(), localcontext() as ctx:
        ordered = sorted(events, key=_ORDER)
        if resume:
            ordered = [e for e in ordered if (start := resume.get(e.asset)) is None or e.at >= start.at]
        ctx.prec = PRECISION
        if method is Method.UK:
            from kraken_etl.books.lots_uk import compute_uk

            if day is not None and (resume or checkpoints):
                raise ValueError("checkpoints count in UTC weeks: not with another day function")
            return compute_uk(ordered, day=day, resume=resume, checkpoints=checkpoints)
        return _compute_queued(ordered, method, resume, checkpoints)


def _compute_queued(events: list[Event], method: Method, resume: Mapping[str, Checkpoint],
                    checkpoints: bool) -> Books:
    books = Books(method)
    queues: dict[str, LotQueue] = {}
    weeks: dict[str, list[datetime | None]] = {}  # per asset: [week start recorded last, the next one]
    holdings = books.holdings
    rule = method.value
    for event in events:
        if event.kind is _GAIN:  # no lots: a margin position's profit or loss
            books.disposals.append(margin_disposal(event))
            continue
        queue = queues.get(event.asset)
        if queue is None:
            queue = queues[event.asset] = LotQueue(method)
            start = resume.get(event.asset)
            if start is not None:
                queue.restore(event.asset, start.state)
            weeks[event.asset] = [None if start is None else start.at, None]
        if checkpoints:
            week = weeks[event.asset]
            if week[1] is None or event.at >= week[1]:
                at = week_start(event.at)
                if week[0] is None or at > week[0]:
                    books.checkpoints.append(Checkpoint(event.asset, at, queue.snapshot()))
                    week[0] = at
                week[1] = at + WEEK
        kind = event.kind
        if kind is _ACQUIRE or kind is _INCOME:
            queue.add(Lot(event.asset, event.acquired_at or event.at, event.amount, event.value, event.entries,
                          event.cost_assumed, event.seq))
            holdings.append(Holding(event.asset, event.at, event.amount, event.value))
            if kind is _INCOME:
                books.income.append(Income(event.asset, event.at, event.amount, event.value, event.label,
                                           event.entries))
        elif kind is _DISPOSE:
            last = queue.last_acquired
            drawn, missing = queue.take(event.amount)
            _dispose(books, event, drawn, missing, rule, last)
            _held_out(books, event, drawn)
        elif kind is _TRANSFER_OUT:
            drawn, missing = queue.take(event.amount)
            _transfer(books, event, drawn, missing)
            _held_out(books, event, drawn)
        elif event.kind is Kind.EXPENSE:
            books.expenses.append(Expense(event.asset, event.at, event.amount, event.value, event.label,
                                          event.entries))
    books.lots = {asset: lots for asset, queue in sorted(queues.items()) if (lots := queue.open_lots())}
    if checkpoints:  # the state after each asset's last week
        books.checkpoints += [Checkpoint(asset, last + WEEK, queues[asset].snapshot())
                              for asset, (last, _) in sorted(weeks.items()) if last is not None]
    return books


def _held_out(books: Books, event: Event, drawn: list[tuple[Lot, Decimal, Decimal]]) -> None:
    if len(drawn) == 1:  # the usual case: the same sums, one term each
        _, quantity, cost = drawn[0]
        books.holdings.append(Holding(event.asset, event.at, -(ZERO + quantity), -(ZERO + cost)))
    elif drawn:  # the sums of `sum(…, ZERO)`, term by term in the same order, in one pass
        quantity = cost = ZERO
        for _, q, c in drawn:
            quantity += q
            cost += c
        books.holdings.append(Holding(event.asset, event.at, -quantity, -cost))


def _dispose(books: Books, event: Event, drawn: list[tuple[Lot, Decimal, Decimal]], missing: Decimal,
             rule: str, pool_last: datetime | None) -> None:
    if len(drawn) == 1 and not missing > ZERO:  # one lot, all there: `split` of one part, written out
        lot, quantity, cost = drawn[0]
        latest = pool_last if rule == _AVERAGE and pool_last else lot.acquired_at
        books.disposals.append(Disposal(event.asset, event.at, quantity, event.value - ZERO, cost, event.fees - ZERO,
                                        rule, lot.acquired_at, latest, event.entries, lot.entries, lot.cost_assumed))
        return
    quantities = [quantity for _, quantity, _ in drawn] + ([missing] if missing > ZERO else [])
    proceeds = split(event.value, quantities)
    fees = split(event.fees, quantities)
    pooled = rule == _AVERAGE and pool_last
    for i, (lot, quantity, cost) in enumerate(drawn):
        last = pool_last if pooled else lot.acquired_at
        books.disposals.append(Disposal(event.asset, event.at, quantity, proceeds[i], cost, fees[i], rule,
                                        lot.acquired_at, last, event.entries, lot.entries, lot.cost_assumed))
    if missing > ZERO:
        shortfall(books, event, missing, proceeds[-1], fees[-1])


def shortfall(books: Books, event: Event, missing: Decimal, proceeds: Decimal, fees: Decimal) -> None:
    """Record the part of a disposal that had no lots: a finding, and a zero-cost row marked `shortfall`."""
    books.shortfalls.append(Shortfall(event.asset, event.at, event.amount, event.amount - missing, event.entries))
    books.disposals.append(Disposal(event.asset, event.at, missing, proceeds, ZERO, fees, "shortfall", None,
                                    None, event.entries, ()))


def _transfer(books: Books, event: Event, drawn: list[tuple[Lot, Decimal, Decimal]], missing: Decimal) -> None:
    if drawn:
        books.transfers.append(Transfer(event.asset, event.at, sum((q for _, q, _ in drawn), ZERO),
                                        sum((c for _, _, c in drawn), ZERO), event.entries))
    if missing > ZERO:
        books.shortfalls.append(Shortfall(event.asset, event.at, event.amount, event.amount - missing,
                                          event.entries))
