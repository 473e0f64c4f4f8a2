"""The open lots of one asset, drawn in a method's order (`fifo`, `lifo`, `hifo`, `average`): the lot engine's
queue (`kraken_etl.books.lots`). Pure; Decimal throughout, nothing rounded."""

from __future__ import annotations

import heapq
from collections import deque
from datetime import datetime
from decimal import Decimal
from operator import attrgetter

from kraken_etl.books.lots_checkpoint import State
from kraken_etl.books.lots_model import ZERO, Lot, Method

_LOT_ORDER = attrgetter("acquired_at", "seq")


class LotQueue:
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
