"""The seeded account generator: a deterministic, internally consistent Kraken account history.

It writes compact rows (integers scaled to each asset's or pair's decimals, small-int codes) into
`Batch`es; it never builds per-row dicts. Its state (RNG, running balances, prices, counters) persists,
so `/_sim/advance` continues the same history. Invariants it guarantees, per (asset, wallet):
``balance = previous balance + amount - fee`` in position order, and balances never go negative;
each trade's ledger legs are contiguous rows sharing its time (refid = trade txid); each order's
trades are contiguous trade rows; ``vol_exec`` = the sum of its trades' ``vol``.

Times are integer *ticks* of 1e-7 s, relative to the batch start (the store shifts them). Most events
sit on a 1e-4 s grid (Kraken's 4 decimals); about 10 % carry 7 decimals. About 3 % of events share
the previous event's timestamp.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.orders import make_order
from kraken_etl.simulator.profiles import profile as profile_named
from kraken_etl.simulator.shapes_rare import EARN_LAUNCH
from kraken_etl.simulator.shapes_retail import stake_through_earn
from kraken_etl.simulator.table import Batch

TICKS = 10_000_000  # ticks per second
GRID = 1_000  # 1e-4 s
LOT = 8  # lot decimals of every pair here

LEDGER_SCHEMA = {
    "time": "q", "asset": "b", "wallet": "b", "type": "b", "subtype": "b",
    "amount": "q", "fee": "q", "balance": "q", "refkind": "b", "refidx": "q",
}
TRADE_SCHEMA = {
    "time": "q", "pair": "b", "side": "b", "otype": "b", "price": "q", "vol": "q", "cost": "q",
    "fee": "q", "maker": "b", "order": "q", "leg": "q", "nlegs": "b",
    # margin (profile margin-trader): pos = 1 + the position's opening trade index (0: a spot trade),
    # lev = leverage (0: none), margin = the position's margin in quote units
    "pos": "q", "lev": "b", "margin": "q",
}
ORDER_SCHEMA = {
    "opentm": "q", "closetm": "q", "pair": "b", "side": "b", "otype": "b", "status": "b",
    "reason": "b", "vol": "q", "vol_exec": "q", "cost": "q", "fee": "q", "limit": "q",
    "first_trade": "q", "ntrades": "b", "userref": "q", "oflags": "b", "amended": "b",
    "lev": "b",  # leverage of a margin order (0: spot)
}

# (amend type code, order qty, remaining qty, limit price, relative time in ns)
Amend = tuple[int, int, int, int, int]


@dataclass(slots=True)
class GeneratedBatch:
    """One generation run's output, times relative to the run's start."""

    ledger: Batch = field(default_factory=lambda: Batch(LEDGER_SCHEMA))
    trades: Batch = field(default_factory=lambda: Batch(TRADE_SCHEMA))
    orders: Batch = field(default_factory=lambda: Batch(ORDER_SCHEMA))
    amends: dict[int, list[Amend]] = field(default_factory=dict)  # by order index (absolute)
    last_time: int = 0
    trade_base: int = 0


def _scale(asset: int) -> int:
    return int(10 ** c.ASSETS[asset].decimals)


def _dec_to_int(text: str, decimals: int) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * int(10**decimals) + int((frac + "0" * decimals)[:decimals] or 0)


class Generator:
    """Deterministic account activity from a seed; call `generate` repeatedly to continue."""

    def __init__(self, seed: int, profile: str = "default") -> None:
        self.rng = random.Random(seed)
        self.profile = profile_named(profile)
        self.balances: dict[tuple[int, int], int] = {}
        self.prices = [_dec_to_int(p.start_price, p.pair_decimals) for p in c.PAIRS]
        self.refcount = [0] * c.REF_KINDS
        self.started = False
        self.tie_run = 0
        self.state: dict[str, Any] = {}  # a profile's own state across runs (shapes_margin: open positions)
        self.earn_migration_type = "earn"  # SimConfig.earn_migration_type (profile shapes only)
        self.hybrid_earn_withdrawal = "type"  # SimConfig.hybrid_earn_withdrawal (profile shapes only)
        # A dated profile's calendar (`after`, `before`): the absolute ticks of relative time 0 of the current
        # run (exact when the store will shift the run by exactly that; else a lower bound), None when unknown.
        self.origin: int | None = None
        self.origin_exact = False

    # -- low-level writers -------------------------------------------------------------------------
    def leg(self, b: GeneratedBatch, base: int, t: int, asset: int, wallet: int, ltype: int,
             subtype: int, amount: int, fee: int, refkind: int, refidx: int) -> int:
        key = (asset, wallet)
        bal = self.balances.get(key, 0) + amount - fee
        self.balances[key] = bal
        return base + b.ledger.add(time=t, asset=asset, wallet=wallet, type=ltype, subtype=subtype,
                                   amount=amount, fee=fee, balance=bal, refkind=refkind,
                                   refidx=refidx)

    def new_ref(self, kind: int) -> int:
        self.refcount[kind] += 1
        return self.refcount[kind] - 1

    def bal(self, asset: int, wallet: int = c.SPOT) -> int:
        """The running balance of (asset, wallet), scaled to the asset's decimals."""
        return self.balances.get((asset, wallet), 0)

    def after(self, t: int, day_ticks: int) -> bool:
        """Whether relative time `t` of this run is surely at or after `day_ticks` (absolute)."""
        return self.origin is not None and self.origin + t >= day_ticks

    def before(self, t: int, day_ticks: int) -> bool:
        """Whether relative time `t` of this run is surely before `day_ticks` (absolute)."""
        return self.origin is not None and self.origin_exact and self.origin + t < day_ticks

    # -- the run -------------------------------------------------------------------------------------
    def generate(self, entries: int, mean_gap: int, ledger_base: int, trade_base: int,
                 order_base: int, horizon: int | None = None, built: bool = False) -> GeneratedBatch:
        """Generate at least `entries` ledger rows (a trade's legs are never split).

        Args:
            entries: ledger rows wanted (the run stops at the first event boundary past it).
            mean_gap: mean ticks between events.
            ledger_base, trade_base, order_base: absolute index of the first row of each table, so
                cross references (trade → ledger leg, order → trade) are absolute.
            horizon: no event starts at or after this relative time (a dated history stops there, even
                short of `entries`).
            built: the run is a whole built history (the profile's `finish` runs at its end).
        """
        b = GeneratedBatch(trade_base=trade_base)
        t = 0
        bases = (ledger_base, trade_base, order_base)
        if not self.started:
            self.started = True
            t = self._opening(b, t, bases)
        before = self.profile.before
        while len(b.ledger) < entries:
            prev, t = t, self._next_time(t, mean_gap)
            if horizon is not None and t >= horizon:
                t = prev
                break
            if before is not None:
                t = before(self, b, prev, t, bases)
            t = self._event(b, t, bases, mean_gap)
        if built and self.profile.finish is not None:
            t = self.profile.finish(self, b, t, bases)
        b.last_time = t
        return b

    def _next_time(self, t: int, mean_gap: int) -> int:
        rng = self.rng
        if t and self.tie_run < 8 and rng.random() < 0.03:
            self.tie_run += 1
            return t  # an unrelated event at the very same time
        self.tie_run = 0
        gap = max(GRID, int(rng.expovariate(1.0 / max(mean_gap, GRID))))
        coarse = (t // GRID + gap // GRID + 1) * GRID
        if rng.random() < 0.1:
            coarse += rng.randrange(1, GRID)  # 7-decimal time
        return coarse

    def _opening(self, b: GeneratedBatch, t: int, bases: tuple[int, int, int]) -> int:
        lb = bases[0]
        for asset, amount in ((c.USD, "250000"), (c.EUR, "80000"), (c.XBT, "3"), (c.ETH, "40"),
                              (c.USDT, "20000"), (c.DOT, "3000"), (c.SOL, "400")):
            t += GRID * 7
            self.leg(b, lb, t, asset, c.SPOT, c.T_DEPOSIT, c.ST_NONE,
                      _dec_to_int(amount, c.ASSETS[asset].decimals), 0, c.REF_DEPOSIT,
                      self.new_ref(c.REF_DEPOSIT))
        t += GRID * 11
        self.leg(b, lb, t, c.KFEE, c.SPOT, c.T_CREDIT, c.ST_NONE, 100_000, 0, c.REF_CREDIT,
                  self.new_ref(c.REF_CREDIT))
        return t

    def _event(self, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int) -> int:
        extra = self.profile
        if extra.events and self.rng.random() < extra.share:
            return extra.pick(self.rng)(self, b, t, bases, mean_gap)
        r = self.rng.random()
        if r < 0.62:
            return self._order(b, t, bases, mean_gap)
        if r < 0.69:
            return self.deposit(b, t, bases[0])
        if r < 0.73:
            return self._withdrawal(b, t, bases[0])
        if r < 0.80:
            return self._staking(b, t, bases[0])
        if r < 0.92:
            return self._earn(b, t, bases[0])
        if r < 0.96:
            return self._futures_transfer(b, t, bases[0])
        return self._hold(b, t, bases[0])

    def deposit(self, b: GeneratedBatch, t: int, lb: int, asset: int | None = None) -> int:
        rng = self.rng
        if asset is None:
            asset = rng.choice((c.USD, c.USD, c.EUR, c.XBT, c.ETH, c.USDT, c.DOT, c.SOL))
        usd = rng.randint(500, 20_000)
        amount = usd * _scale(asset) * 10**6 // _dec_to_int(c.ASSETS[asset].usd_price, 6)
        fee = 0
        if asset in (c.USD, c.EUR) and rng.random() < 0.3:
            fee = _scale(asset) * rng.randint(1, 5)  # a bank fee on fiat deposits
        self.leg(b, lb, t, asset, c.SPOT, c.T_DEPOSIT, c.ST_NONE, amount, fee, c.REF_DEPOSIT,
                  self.new_ref(c.REF_DEPOSIT))
        return t

    def _withdrawal(self, b: GeneratedBatch, t: int, lb: int) -> int:
        rng = self.rng
        asset = rng.choice((c.USD, c.EUR, c.XBT, c.ETH, c.USDT))
        have = self.bal(asset)
        fee = _scale(asset) * 5 if asset in (c.USD, c.EUR) else _scale(asset) // 10_000
        amount = have * rng.randint(5, 20) // 100
        if amount <= fee * 2:
            return self.deposit(b, t, lb, asset)
        self.leg(b, lb, t, asset, c.SPOT, c.T_WITHDRAWAL, c.ST_NONE, -amount, fee,
                  c.REF_WITHDRAWAL, self.new_ref(c.REF_WITHDRAWAL))
        return t

    def _staking(self, b: GeneratedBatch, t: int, lb: int) -> int:
        """Legacy staking: spot DOT/ETH → DOT.S/ETH2.S (two legs), or a reward on the staked asset. A dated
        profile stakes through Earn from Kraken's Earn launch (2023-11-15) on, as real accounts do."""
        rng = self.rng
        if self.profile.dated and self.after(t, EARN_LAUNCH):
            return stake_through_earn(self, b, t, lb)
        src, staked = rng.choice(((c.DOT, c.DOT_S), (c.ETH, c.ETH2_S)))
        if self.bal(staked) > 0 and rng.random() < 0.6:
            reward = self.bal(staked) * rng.randint(1, 30) // 1_000_000 + 1
            fee = reward // 10 if rng.random() < 0.1 else 0  # earn rewards can carry a fee
            self.leg(b, lb, t, staked, c.SPOT, c.T_STAKING, c.ST_NONE, reward, fee, c.REF_STAKING,
                      self.new_ref(c.REF_STAKING))
            return t
        amount = self.bal(src) * rng.randint(5, 25) // 100
        if amount <= 0:
            return self.deposit(b, t, lb, src)
        ref = self.new_ref(c.REF_STAKING)
        self.leg(b, lb, t, src, c.SPOT, c.T_TRANSFER, c.ST_SPOTTOSTAKING, -amount, 0,
                  c.REF_STAKING, ref)
        self.leg(b, lb, t, staked, c.SPOT, c.T_TRANSFER, c.ST_STAKINGFROMSPOT, amount, 0,
                  c.REF_STAKING, ref)
        return t

    def _earn(self, b: GeneratedBatch, t: int, lb: int) -> int:
        """Earn: allocations between spot and earn wallets (same asset), rewards, deallocations."""
        rng = self.rng
        asset, wallet = rng.choice(((c.XBT, c.EARN_FLEX), (c.USDT, c.EARN_FLEX),
                                    (c.SOL, c.EARN_BONDED), (c.ETH, c.EARN_LIQUID)))
        earned = self.bal(asset, wallet)
        r = rng.random()
        ref = self.new_ref(c.REF_EARN)
        if earned > 0 and r < 0.55:
            reward = earned * rng.randint(1, 20) // 1_000_000 + 1
            self.leg(b, lb, t, asset, wallet, c.T_EARN, c.ST_REWARD, reward, 0, c.REF_EARN, ref)
            return t
        if earned > 0 and r < 0.7:
            amount, sub_out, sub_in = earned, c.ST_DEALLOCATION, c.ST_DEALLOCATION
            self.leg(b, lb, t, asset, wallet, c.T_EARN, sub_out, -amount, 0, c.REF_EARN, ref)
            self.leg(b, lb, t, asset, c.SPOT, c.T_EARN, sub_in, amount, 0, c.REF_EARN, ref)
            return t
        amount = self.bal(asset) * rng.randint(5, 30) // 100
        if amount <= 0:
            return self.deposit(b, t, lb, asset)
        sub = c.ST_AUTOALLOCATION if rng.random() < 0.3 else c.ST_ALLOCATION
        self.leg(b, lb, t, asset, c.SPOT, c.T_EARN, sub, -amount, 0, c.REF_EARN, ref)
        self.leg(b, lb, t, asset, wallet, c.T_EARN, sub, amount, 0, c.REF_EARN, ref)
        return t

    def _futures_transfer(self, b: GeneratedBatch, t: int, lb: int) -> int:
        rng = self.rng
        if rng.random() < 0.5 or self.bal(c.USD) < 10_000 * _scale(c.USD):
            amount = rng.randint(100, 5_000) * _scale(c.USD)
            sub = c.ST_SPOTFROMFUTURES
        else:
            amount = -rng.randint(100, 5_000) * _scale(c.USD)
            sub = c.ST_SPOTTOFUTURES
        self.leg(b, lb, t, c.USD, c.SPOT, c.T_TRANSFER, sub, amount, 0, c.REF_TRANSFER,
                  self.new_ref(c.REF_TRANSFER))
        return t

    def _hold(self, b: GeneratedBatch, t: int, lb: int) -> int:
        """Held fiat: a deposit lands on USD.HOLD, later released to ZUSD (two legs)."""
        held = self.bal(c.USD_HOLD)
        if held > 0:
            ref = self.new_ref(c.REF_TRANSFER)
            self.leg(b, lb, t, c.USD_HOLD, c.SPOT, c.T_TRANSFER, c.ST_NONE, -held, 0,
                      c.REF_TRANSFER, ref)
            self.leg(b, lb, t, c.USD, c.SPOT, c.T_TRANSFER, c.ST_NONE, held, 0, c.REF_TRANSFER, ref)
            return t
        amount = self.rng.randint(100, 3_000) * _scale(c.USD)
        self.leg(b, lb, t, c.USD_HOLD, c.SPOT, c.T_DEPOSIT, c.ST_NONE, amount, 0, c.REF_DEPOSIT,
                  self.new_ref(c.REF_DEPOSIT))
        return t

    def _order(self, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int) -> int:
        return make_order(self, b, t, bases, mean_gap)
