"""The account's compact in-memory store and its query logic (windows, ordering, paging, ids).

Rows live in `Table` columns in chronological *position* order. Kraken pages newest first with ties
broken by id; the store makes position order agree with (time, id) order by choosing, inside each
group of equal timestamps, which serial (and so which id) each position gets (`_tie_deltas`). A page is
then a slice of positions, found with a binary search on time — O(log n) however large the account.
Filtered queries (asset/type filters, rows hidden by faults) use a cached array of matching positions.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.faults import FaultSpec
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
from kraken_etl.simulator.shapes_margin import Position, positions_of
from kraken_etl.simulator.table import Column, Table

Positions = npt.NDArray[np.int64]
Int8s = npt.NDArray[np.int8]
_TIE = {"sdelta": "b", "pdelta": "b"}


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


@dataclass(frozen=True, slots=True)
class Discrepancies:
    """Which records the accounting faults touch (truth keeps them honest)."""

    hidden_ledger: frozenset[int]  # ledger positions absent from REST (hide_ledger + missing_leg)
    missing_leg_trades: frozenset[int]
    balance_drift: dict[int, int]  # asset code -> scaled amount added to Balance/BalanceEx
    vol_exec: dict[int, int]  # order index -> vol_exec REST reports
    leg_amount: dict[int, int] = field(default_factory=dict)  # ledger position -> scaled amount added (REST)
    leg_trades: dict[int, int] = field(default_factory=dict)  # trade index -> its altered leg's position
    altered_balance: dict[int, int] = field(default_factory=dict)  # ledger position -> scaled balance added
    position_vol: dict[int, int] = field(default_factory=dict)  # opening trade -> vol added in OpenPositions


def _tie_deltas(times: Column, start: int, codec: IdCodec) -> tuple[Int8s, Int8s]:
    """Serial deltas so that, within equal times, higher position ⇔ higher id (see module doc)."""
    pos = np.arange(start, start + len(times), dtype=np.int64)
    keys = codec.numbers(pos)
    serial = pos[np.lexsort((keys, times))]
    sdelta = (serial - pos).astype(np.int8)
    pdelta = np.zeros(len(times), dtype=np.int8)
    pdelta[serial - start] = (pos - serial).astype(np.int8)
    if len(times) and int(np.abs(serial - pos).max()) > 127:
        raise RuntimeError("a tie group larger than 127 rows")
    return sdelta, pdelta


class Store:
    """Ledger, trades, orders and amends of one simulated account."""

    def __init__(self, seed: int, profile: str = "default") -> None:
        self.seed = seed
        self.ledger = Table({**LEDGER_SCHEMA, **_TIE})
        self.trades = Table({**TRADE_SCHEMA, **_TIE})
        self.orders = Table({**ORDER_SCHEMA, **_TIE})
        self.amends: dict[int, list[tuple[int, int, int, int, int]]] = {}
        self.lid, self.tid, self.oid = IdCodec(seed, "L"), IdCodec(seed, "T"), IdCodec(seed, "O")
        self.gen = Generator(seed, profile)
        self.lock = threading.RLock()
        self.version = 0
        self.discrepancies = Discrepancies(frozenset(), frozenset(), {}, {})
        self.rest_wallet_suffix = False  # REST marks earn wallets by asset suffix (SimConfig knob)
        self.discrepancies_hidden: set[int] = set()
        self._cache: dict[tuple[object, ...], tuple[Positions, Column]] = {}
        self.market: object | None = None  # the simulator's Market (set by SimContext): prices the …usd columns

    # -- building ------------------------------------------------------------------------------------
    def build(self, entries: int, end_ticks: int, history_days: int) -> Added:
        """Generate the initial history so its last activity falls just before `end_ticks`."""
        events = max(1.0, entries / 2.4)
        mean_gap = int(history_days * 86_400 * TICKS / events)
        b = self.gen.generate(entries, mean_gap, self.ledger.n, self.trades.n, self.orders.n)
        tail = self.gen.rng.randint(60, 3_600) * TICKS
        return self._append(b, (end_ticks - tail - b.last_time) // GRID * GRID)

    def extend(self, entries: int, now_ticks: int) -> Added:
        """Append about `entries` new ledger rows after the latest activity, ending at `now_ticks`."""
        with self.lock:
            last = self.last_ticks()
            events = max(1, int(entries / 2.4))
            room = max(GRID, now_ticks - last)
            mean_gap = max(GRID, min(TICKS, room // (events * 4)))
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
                sdelta, pdelta = _tie_deltas(times, table.n, codec)
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

    # -- ids -----------------------------------------------------------------------------------------
    def ledger_id(self, pos: int) -> str:
        """Ledger id of position `pos`."""
        return self.lid.encode(pos + int(self.ledger.col("sdelta")[pos]))

    def trade_id(self, idx: int) -> str:
        """Trade txid of trade `idx`."""
        return self.tid.encode(idx + int(self.trades.col("sdelta")[idx]))

    def order_id(self, idx: int) -> str:
        """Order txid of order `idx`."""
        return self.oid.encode(idx + int(self.orders.col("sdelta")[idx]))

    @staticmethod
    def _lookup(codec: IdCodec, table: Table, text: str) -> int | None:
        serial = codec.decode(text.strip())
        if serial is None or serial >= table.n:
            return None
        return serial + int(table.col("pdelta")[serial])

    def ledger_pos(self, text: str) -> int | None:
        """Position of a ledger id, or None."""
        return self._lookup(self.lid, self.ledger, text)

    def trade_idx(self, text: str) -> int | None:
        """Index of a trade txid, or None."""
        return self._lookup(self.tid, self.trades, text)

    def order_idx(self, text: str) -> int | None:
        """Index of an order txid, or None."""
        return self._lookup(self.oid, self.orders, text)

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

    # -- balances and faults -------------------------------------------------------------------------
    def balances(self) -> dict[int, dict[int, int]]:
        """Last ledger balance per asset and wallet (scaled ints), in asset-code order."""
        out: dict[int, dict[int, int]] = {}
        for (asset, wallet), value in sorted(self.gen.balances.items()):
            out.setdefault(asset, {})[wallet] = value
        return out

    def apply_faults(self, spec: FaultSpec) -> Discrepancies:
        """Choose (deterministically from `spec.seed`) the records the accounting faults touch."""
        rng = random.Random(f"discrepancies|{spec.seed}")
        cols = self.ledger.columns()
        hidden: set[int] = set()
        if spec.hide_ledger:
            pool = np.flatnonzero(cols["type"] != c.T_TRADE)
            hidden.update(int(p) for p in rng.sample(list(pool), min(spec.hide_ledger, len(pool))))
        missing: set[int] = set()
        if spec.missing_leg and self.trades.n:
            picks = rng.sample(range(self.trades.n), min(spec.missing_leg, self.trades.n))
            legs = self.trades.col("leg")
            for t in picks:
                missing.add(t)
                hidden.add(int(legs[t]) + 1)  # the quote leg
        drift: dict[int, int] = {}
        assets = sorted({a for a, _ in self.gen.balances})
        for asset in rng.sample(assets, min(spec.balance_drift, len(assets))):
            drift[asset] = 10 ** max(0, c.ASSETS[asset].decimals - 4) * rng.randint(1, 99)
        vol_exec: dict[int, int] = {}
        if spec.vol_exec_mismatch and self.orders.n:
            filled = np.flatnonzero(self.orders.col("vol_exec") > 2_000)
            for o in rng.sample(list(filled), min(spec.vol_exec_mismatch, len(filled))):
                vol_exec[int(o)] = int(self.orders.col("vol_exec")[o]) - 1_000
        self.discrepancies_hidden = hidden
        leg_amount, leg_trades = self._leg_faults(rng, spec.leg_amount, missing)
        altered = self._balance_faults(rng, spec.altered_balance, hidden | set(leg_amount))
        hidden.update(self._rollover_faults(rng, spec.hide_rollover))
        position_vol = self._position_faults(rng, spec.position_mismatch)
        with self.lock:
            self.discrepancies = Discrepancies(frozenset(hidden), frozenset(missing), drift, vol_exec,
                                               leg_amount, leg_trades, altered, position_vol)
            self._cache.clear()
        return self.discrepancies

    def _open_positions(self) -> list[Position]:
        n = self.trades.n
        return [p for i, p in sorted(positions_of(self.gen.state).items()) if i < n and not 0 <= p.closing < n]

    def _rollover_faults(self, rng: random.Random, n: int) -> set[int]:
        """`hide_rollover`: N rollover entries hidden from REST, of positions still open first (so that
        OpenPositions' fee, which counts them, disagrees with the ledger)."""
        if not n:
            return set()
        opened = [r for p in self._open_positions() for r in p.rollovers if r < self.ledger.n]
        closed = [r for p in positions_of(self.gen.state).values() for r in p.rollovers
                  if r < self.ledger.n and r not in set(opened)]
        picks = rng.sample(opened, min(n, len(opened)))
        return set(picks) | set(rng.sample(closed, min(n - len(picks), len(closed))))

    def _position_faults(self, rng: random.Random, n: int) -> dict[int, int]:
        """`position_mismatch`: N open positions report 0.0001 more volume in OpenPositions than they traded."""
        opened = self._open_positions()
        return {p.idx: 10_000 for p in rng.sample(opened, min(n, len(opened)))}

    def _leg_faults(self, rng: random.Random, n: int, skip: set[int]) -> tuple[dict[int, int], dict[int, int]]:
        """`leg_amount`: the base leg of N trades (not already missing a leg) moves 0.0001 more in REST."""
        if not n or not self.trades.n:
            return {}, {}
        legs = self.trades.col("leg")
        near = self._neighbours(self.discrepancies_hidden)
        pool = [t for t in range(self.trades.n) if t not in skip and int(legs[t]) not in near]
        amounts, trades = {}, {}
        for t in rng.sample(pool, min(n, len(pool))):
            pos = int(legs[t])
            asset = int(self.ledger.col("asset")[pos])
            amounts[pos] = 10 ** max(0, c.ASSETS[asset].decimals - 4)
            trades[t] = pos
        return amounts, trades

    def _balance_faults(self, rng: random.Random, n: int, skip: set[int]) -> dict[int, int]:
        """`altered_balance`: N spot rows that have a later row in their chain report balance + 0.0001…"""
        if not n or not self.ledger.n:
            return {}
        cols = self.ledger.columns()
        last: dict[tuple[int, int], int] = {}
        for pos in range(self.ledger.n):
            last[(int(cols["asset"][pos]), int(cols["wallet"][pos]))] = pos
        finals = set(last.values())
        near = self._neighbours(skip)
        pool = [int(p) for p in np.flatnonzero(cols["wallet"] == c.SPOT) if int(p) not in finals | near]
        out = {}
        for pos in rng.sample(pool, min(n, len(pool))):
            out[pos] = 10 ** max(0, c.ASSETS[int(cols["asset"][pos])].decimals - 4) * rng.randint(1, 9)
        return out

    def _neighbours(self, positions: set[int]) -> set[int]:
        """`positions` and the rows just before and after each in its (asset, wallet) chain: faults are
        kept apart so that each one can be named on its own."""
        if not positions:
            return set()
        cols = self.ledger.columns()
        chains: dict[tuple[int, int], list[int]] = {}
        for pos in range(self.ledger.n):
            chains.setdefault((int(cols["asset"][pos]), int(cols["wallet"][pos])), []).append(pos)
        out = set(positions)
        for rows in chains.values():
            for i, pos in enumerate(rows):
                if pos in positions:
                    out.update(rows[max(0, i - 1):i + 2])
        return out
