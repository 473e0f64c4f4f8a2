"""The accounting faults of a simulated account: which records they touch (`Discrepancies`), chosen
deterministically from the fault seed, kept apart so each can be named on its own. Truth stays honest; REST,
Balance and OpenPositions show the discrepancies.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.faults import FaultSpec
from kraken_etl.simulator.generator import Generator
from kraken_etl.simulator.shapes_margin import Position, positions_of
from kraken_etl.simulator.table import Table


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


class StoreFaults:
    """Choosing the records the accounting faults touch (a part of `Store`)."""

    ledger: Table
    trades: Table
    orders: Table
    gen: Generator
    lock: threading.RLock
    discrepancies: Discrepancies
    discrepancies_hidden: set[int]
    _cache: dict[tuple[object, ...], Any]

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
