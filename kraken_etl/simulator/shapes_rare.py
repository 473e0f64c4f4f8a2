"""The rarer shapes of real retail Kraken accounts (the `retail-2019-2025` profile), as profile events.

Each event is ``(generator, batch, time, bases, mean_gap) -> time`` (simulator/profiles.py) and writes whole,
balanced events through `Generator.leg`, so every (asset, wallet) chain keeps
``balance = previous + amount - fee`` and never goes negative. The types are Kraken's documented ledger enum
(`sale`, `custodytransfer`, `nfttrade`, `nftcreatorfee`, `nftrebate`, `adjustment`, `conversion`, `staking`)
and `hybridearnwithdrawal` as seen in exports; which legs each shape has, its refids and its
dates are assumptions, listed as UNVERIFIED in docs/simulator.md:

- `dust_conversion`: small spot balances (under `DUST_USD` each) converted whole into USD by Kraken: one
  `conversion` leg out per asset and one USD leg in, all under one refid. With no dust, the event makes some
  the way accounts get it: a withdrawal that leaves a few dollars behind;
- `adjustment`: one `adjustment` leg, a small credit or debit of a spot balance;
- `opt_in_rewards`: the opt-in rewards mirrors (`XBT.M`, `USD.M`, `DOT.F`, `ETH.B`), before Earn
  (2023-11-15): `transfer` spottostaking / stakingfromspot in, `staking` rewards on the mirror, `transfer`
  stakingtospot / spotfromstaking back; from Earn's launch on, only the way back;
- `sale`: part of a spot balance sold by Kraken: a `sale` leg out and its USD value in, one refid;
- `custodytransfer`: a spot balance moved between Kraken's custody entities: out and back in, one refid;
- `nft`: while Kraken's NFT marketplace was open (2022-11-01 to 2025-02-27): an NFT bought (`nfttrade`, ETH or
  SOL out), sold (`nfttrade` in with the `nftcreatorfee` royalty out, one refid), or an `nftrebate`;
- `hybrid_earn_withdrawal`: an Earn balance back to spot (from 2024), two legs under one refid, written as type
  `hybridearnwithdrawal` or as `earn`/`hybridearnwithdrawal` (`SimConfig.hybrid_earn_withdrawal`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kraken_etl.simulator import catalog as c

if TYPE_CHECKING:
    from kraken_etl.simulator.generator import GeneratedBatch, Generator

GRID = 1_000  # 1e-4 s in ticks
TICKS = 10_000_000
T = c.LEDGER_TYPE_CODE
ST = c.SUBTYPE_CODE
A = c.ASSET_CODE
SPOT = c.SPOT
DUST_USD = 25  # a balance worth less is dust (Kraken's threshold is UNVERIFIED)


def day(year: int, month: int, date: int) -> int:
    """Midnight UTC of a day, in ticks."""
    return int(datetime(year, month, date, tzinfo=UTC).timestamp()) * TICKS


EARN_LAUNCH = day(2023, 11, 15)  # Earn replaced opt-in rewards and legacy staking (Earn migration from here)
NFT_OPEN, NFT_CLOSED = day(2022, 11, 1), day(2025, 2, 27)
HYBRID_FROM = day(2024, 1, 1)
ETH2_CONVERTED_FROM = day(2023, 4, 12)  # ETH2.S -> ETH once staked ETH could be withdrawn (Shanghai)
USDT_DELISTED_FROM = day(2025, 3, 31)  # USDT delisted for EEA clients (MiCA)

# (asset, its USD pair): the crypto a dust conversion or a sale may take
_PRICED = (("SOL", "SOLUSD"), ("DOT", "DOTUSD"), ("XETH", "XETHZUSD"), ("XXBT", "XXBTZUSD"))
# (base, its opt-in rewards mirror)
_MIRRORS = (("XXBT", "XBT.M"), ("ZUSD", "USD.M"), ("DOT", "DOT.F"), ("XETH", "ETH.B"))
# (asset, Earn wallet) the default Earn events allocate to
_EARNED = (("XXBT", "earn / flexible"), ("SOL", "earn / bonded"), ("XETH", "earn / liquid"))


def _scale(asset: int) -> int:
    return int(10 ** c.ASSETS[asset].decimals)


def _usd_value(gen: Generator, asset: int, amount: int, pair_key: str) -> int:
    """`amount` of `asset` in scaled USD at the pair's current price."""
    pi = c.PAIR_CODE[pair_key]
    price = max(1, int(gen.prices[pi]))
    return amount * price * _scale(c.USD) // (_scale(asset) * int(10 ** c.PAIRS[pi].pair_decimals))


def _units(asset: int, usd_cents: int, pair_key: str, gen: Generator) -> int:
    """About `usd_cents` worth of `asset` (scaled)."""
    pi = c.PAIR_CODE[pair_key]
    price = max(1, int(gen.prices[pi]))
    return usd_cents * _scale(asset) * int(10 ** c.PAIRS[pi].pair_decimals) // (price * 100)


def dust_conversion(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int) -> int:
    """Every spot balance under `DUST_USD` converted whole into USD (one refid); else a withdrawal leaves dust."""
    lb = bases[0]
    dust = [(A[name], pair) for name, pair in _PRICED
            if 0 < _usd_value(gen, A[name], gen.bal(A[name]), pair) < DUST_USD * _scale(c.USD)]
    if not dust:
        make_dust(gen, b, t, lb, (gen.rng.choice(_PRICED),))
        return t
    ref = gen.new_ref(c.REF_TRANSFER)
    total = 0
    for asset, pair in dust:
        total += _usd_value(gen, asset, gen.bal(asset), pair)
        gen.leg(b, lb, t, asset, SPOT, T["conversion"], ST[""], -gen.bal(asset), 0, c.REF_TRANSFER, ref)
    gen.leg(b, lb, t, c.USD, SPOT, T["conversion"], ST[""], total, 0, c.REF_TRANSFER, ref)
    return t


def make_dust(gen: Generator, b: GeneratedBatch, t: int, lb: int, candidates: tuple[tuple[str, str], ...] = _PRICED
              ) -> bool:
    """A withdrawal that leaves a few dollars of the first of `candidates` that can: whether one was written."""
    for name, pair in candidates:
        asset = A[name]
        keep = _units(asset, gen.rng.randint(100, DUST_USD * 100 - 100), pair, gen)
        fee = _scale(asset) // 10_000
        out = gen.bal(asset) - keep - fee
        if keep > 0 and out > fee:
            gen.leg(b, lb, t, asset, SPOT, T["withdrawal"], ST[""], -out, fee, c.REF_WITHDRAWAL,
                    gen.new_ref(c.REF_WITHDRAWAL))
            return True
    return False


def adjustment(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int) -> int:
    """One `adjustment` leg: a small credit, or a small debit of a spot balance."""
    rng = gen.rng
    asset = A[rng.choice(("ZUSD", "ZEUR", "XXBT", "SOL"))]
    amount = rng.randint(1, 10_000) * _scale(asset) // 1_000_000  # up to 0.01 of a unit
    if rng.random() < 0.5:
        amount = -min(amount, gen.bal(asset))
    if amount == 0:
        return t
    gen.leg(b, bases[0], t, asset, SPOT, T["adjustment"], ST[""], amount, 0, c.REF_CREDIT, gen.new_ref(c.REF_CREDIT))
    return t


def opt_in_rewards(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int,
                   mirror_at: int | None = None, step: str | None = None) -> int:
    """Opt-in rewards before Earn: into the mirror, rewards on it, back out; from Earn's launch, only back.
    `mirror_at` (an index of `_MIRRORS`) and `step` (in, reward, out) choose instead of the dice (the schedule)."""
    rng, lb = gen.rng, bases[0]
    base_name, mirror_name = rng.choice(_MIRRORS) if mirror_at is None else _MIRRORS[mirror_at]
    base, mirror = A[base_name], A[mirror_name]
    held = gen.bal(mirror)
    early = gen.before(t, EARN_LAUNCH)
    if not early and not gen.after(t, EARN_LAUNCH):
        return t  # the calendar is unknown here: nothing dated
    r = {None: rng.random(), "out": 0.0, "reward": 0.5, "in": 1.0}[step]
    if held > 0 and (not early or r < 0.25):
        ref = gen.new_ref(c.REF_STAKING)
        gen.leg(b, lb, t, mirror, SPOT, T["transfer"], ST["stakingtospot"], -held, 0, c.REF_STAKING, ref)
        gen.leg(b, lb, t, base, SPOT, T["transfer"], ST["spotfromstaking"], held, 0, c.REF_STAKING, ref)
        return t
    if not early:
        return t
    if held > 0 and r < 0.75:
        reward = held * rng.randint(1, 40) // 1_000_000 + 1
        gen.leg(b, lb, t, mirror, SPOT, T["staking"], ST[""], reward, 0, c.REF_STAKING, gen.new_ref(c.REF_STAKING))
        return t
    amount = gen.bal(base) * rng.randint(5, 25) // 100
    if amount <= 0:
        return t
    ref = gen.new_ref(c.REF_STAKING)
    gen.leg(b, lb, t, base, SPOT, T["transfer"], ST["spottostaking"], -amount, 0, c.REF_STAKING, ref)
    gen.leg(b, lb, t, mirror, SPOT, T["transfer"], ST["stakingfromspot"], amount, 0, c.REF_STAKING, ref)
    return t


def sale(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int) -> int:
    """Part of a spot balance sold by Kraken: `sale` out, its USD value in, one refid."""
    name, pair = gen.rng.choice(_PRICED)
    asset = A[name]
    amount = gen.bal(asset) * gen.rng.randint(1, 10) // 100
    value = _usd_value(gen, asset, amount, pair)
    if amount <= 0 or value <= 0:
        return t
    ref = gen.new_ref(c.REF_TRANSFER)
    gen.leg(b, bases[0], t, asset, SPOT, T["sale"], ST[""], -amount, 0, c.REF_TRANSFER, ref)
    gen.leg(b, bases[0], t, c.USD, SPOT, T["sale"], ST[""], value, 0, c.REF_TRANSFER, ref)
    return t


def custody_transfer(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int) -> int:
    """A spot balance moved between Kraken's custody entities: out, then back in, one refid."""
    asset = A[gen.rng.choice(("XXBT", "XETH", "ZUSD"))]
    held = gen.bal(asset)
    if held <= 0:
        return t
    ref = gen.new_ref(c.REF_TRANSFER)
    gen.leg(b, bases[0], t, asset, SPOT, T["custodytransfer"], ST[""], -held, 0, c.REF_TRANSFER, ref)
    gen.leg(b, bases[0], t, asset, SPOT, T["custodytransfer"], ST[""], held, 0, c.REF_TRANSFER, ref)
    return t


def nft(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int,
        step: str | None = None) -> int:
    """While the NFT marketplace was open: an NFT bought, one sold (with its creator's royalty), or a rebate
    (`step`: buy, sell or rebate instead of the dice)."""
    if not (gen.after(t, NFT_OPEN) and gen.before(t, NFT_CLOSED)):
        return t
    rng, lb = gen.rng, bases[0]
    name, pair = rng.choice((("XETH", "XETHZUSD"), ("SOL", "SOLUSD")))
    asset = A[name]
    price = _units(asset, rng.randint(2_000, 200_000), pair, gen)  # $20 to $2,000
    r = {None: rng.random(), "buy": 0.0, "sell": 0.5, "rebate": 0.9}[step]
    if r < 0.45:
        if price <= 0 or gen.bal(asset) < price:
            return t
        gen.leg(b, lb, t, asset, SPOT, T["nfttrade"], ST[""], -price, 0, c.REF_TRANSFER, gen.new_ref(c.REF_TRANSFER))
        return t
    if r < 0.85:
        royalty = price * rng.randint(1, 10) // 100
        ref = gen.new_ref(c.REF_TRANSFER)
        gen.leg(b, lb, t, asset, SPOT, T["nfttrade"], ST[""], price, 0, c.REF_TRANSFER, ref)
        if royalty > 0:
            gen.leg(b, lb, t, asset, SPOT, T["nftcreatorfee"], ST[""], -royalty, 0, c.REF_TRANSFER, ref)
        return t
    rebate = price * rng.randint(1, 20) // 1_000
    if rebate > 0:
        gen.leg(b, lb, t, asset, SPOT, T["nftrebate"], ST[""], rebate, 0, c.REF_CREDIT, gen.new_ref(c.REF_CREDIT))
    return t


def hybrid_earn_withdrawal(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int],
                           mean_gap: int, ensure: bool = False) -> int:
    """From 2024: part of an Earn balance back to spot, two legs under one refid (`ensure`: with an empty Earn
    wallet, allocate to it first, a second before)."""
    if not gen.after(t, HYBRID_FROM):
        return t
    name, wallet_name = gen.rng.choice(_EARNED)
    asset, wallet = A[name], c.WALLETS.index(wallet_name)
    if ensure and gen.bal(asset, wallet) <= 0 < gen.bal(asset):
        moved = gen.bal(asset) * gen.rng.randint(10, 40) // 100
        ref = gen.new_ref(c.REF_EARN)
        gen.leg(b, bases[0], t, asset, SPOT, T["earn"], ST["allocation"], -moved, 0, c.REF_EARN, ref)
        gen.leg(b, bases[0], t, asset, wallet, T["earn"], ST["allocation"], moved, 0, c.REF_EARN, ref)
        t += TICKS
    amount = gen.bal(asset, wallet) * gen.rng.randint(20, 100) // 100
    if amount <= 0:
        return t
    if gen.hybrid_earn_withdrawal == "type":
        kind, sub = T["hybridearnwithdrawal"], ST[""]
    else:
        kind, sub = T["earn"], ST["hybridearnwithdrawal"]
    ref = gen.new_ref(c.REF_EARN)
    gen.leg(b, bases[0], t, asset, wallet, kind, sub, -amount, 0, c.REF_EARN, ref)
    gen.leg(b, bases[0], t, asset, SPOT, kind, sub, amount, 0, c.REF_EARN, ref)
    return t
