"""The account's compact in-memory store and its query logic (windows, ordering, paging).

Rows live in `Table` columns in chronological *position* order. Kraken pages newest first with ties
broken by id; the store makes position order agree with (time, id) order (simulator/storeids.py renders
and looks up the ids). A page is then a slice of positions, found with a binary search on time —
O(log n) however large the account. Filtered queries (asset/type filters, rows hidden by faults) use a
cached array of matching positions. Which records the accounting faults touch: simulator/storefaults.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kraken_etl.simulator import shapes_schedule
from kraken_etl.simulator.generator import (
    GRID,
    LEDGER_SCHEMA,
    ORDER_SCHEMA,
    TICKS,
    TRADE_SCHEMA,
    GeneratedBatch,
    Generator,
)
from kraken_etl.simulator.ids import IdCodec
from kraken_etl.simulator.storefaults import Discrepancies, StoreFaults
from kraken_etl.simulator.storeids import TIE, StoreIds, tie_deltas
from kraken_etl.simulator.table import Column, Table

Positions = npt.NDArray[np.int64]
__all__ = ["Added", "Discrepancies", "Page", "Store"]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a query: positions newest first, and the total match count."""

    positions: list[int]
    count: int


@dataclass(frozen=True, slots=True)
class Added:
    """What one `extend` appended (index ranges of the three tables)."""

    ledger: range
    trades: range
    orders: range


class Store(StoreIds, StoreFaults):
    """Ledger, trades, orders and amends of one simulated account."""

    def __init__(self, seed: int, profile: str = "default") -> None:
        self.seed = seed
        self.ledger = Table({**LEDGER_SCHEMA, **TIE})
        self.trades = Table({**TRADE_SCHEMA, **TIE})
        self.orders = Table({**ORDER_SCHEMA, **TIE})
        self.amends: dict[int, list[tuple[int, int, int, int, int]]] = {}
        self.lid, self.tid, self.oid = IdCodec(seed, "L"), IdCodec(seed, "T"), IdCodec(seed, "O")
        self.gen = Generator(seed, profile)
        self.lock = threading.RLock()
        self.version = 0
        self.discrepancies = Discrepancies(frozenset(), frozenset(), {}, {})
        self.rest_wallet_suffix = False  # REST marks earn wallets by asset suffix (SimConfig knob)
        self.margin_net = "before_fees"  # a closed position's `net`: before or after its closing fee (SimConfig knob)
        self.rollover_refid = "position"  # a rollover entry's refid: its position's id or its own (SimConfig knob)
        self.discrepancies_hidden: set[int] = set()
        self._cache: dict[tuple[object, ...], tuple[Positions, Column]] = {}
        self.market: object | None = None  # the simulator's Market (set by SimContext): prices the …usd columns

    # -- building ------------------------------------------------------------------------------------
    def build(self, entries: int, end_ticks: int, history_days: int) -> Added:
        """Generate the initial history so its last activity falls just before `end_ticks`."""
        events = max(1.0, entries / 2.4)
        mean_gap = int(history_days * 86_400 * TICKS / events)
        if self.gen.profile.dated:
            return self._build_dated(entries, end_ticks, history_days, mean_gap)
        b = self.gen.generate(entries, mean_gap, self.ledger.n, self.trades.n, self.orders.n, built=True)
        tail = self.gen.rng.randint(60, 3_600) * TICKS
        return self._append(b, (end_ticks - tail - b.last_time) // GRID * GRID)

    def _build_dated(self, entries: int, end_ticks: int, history_days: int, mean_gap: int) -> Added:
        """A dated profile's history starts exactly `history_days` before `end_ticks`, so its shapes know the
        calendar, and its schedule (simulator/shapes_schedule.py) writes every shape the calendar allows. No event
        starts within four mean gaps and an hour of the end (the longest shape ends within two gaps), and events
        go on until then: the row count is about `entries`, not exactly (at most twice it and 100)."""
        origin = (end_ticks - history_days * 86_400 * TICKS) // GRID * GRID
        self.gen.origin, self.gen.origin_exact = origin, True
        horizon = end_ticks - origin - 4 * mean_gap - 3_600 * TICKS
        self.gen.state["plan"] = shapes_schedule.plan(origin, origin + horizon)
        b = self.gen.generate(2 * entries + 100, mean_gap, self.ledger.n, self.trades.n, self.orders.n,
                              horizon=max(GRID, horizon), built=True)
        del self.gen.state["plan"]
        if origin + b.last_time >= end_ticks:
            raise RuntimeError("a dated history ran past its end time")
        return self._append(b, origin)

    def extend(self, entries: int, now_ticks: int) -> Added:
        """Append about `entries` new ledger rows after the latest activity, ending at `now_ticks`."""
        with self.lock:
            last = self.last_ticks()
            events = max(1, int(entries / 2.4))
            room = max(GRID, now_ticks - last)
            mean_gap = max(GRID, min(TICKS, room // (events * 4)))
            if self.gen.profile.dated:  # the run lands after `last`: a lower bound of its calendar
                self.gen.origin, self.gen.origin_exact = last, False
            b = self.gen.generate(entries, mean_gap, self.ledger.n, self.trades.n, self.orders.n)
            shift = max(now_ticks - b.last_time, last) // GRID * GRID
            return self._append(b, shift)

    def _append(self, b: GeneratedBatch, shift: int) -> Added:
        with self.lock:
            parts = []
            for table, batch, codec, key in (
                (self.ledger, b.ledger, self.lid, "time"),
                (self.trades, b.trades, self.tid, "time"),
                (self.orders, b.orders, self.oid, "closetm"),
            ):
                times = np.frombuffer(batch.cols[key], dtype=np.int64) + shift
                sdelta, pdelta = tie_deltas(times, table.n, codec)
                shifts = {"time": shift, "opentm": shift, "closetm": shift}
                parts.append(table.append(batch, shifts, {"sdelta": sdelta, "pdelta": pdelta}))
            for order, trail in b.amends.items():
                self.amends[order] = [(k, q, r, p, ts + shift * 100) for k, q, r, p, ts in trail]
            self.version += 1
            self._cache.clear()
            return Added(*parts)

    def last_ticks(self) -> int:
        """The time of the latest ledger row or order close (0 for an empty account)."""
        last = 0
        if self.ledger.n:
            last = int(self.ledger.col("time")[-1])
        if self.orders.n:
            last = max(last, int(self.orders.col("closetm")[-1]))
        return last

    # -- queries -------------------------------------------------------------------------------------
    @staticmethod
    def _window(times: Column, start: int | None, end: int | None) -> tuple[int, int]:
        lo = int(np.searchsorted(times, start, side="right")) if start is not None else 0
        hi = int(np.searchsorted(times, end, side="right")) if end is not None else len(times)
        return lo, max(lo, hi)

    @staticmethod
    def _slice(cand: Positions | None, lo: int, hi: int, ofs: int, limit: int) -> Page:
        top = hi - ofs
        bottom = max(lo, top - limit)
        if top <= bottom:
            return Page([], hi - lo)
        if cand is None:
            return Page(list(range(top - 1, bottom - 1, -1)), hi - lo)
        return Page(cand[bottom:top][::-1].tolist(), hi - lo)

    def ledger_page(self, assets: frozenset[int] | None, types: frozenset[int] | None,
                    start: int | None, end: int | None, ofs: int, limit: int) -> Page:
        """Ledger rows in (start, end] matching the filters, newest first, from `ofs`."""
        hidden = self.discrepancies.hidden_ledger
        if assets is None and types is None and not hidden:
            return self._slice(None, *self._window(self.ledger.col("time"), start, end), ofs, limit)
        key: tuple[object, ...] = ("ledger", assets, types, self.ledger.n, hidden)
        if key not in self._cache:
            cols = self.ledger.columns()
            mask = np.ones(self.ledger.n, dtype=bool)
            if assets is not None:
                mask &= np.isin(cols["asset"], np.array(sorted(assets), dtype=np.int8))
            if types is not None:
                mask &= np.isin(cols["type"], np.array(sorted(types), dtype=np.int8))
            if hidden:
                mask[np.array(sorted(hidden), dtype=np.int64)] = False
            cand = np.flatnonzero(mask).astype(np.int64)
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = (cand, cols["time"][cand])
        cand, ctimes = self._cache[key]
        return self._slice(cand, *self._window(ctimes, start, end), ofs, limit)

    def trade_page(self, start: int | None, end: int | None, ofs: int, limit: int) -> Page:
        """Trades in (start, end], newest first, from `ofs`."""
        return self._slice(None, *self._window(self.trades.col("time"), start, end), ofs, limit)

    def order_page(self, closetime: str, start: int | None, end: int | None, userref: int | None,
                   ofs: int, limit: int) -> Page:
        """Closed orders whose open and/or close time is in (start, end], newest close first."""
        key: tuple[object, ...] = ("orders", closetime, start, end, userref, self.orders.n)
        if key not in self._cache:
            cols = self.orders.columns()
            lo_t = -(2**62) if start is None else start
            hi_t = 2**62 if end is None else end
            opened = (cols["opentm"] > lo_t) & (cols["opentm"] <= hi_t)
            closed = (cols["closetm"] > lo_t) & (cols["closetm"] <= hi_t)
            mask = opened if closetime == "open" else closed if closetime == "close" else opened | closed
            if userref is not None:
                mask &= cols["userref"] == userref
            cand = np.flatnonzero(mask).astype(np.int64)
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = (cand, cols["closetm"][cand])
        cand, _ = self._cache[key]
        return self._slice(cand, 0, len(cand), ofs, limit)

    # -- balances -----------------------------------------------------------------------------------
    def balances(self) -> dict[int, dict[int, int]]:
        """Last ledger balance per asset and wallet (scaled ints), in asset-code order."""
        out: dict[int, dict[int, int]] = {}
        for (asset, wallet), value in sorted(self.gen.balances.items()):
            out.setdefault(asset, {})[wallet] = value
        return out
