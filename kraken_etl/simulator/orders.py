"""Order life cycles for the generator: an order, its amend trail, its fills and their ledger legs.

One order is generated at a time (orders never overlap), so an order's trades are contiguous rows and
its ``closetm`` is the latest time it touches. Fees follow the order's ``oflags``: ``fciq`` charges the
quote leg, ``fcib`` the base leg; some USD-quoted fills pay in KFEE (a third leg, amount 0). The trade
row's ``fee`` is always the quote-currency figure, as Kraken's TradesHistory reports it.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from kraken_etl.simulator import catalog as c

if TYPE_CHECKING:
    from kraken_etl.simulator.generator import Amend, GeneratedBatch, Generator

GRID = 1_000
LOT = 8
MIN_VOL = 10_000  # 0.0001 in lot units
MAKER_RATE, TAKER_RATE = 16, 26  # per 10,000 (0.16 % / 0.26 %)


def _walk_price(gen: Generator, pi: int) -> int:
    p = c.PAIRS[pi]
    start = int(p.start_price.replace(".", ""))
    price = gen.prices[pi]
    price += int(price * gen.rng.gauss(0, 0.01)) + (start - price) // 200
    price = max(price, int(10 ** p.pair_decimals) // 100 + 1)
    gen.prices[pi] = price
    return price


def _size(gen: Generator, pi: int, side: int, price: int) -> int:
    p = c.PAIRS[pi]
    qdec, bdec = c.ASSETS[p.quote].decimals, c.ASSETS[p.base].decimals
    pct = gen.rng.randint(3, 25)
    if side == 0:
        budget = gen.bal(p.quote) * pct // 100
        return int(budget * 10 ** (p.pair_decimals + LOT) // (price * 10**qdec))
    return int(gen.bal(p.base) * pct // 100 // 10 ** (bdec - LOT))


def _amends(gen: Generator, vol: int, limit: int, t: int) -> tuple[list[Amend], int]:
    rng = gen.rng
    trail: list[Amend] = []
    prices = [limit + rng.randint(-limit // 100, limit // 100) for _ in range(rng.randint(1, 2))]
    prices.append(limit)
    for i, price in enumerate(prices):
        kind = 0 if i == 0 else (2 if rng.random() < 0.15 else 1)
        trail.append((kind, vol, vol, max(price, 1), t * 100 + rng.randrange(100)))
        t += GRID * rng.randint(1, 50)
    return trail, t


def make_order(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int],
               mean_gap: int) -> int:
    """Generate one order (with fills, legs, amends) starting at `t`; returns its close time."""
    rng = gen.rng
    lb, tb, ob = bases
    pi = rng.randrange(c.TRADED_PAIRS)
    p = c.PAIRS[pi]
    price = _walk_price(gen, pi)
    side = 0 if rng.random() < 0.5 else 1
    vol = _size(gen, pi, side, price)
    if vol < MIN_VOL:
        side = 1 - side
        vol = _size(gen, pi, side, price)
    if vol < MIN_VOL:
        return gen.deposit(b, t, lb, p.quote if side == 0 else p.base)
    r = rng.random()
    otype = 0 if r < 0.6 else 1 if r < 0.9 else 2 if r < 0.95 else 3
    oflags = 1 if rng.random() < 0.2 else (2 if otype == 0 and rng.random() < 0.12 else 0)
    r = rng.random()
    if r < 0.7:
        status, target, reason = c.CLOSED, vol, 0
    elif r < 0.85:
        status, target, reason = c.CANCELED, vol * rng.randint(20, 90) // 100, 1
    elif r < 0.93:
        status, target, reason = c.CANCELED, 0, 1
    else:
        status, target, reason = c.EXPIRED, (vol * rng.randint(10, 60) // 100) * rng.randint(0, 1), 0
    limit = price if otype != 1 else 0
    order_idx = ob + len(b.orders)
    opentm = t
    amended = otype == 0 and rng.random() < 0.15
    if amended:
        trail, t = _amends(gen, vol, limit, t)
        b.amends[order_idx] = trail
    first_trade = tb + len(b.trades)
    fills = _split(gen, target)
    executed = cost_sum = fee_sum = 0
    fill_gap = max(GRID, mean_gap // 4)
    for vol_f in fills:
        t = (t // GRID + max(1, int(rng.expovariate(1.0 / fill_gap)) // GRID)) * GRID
        done = _fill(gen, b, t, pi, side, otype, oflags, price, vol_f, order_idx, lb)
        if done is None:
            status, reason = c.CANCELED, 2
            break
        cost_f, fee_f = done
        executed += vol_f
        cost_sum += cost_f
        fee_sum += fee_f
    if status == c.CLOSED and executed != vol:
        status, reason = c.CANCELED, 2
    closetm = t + GRID * rng.randint(1, 30)
    b.orders.add(opentm=opentm, closetm=closetm, pair=pi, side=side, otype=otype, status=status,
                 reason=reason, vol=vol, vol_exec=executed, cost=cost_sum, fee=fee_sum, limit=limit,
                 first_trade=first_trade, ntrades=tb + len(b.trades) - first_trade,
                 userref=0 if rng.random() < 0.7 else rng.randint(1, 2**31 - 1), oflags=oflags,
                 amended=int(amended), lev=0)
    return closetm


def _split(gen: Generator, total: int) -> list[int]:
    if total < MIN_VOL:
        return []
    n = min(gen.rng.randint(1, 4), total // MIN_VOL)
    cuts = sorted(gen.rng.randint(1, total - 1) for _ in range(n - 1)) if n > 1 else []
    edges = [0, *cuts, total]
    return [hi - lo for lo, hi in itertools.pairwise(edges) if hi > lo]


def _fill(gen: Generator, b: GeneratedBatch, t: int, pi: int, side: int, otype: int, oflags: int,
          price: int, vol_f: int, order_idx: int, lb: int) -> tuple[int, int] | None:
    """One trade with its ledger legs; None when the account cannot afford it."""
    rng = gen.rng
    p = c.PAIRS[pi]
    qdec, bdec = c.ASSETS[p.quote].decimals, c.ASSETS[p.base].decimals
    tick = rng.randint(0, 3)
    price_f = max(1, price - tick if side == 0 else price + tick)
    cost = price_f * vol_f * 10**qdec // 10 ** (p.pair_decimals + LOT)
    if cost <= 0:
        return None
    maker = oflags == 2 or (otype == 0 and rng.random() < 0.6)
    rate = MAKER_RATE if maker else TAKER_RATE
    fee_q = cost * rate // 10_000
    base_amt = vol_f * 10 ** (bdec - LOT)
    fee_b = base_amt * rate // 10_000
    mode = "base" if oflags == 1 else "quote"
    if mode == "quote" and p.quote == c.USD and rng.random() < 0.25 and gen.bal(c.KFEE) >= fee_q:
        mode = "kfee"  # KFEE units are 0.01 USD: fee_q (1e-4 USD) equals KFEE scaled to 2 decimals
    if side == 0:
        if gen.bal(p.quote) < cost + (fee_q if mode == "quote" else 0):
            return None
        base_leg, quote_leg = base_amt, -cost
    else:
        if gen.bal(p.base) < base_amt + (fee_b if mode == "base" else 0):
            return None
        base_leg, quote_leg = -base_amt, cost
    trade_idx = len(b.trades)
    ref = b.trade_base + trade_idx
    first = gen.leg(b, lb, t, p.base, c.SPOT, c.T_TRADE, c.ST_TRADESPOT, base_leg,
                     fee_b if mode == "base" else 0, c.REF_TRADE, ref)
    gen.leg(b, lb, t, p.quote, c.SPOT, c.T_TRADE, c.ST_TRADESPOT, quote_leg,
             fee_q if mode == "quote" else 0, c.REF_TRADE, ref)
    nlegs = 2
    if mode == "kfee":
        gen.leg(b, lb, t, c.KFEE, c.SPOT, c.T_TRADE, c.ST_TRADESPOT, 0, fee_q, c.REF_TRADE, ref)
        nlegs = 3
        if gen.bal(c.KFEE) < 20_000 and rng.random() < 0.5:
            gen.leg(b, lb, t, c.KFEE, c.SPOT, c.T_CREDIT, c.ST_NONE, 100_000, 0, c.REF_CREDIT,
                     gen.new_ref(c.REF_CREDIT))
    b.trades.add(time=t, pair=pi, side=side, otype=otype, price=price_f, vol=vol_f, cost=cost,
                 fee=fee_q, maker=int(maker), order=order_idx, leg=first, nlegs=nlegs, pos=0, lev=0, margin=0)
    return cost, fee_q

