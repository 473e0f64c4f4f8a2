"""Shapes of real retail Kraken accounts (the `retail-2019-2025` profile), as profile events.

Each event is ``(generator, batch, time, bases, mean_gap) -> time`` (simulator/profiles.py) and writes whole,
balanced events through `Generator.leg`, so every (asset, wallet) chain keeps
``balance = previous + amount - fee`` and never goes negative:

- `buy_crypto`: Buy Crypto in the app: a fiat `deposit`, then `spend` (the fiat, with the fee) and `receive`
  (the coin) sharing one refid a little later;
- `multi_wallet_sell`: one market sell filled from spot AND an Earn wallet of the same asset: one trade, two
  base legs (one per wallet) and the quote leg, all with refid = the trade txid (BittyTax PR #499: a
  31.41 ETH sale drawn from spot 29.86 + earn 1.55);
- `earn_migration`: a legacy `DOT.S` balance moved to an Earn wallet of `DOT` (`earn`/`migration`, or
  `transfer`/`migration` with `SimConfig.earn_migration_type`; two legs, one refid; Kraken's Earn migration,
  only from 2023-11-15 on: legacy staking before);
- `delisting_conversion`: a delisted asset (`USDT`) converted by Kraken: `transfer`/`delistingconversion` out,
  and its USD value in hours later under another refid (BittyTax PR #499: the two sides are unpaired); from
  2025-03-31 on;
- `other_types`: an `ETH2.S` → `ETH` `conversion` (the renamed asset; from 2023-04-12 on), an `invite bonus`,
  a `dividend` and an `airdrop` (a type outside Kraken's documented enum: the pipeline must load and flag it).

The profile is dated (its history starts exactly `history_days` before `end_time`), so a shape asks the calendar
(`Generator.after`/`before`). Codes are looked up by name in `catalog` (never numbers). Where Kraken's
documentation is silent (refid prefixes, which wallet Earn migration lands in, the migration legs' type, the
dates) the choice is an assumption listed as UNVERIFIED in docs/simulator.md. The rarer shapes (dust, adjustment,
opt-in rewards, sale, custody transfer, NFTs, hybrid Earn withdrawal) are in simulator/shapes_rare.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.shapes_rare import EARN_LAUNCH, ETH2_CONVERTED_FROM, USDT_DELISTED_FROM

if TYPE_CHECKING:
    from kraken_etl.simulator.generator import GeneratedBatch, Generator

GRID = 1_000  # 1e-4 s in ticks
LOT = 8  # lot decimals of every pair
TAKER_RATE = 26  # per 10,000

T = c.LEDGER_TYPE_CODE
ST = c.SUBTYPE_CODE
A = c.ASSET_CODE
W = {name: i for i, name in enumerate(c.WALLETS)}
SPOT = W["spot / main"]


def _scale(asset: int) -> int:
    return int(10 ** c.ASSETS[asset].decimals)


def _lot_units(asset: int, scaled: int) -> int:
    """A scaled amount of `asset` rounded down to whole lot units (8 decimals)."""
    step = int(10 ** (c.ASSETS[asset].decimals - LOT))
    return scaled // step * step


def _later(gen: Generator, t: int, low: int, high: int) -> int:
    return (t // GRID + gen.rng.randint(low, high)) * GRID


def _price(gen: Generator, pair_key: str) -> tuple[int, int]:
    """The pair's current price (scaled integer) and its index."""
    pi = c.PAIR_CODE[pair_key]
    return max(1, gen.prices[pi]), pi


def buy_crypto(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int) -> int:
    """A fiat deposit, then `spend` (fiat out, fee on it) and `receive` (coin in) under one refid."""
    rng, lb = gen.rng, bases[0]
    fiat_name, coin_name, pair_key = rng.choice((
        ("ZUSD", "XXBT", "XXBTZUSD"), ("ZUSD", "XETH", "XETHZUSD"), ("ZUSD", "SOL", "SOLUSD"),
        ("ZUSD", "DOT", "DOTUSD"), ("ZEUR", "XXBT", "XXBTZEUR"),
    ))
    fiat, coin = A[fiat_name], A[coin_name]
    spend = rng.randint(20, 2_000) * _scale(fiat)
    fee = spend * 150 // 10_000  # Buy Crypto charges about 1.5 % (assumed), on the spend leg
    gen.leg(b, lb, t, fiat, SPOT, T["deposit"], ST[""], spend + fee, 0, c.REF_DEPOSIT, gen.new_ref(c.REF_DEPOSIT))
    price, pi = _price(gen, pair_key)
    pair = c.PAIRS[pi]
    got = spend * 10 ** (c.ASSETS[coin].decimals + pair.pair_decimals) // (price * _scale(fiat))
    got = _lot_units(coin, got)
    t = _later(gen, t, 10, 600)
    if got <= 0:
        return t
    ref = gen.new_ref(c.REF_SPEND)
    gen.leg(b, lb, t, fiat, SPOT, T["spend"], ST[""], -spend, fee, c.REF_SPEND, ref)
    gen.leg(b, lb, t, coin, SPOT, T["receive"], ST[""], got, 0, c.REF_SPEND, ref)
    return t


# (pair key, base asset, its Earn wallet): the wallets the default earn events use for each asset
_MULTI = (("XETHZUSD", "XETH", "earn / liquid"), ("XXBTZUSD", "XXBT", "earn / flexible"),
          ("SOLUSD", "SOL", "earn / bonded"))


def multi_wallet_sell(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int],
                      mean_gap: int) -> int:
    """One market sell filled from spot and an Earn wallet: one trade, three legs, one order.

    When the Earn wallet holds too little, the event allocates to it first (an `earn`/`allocation` pair).
    """
    rng = gen.rng
    lb, tb, ob = bases
    pair_key, base_name, wallet_name = rng.choice(_MULTI)
    base, earn, pi = A[base_name], W[wallet_name], c.PAIR_CODE[pair_key]
    pair = c.PAIRS[pi]
    spot_part = _lot_units(base, gen.bal(base) * rng.randint(5, 30) // 100)
    earn_part = _lot_units(base, gen.bal(base, earn) * rng.randint(30, 100) // 100)
    if spot_part <= 0 or earn_part <= 0:
        amount = _lot_units(base, gen.bal(base) * rng.randint(5, 20) // 100)
        if amount <= 0:
            return gen.deposit(b, t, lb, base)
        ref = gen.new_ref(c.REF_EARN)
        gen.leg(b, lb, t, base, SPOT, T["earn"], ST["allocation"], -amount, 0, c.REF_EARN, ref)
        gen.leg(b, lb, t, base, earn, T["earn"], ST["allocation"], amount, 0, c.REF_EARN, ref)
        return t
    quote = pair.quote
    step = int(10 ** (c.ASSETS[base].decimals - LOT))
    vol = (spot_part + earn_part) // step  # lot units
    price = max(1, gen.prices[pi] + rng.randint(0, 3))
    cost = price * vol * _scale(quote) // 10 ** (pair.pair_decimals + LOT)
    fee = cost * TAKER_RATE // 10_000
    if cost <= fee:
        return t
    opentm = t
    t = _later(gen, t, 1, 20)
    trade_idx = len(b.trades)
    order_idx = ob + len(b.orders)
    ref = b.trade_base + trade_idx
    first = gen.leg(b, lb, t, base, SPOT, T["trade"], ST["tradespot"], -spot_part, 0, c.REF_TRADE, ref)
    gen.leg(b, lb, t, base, earn, T["trade"], ST["tradespot"], -earn_part, 0, c.REF_TRADE, ref)
    gen.leg(b, lb, t, quote, SPOT, T["trade"], ST["tradespot"], cost, fee, c.REF_TRADE, ref)
    market = c.ORDER_TYPES.index("market")
    sell = c.SIDES.index("sell")
    b.trades.add(time=t, pair=pi, side=sell, otype=market, price=price, vol=vol, cost=cost, fee=fee, maker=0,
                 order=order_idx, leg=first, nlegs=3, pos=0, lev=0, margin=0)
    closetm = _later(gen, t, 1, 30)
    b.orders.add(opentm=opentm, closetm=closetm, pair=pi, side=sell, otype=market, status=c.CLOSED, reason=0,
                 vol=vol, vol_exec=vol, cost=cost, fee=fee, limit=0, first_trade=tb + trade_idx, ntrades=1,
                 userref=0, oflags=c.OFLAGS.index("fciq"), amended=0, lev=0)
    return closetm


def stake_through_earn(gen: Generator, b: GeneratedBatch, t: int, lb: int) -> int:
    """The default mix's staking event in a dated profile from the Earn launch on: DOT into `earn / bonded`, ETH
    into `earn / liquid` (`earn`/`allocation`, two legs, one refid), or an `earn`/`reward` on what is
    allocated (legacy staking, DOT → DOT.S, before)."""
    rng = gen.rng
    asset, wallet = rng.choice(((A["DOT"], W["earn / bonded"]), (A["XETH"], W["earn / liquid"])))
    ref = gen.new_ref(c.REF_EARN)
    earned = gen.bal(asset, wallet)
    if earned > 0 and rng.random() < 0.6:
        reward = earned * rng.randint(1, 30) // 1_000_000 + 1
        gen.leg(b, lb, t, asset, wallet, T["earn"], ST["reward"], reward, 0, c.REF_EARN, ref)
        return t
    amount = gen.bal(asset) * rng.randint(5, 25) // 100
    if amount <= 0:
        return gen.deposit(b, t, lb, asset)
    gen.leg(b, lb, t, asset, SPOT, T["earn"], ST["allocation"], -amount, 0, c.REF_EARN, ref)
    gen.leg(b, lb, t, asset, wallet, T["earn"], ST["allocation"], amount, 0, c.REF_EARN, ref)
    return t


def earn_migration(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int) -> int:
    """A legacy `DOT.S` balance moved whole to `DOT` in an Earn wallet (`earn`/`migration` by default, one refid).

    Without a `DOT.S` balance, the event stakes some DOT: the legacy way before 2023-11-15 (`transfer`
    spottostaking / stakingfromspot), through Earn after (`stake_through_earn`).
    """
    lb = bases[0]
    dot, staked, bonded = A["DOT"], A["DOT.S"], W["earn / bonded"]
    held = gen.bal(staked)
    if held <= 0 or not gen.after(t, EARN_LAUNCH):  # Earn migration from 2023-11-15: legacy staking before
        if held > 0:
            return t
        if gen.after(t, EARN_LAUNCH):  # nothing to migrate: staking is through Earn by now
            return stake_through_earn(gen, b, t, lb)
        amount = gen.bal(dot) * gen.rng.randint(5, 25) // 100
        if amount <= 0:
            return gen.deposit(b, t, lb, dot)
        ref = gen.new_ref(c.REF_STAKING)
        gen.leg(b, lb, t, dot, SPOT, T["transfer"], ST["spottostaking"], -amount, 0, c.REF_STAKING, ref)
        gen.leg(b, lb, t, staked, SPOT, T["transfer"], ST["stakingfromspot"], amount, 0, c.REF_STAKING, ref)
        return t
    ref = gen.new_ref(c.REF_EARN)
    kind = T[gen.earn_migration_type]  # `earn` or `transfer`: which one Kraken writes is UNVERIFIED
    gen.leg(b, lb, t, staked, SPOT, kind, ST["migration"], -held, 0, c.REF_EARN, ref)
    gen.leg(b, lb, t, dot, bonded, kind, ST["migration"], held, 0, c.REF_EARN, ref)
    return t


def other_types(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int,
                which: str | None = None) -> int:
    """One of: ETH2.S → ETH `conversion` (two legs, one refid), `invite bonus`, `dividend`, `airdrop` (`which`
    chooses instead of the dice: eth2, stake_eth, invite bonus, dividend, airdrop)."""
    rng, lb = gen.rng, bases[0]
    if which == "stake_eth":
        return _stake_eth(gen, b, t, lb)
    r = {None: rng.random(), "eth2": 0.0, "invite bonus": 0.5, "dividend": 0.7, "airdrop": 0.9}[which]
    if r < 0.4:
        eth2s, eth = A["ETH2.S"], A["XETH"]
        held = gen.bal(eth2s)
        if held <= 0 or not gen.after(t, ETH2_CONVERTED_FROM):
            if gen.bal(eth) <= 0 or held > 0 or gen.after(t, EARN_LAUNCH):  # no legacy staking after Earn
                return t
            return _stake_eth(gen, b, t, lb)
        ref = gen.new_ref(c.REF_TRANSFER)
        gen.leg(b, lb, t, eth2s, SPOT, T["conversion"], ST[""], -held, 0, c.REF_TRANSFER, ref)
        gen.leg(b, lb, t, eth, SPOT, T["conversion"], ST[""], held, 0, c.REF_TRANSFER, ref)
        return t
    if r < 0.6:
        usd = A["ZUSD"]
        gen.leg(b, lb, t, usd, SPOT, T["invite bonus"], ST[""], rng.randint(10, 50) * _scale(usd), 0,
                c.REF_CREDIT, gen.new_ref(c.REF_CREDIT))
        return t
    if r < 0.8:
        usd = A["ZUSD"]
        gen.leg(b, lb, t, usd, SPOT, T["dividend"], ST[""], rng.randint(1, 5_000) * _scale(usd) // 100, 0,
                c.REF_CREDIT, gen.new_ref(c.REF_CREDIT))
        return t
    sol = A["SOL"]
    gen.leg(b, lb, t, sol, SPOT, T["airdrop"], ST[""], rng.randint(1, 1_000) * _scale(sol) // 1_000, 0,
            c.REF_CREDIT, gen.new_ref(c.REF_CREDIT))
    return t


def delisting_conversion(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int],
                         mean_gap: int) -> int:
    """A delisted asset converted by Kraken: the whole spot `USDT` balance out, then later its USD value in,
    both `transfer`/`delistingconversion`, each with its own refid (the two sides are unpaired, as in real
    exports; Kraken delisted USDT for EEA clients in 2025).
    """
    lb = bases[0]
    usdt, usd = A["USDT"], A["ZUSD"]
    held = gen.bal(usdt)
    if held <= 0 or not gen.after(t, USDT_DELISTED_FROM):
        return t
    price, _ = _price(gen, "USDTZUSD")
    pair = c.PAIRS[c.PAIR_CODE["USDTZUSD"]]
    value = held * price * _scale(usd) // (_scale(usdt) * 10**pair.pair_decimals)
    sub = ST["delistingconversion"]
    gen.leg(b, lb, t, usdt, SPOT, T["transfer"], sub, -held, 0, c.REF_TRANSFER, gen.new_ref(c.REF_TRANSFER))
    # later by up to two of the account's mean gaps between events (about two days in a built history; within
    # a second in `/_sim/advance`, whose rows must stay after what was already served)
    t = _later(gen, t, 1, max(1, 2 * mean_gap // GRID))
    if value > 0:
        gen.leg(b, lb, t, usd, SPOT, T["transfer"], sub, value, 0, c.REF_TRANSFER, gen.new_ref(c.REF_TRANSFER))
    return t


def _stake_eth(gen: Generator, b: GeneratedBatch, t: int, lb: int) -> int:
    eth, eth2s = A["XETH"], A["ETH2.S"]
    amount = gen.bal(eth) * gen.rng.randint(5, 15) // 100
    if amount <= 0:
        return t
    ref = gen.new_ref(c.REF_STAKING)
    gen.leg(b, lb, t, eth, SPOT, T["transfer"], ST["spottostaking"], -amount, 0, c.REF_STAKING, ref)
    gen.leg(b, lb, t, eth2s, SPOT, T["transfer"], ST["stakingfromspot"], amount, 0, c.REF_STAKING, ref)
    return t
