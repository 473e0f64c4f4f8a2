"""The lot engine: events of one tax entity in, open lots, disposals, income, transfers and shortfalls out.

`compute(events, method)` is the one entry. `fifo`, `lifo`, `hifo` and `average` are here; `uk` (HMRC
matching) is in `lots_uk`. Pure: no SQL, no HTTP, no clock; Decimal throughout, nothing rounded.

A disposal draws lots in the method's order; each lot it draws from gives one `Disposal` row carrying that
lot's share of the proceeds and fees (split by quantity; the last share takes the remainder so the shares
add up exactly). A disposal or transfer larger than what is held draws everything there is and records a
`Shortfall` naming the entries, plus a disposal row with rule `shortfall` and no cost for the missing
quantity, so the proceeds stay in the totals and the gap is visible.
"""

from __future__ import annotations

import gc
import heapq
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, localcontext
from operator import attrgetter

from kraken_etl.books.lots_checkpoint import WEEK, State, week_start
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

_ORDER = attrgetter("at", "seq")
_LOT_ORDER = attrgetter("acquired_at", "seq")
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


class _Queue:
    """The open lots of one asset, drawn in the method's order."""

    __slots__ = ("_average", "_count", "_fifo", "_heap", "_hifo", "_lifo", "last_acquired", "method")

    def __init__(self, method: Method) -> None:
        self.method = method
        self._hifo = method is Method.HIFO
        self._lifo = method is Method.LIFO
        self._average = method is Method.AVERAGE
        self._fifo: deque[Lot] = deque()
        self._heap: list[tuple[Decimal, int, Lot]] = []
        self._count = 0
        self.last_acquired: datetime | None = None

    def add(self, lot: Lot) -> None:
        if self._hifo:
            self._count += 1
            heapq.heappush(self._heap, (-lot.unit_cost, self._count, lot))
        elif self._average and self._fifo:
            pool = self._fifo[0]
            pool.amount += lot.amount
            pool.cost += lot.cost
            pool.entries = ()  # a pool has no single source: its rows give the range it drew from
            pool.cost_assumed = pool.cost_assumed or lot.cost_assumed
            pool.seq = lot.seq  # the pool's latest acquisition, for the range it draws from
            self.last_acquired = lot.acquired_at
        else:
            self._fifo.append(lot)
            self.last_acquired = lot.acquired_at

    def take(self, amount: Decimal) -> tuple[list[tuple[Lot, Decimal, Decimal]], Decimal]:
        """Draw `amount`: [(lot drawn from, quantity, cost)] and the quantity that was not there.

        A lot drawn from in part stays open with what is left; the row names it (its date, entries and flag are
        what the disposal row needs, read at once)."""
        drawn: list[tuple[Lot, Decimal, Decimal]] = []
        left = amount
        heap, lots = self._heap, self._fifo
        while left > ZERO:
            if self._hifo:
                if not heap:
                    break
                lot = heap[0][2]
            elif not lots:
                break
            else:
                lot = lots[-1] if self._lifo else lots[0]
            if lot.amount <= left:
                drawn.append((lot, lot.amount, lot.cost))
                left -= lot.amount
                if self._hifo:
                    heapq.heappop(heap)
                elif self._lifo:
                    lots.pop()
                else:
                    lots.popleft()
                if self._average:
                    self.last_acquired = None
            else:
                cost = lot.cost * left / lot.amount
                drawn.append((lot, left, cost))
                lot.amount -= left
                lot.cost -= cost
                left = ZERO
        return drawn, left

    def snapshot(self) -> State:
        """The open lots as values (a checkpoint's state): they can change after this."""
        held: list[tuple[Lot, Decimal | None, int]]
        if self._hifo:
            held = [(lot, -key, count) for key, count, lot in self._heap]
        else:
            held = [(lot, None, 0) for lot in self._fifo]
        # (a lot's `seq` is its event's place in one run, not a fact about it: not kept, so a checkpoint is the
        # same whichever run made it)
        return {"lots": [(lot.acquired_at, lot.amount, lot.cost, lot.entries, lot.cost_assumed, 0, key, count)
                         for lot, key, count in held],
                "last": self.last_acquired, "count": self._count}

    def restore(self, asset: str, state: State) -> None:
        """Take over the open lots of a checkpoint (the queue is new)."""
        for acquired_at, amount, cost, entries, assumed, seq, key, count in state["lots"]:
            lot = Lot(asset, acquired_at, amount, cost, entries, assumed, seq)
            if self._hifo:
                self._heap.append((-key, count, lot))
            else:
                self._fifo.append(lot)
        heapq.heapify(self._heap)
        self._count = state["count"]
        self.last_acquired = state["last"]

    def open_lots(self) -> list[Lot]:
        lots = [entry[2] for entry in self._heap] if self._hifo else list(self._fifo)
        return sorted(lots, key=_LOT_ORDER)


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
    queues: dict[str, _Queue] = {}
    weeks: dict[str, list[datetime | None]] = {}  # per asset: [week start recorded last, the next one]
    holdings = books.holdings
    rule = method.value
    for event in events:
        if event.kind is _GAIN:  # no lots: a margin position's profit or loss
            books.disposals.append(margin_disposal(event))
            continue
        queue = queues.get(event.asset)
        if queue is None:
            queue = queues[event.asset] = _Queue(method)
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
