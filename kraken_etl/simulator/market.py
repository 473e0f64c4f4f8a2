"""The simulated market: one deterministic price path per pair, its public trades and its candles.

The path of a pair runs through the account's own fills: between two fills it is the straight line from
one fill price to the next (in the pair's price units), before the first and after the last it is flat.
The market's public trades are the account's fills plus two synthetic trades per minute, at offsets,
sizes and sides drawn from a hash of (seed, pair, minute, slot) and priced at the path ± up to 0.15 % —
so any minute of any pair is computed on its own, cheaply, without walking from the start. Candles
(OHLC, the OHLCVT files, the truth endpoint) are aggregates of exactly these trades, so OHLC and Trades
agree and every fill lies inside its minute's candle by construction.

The market-only pairs (the account never trades them) follow paths derived from the traded ones, so the
market has no arbitrage at the mid: EUR/USD is XBT/USD over XBT/EUR, ETH/EUR is ETH/USD over EUR/USD.
Valuation at a moment (TradeBalance, the exports' ``…usd`` columns) uses the path itself (the "mid": no
trade noise) through the asset's USD pair (EUR through EUR/USD); KFEE keeps its fixed 0.01.
Everything is integer arithmetic in the pair's price units (pair_decimals); no float touches a price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.generator import TICKS

Ints = npt.NDArray[np.int64]
SLOTS = 2  # synthetic trades per minute and pair
NOISE = 150  # ± per 100,000 of the path price (0.15 %)
MS_TICKS = TICKS // 1_000  # ticks per millisecond
MINUTE_TICKS = 60 * TICKS
ID_STRIDE = 1_024  # trade ids: minute * ID_STRIDE + rank within the minute
INTERVALS = (1, 5, 15, 30, 60, 240, 720, 1440, 10080, 21600)  # candle widths served (minutes)
DAY_MINUTES = 1440  # candles wider than a day are aggregates of whole daily candles (weeks, 15 days)
LOT = 8  # volume decimals

# Asset -> (pair whose price values it in USD, or None), for the path's USD valuation.
USD_PAIR: dict[int, int] = {
    c.XBT: c.PAIR_CODE["XXBTZUSD"], c.ETH: c.PAIR_CODE["XETHZUSD"], c.ETH2: c.PAIR_CODE["XETHZUSD"],
    c.ETH2_S: c.PAIR_CODE["XETHZUSD"], c.DOT: c.PAIR_CODE["DOTUSD"], c.DOT_S: c.PAIR_CODE["DOTUSD"],
    c.USDT: c.PAIR_CODE["USDTZUSD"], c.SOL: c.PAIR_CODE["SOLUSD"], c.EUR: c.PAIR_CODE["ZEURZUSD"],
    c.XBT_M: c.PAIR_CODE["XXBTZUSD"], c.DOT_F: c.PAIR_CODE["DOTUSD"], c.ETH_B: c.PAIR_CODE["XETHZUSD"],
}
_XBTUSD, _XBTEUR, _ETHUSD = c.PAIR_CODE["XXBTZUSD"], c.PAIR_CODE["XXBTZEUR"], c.PAIR_CODE["XETHZUSD"]
_EURUSD, _ETHEUR = c.PAIR_CODE["ZEURZUSD"], c.PAIR_CODE["XETHZEUR"]


def _mix(x: Ints) -> Ints:
    """splitmix64 finaliser on uint64 (wrapping arithmetic is the point)."""
    v = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        v = v + np.uint64(0x9E3779B97F4A7C15)
        v = (v ^ (v >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        v = (v ^ (v >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (v ^ (v >> np.uint64(31))).astype(np.int64) & np.int64(0x7FFFFFFFFFFFFFFF)


@dataclass(frozen=True, slots=True)
class Trades:
    """Public trades of one pair, in time order: times in ticks (1e-7 s), prices in pair units, volumes in
    1e-8, side 0 buy / 1 sell, kind 0 limit / 1 market, id Kraken-style (increasing)."""

    time: Ints
    price: Ints
    vol: Ints
    side: Ints
    kind: Ints
    id: Ints


@dataclass(frozen=True, slots=True)
class Candles:
    """Candles of one pair and interval: start (unix seconds), OHLC in pair units, vwap as (sum p·v, sum v)
    integers, volume in 1e-8, trade count."""

    start: Ints
    open: Ints
    high: Ints
    low: Ints
    close: Ints
    pv: list[int]
    volume: Ints
    count: Ints


class Market:
    """The market of one simulated account (reads the store's fills; caches per store version)."""

    def __init__(self, store: object, seed: int) -> None:
        self.store = store
        self.seed = seed
        self._cache: dict[int, tuple[int, Ints, Ints, Ints, Ints, Ints]] = {}

    # -- the path --------------------------------------------------------------------------------------
    def _fills(self, pi: int) -> tuple[Ints, Ints, Ints, Ints, Ints]:
        """The account's fills of pair `pi`: time (ticks), price, vol, side, kind."""
        store = self.store
        version = store.version  # type: ignore[attr-defined]
        hit = self._cache.get(pi)
        if hit is None or hit[0] != version:
            cols = store.trades.columns()  # type: ignore[attr-defined]
            mask = np.asarray(cols["pair"]) == pi
            times = np.asarray(cols["time"], dtype=np.int64)[mask]
            order = np.argsort(times, kind="stable")
            kinds = (np.asarray(cols["otype"], dtype=np.int64)[mask] != 0).astype(np.int64)
            hit = (version, times[order], np.asarray(cols["price"], dtype=np.int64)[mask][order],
                   np.asarray(cols["vol"], dtype=np.int64)[mask][order],
                   np.asarray(cols["side"], dtype=np.int64)[mask][order], kinds[order])
            self._cache[pi] = hit
        return hit[1], hit[2], hit[3], hit[4], hit[5]

    def mid(self, pi: int, ticks: Ints) -> Ints:
        """The path (no trade noise) of pair `pi` at `ticks`, in the pair's price units."""
        t = np.asarray(ticks, dtype=np.int64)
        if pi == _EURUSD:  # XBT/USD over XBT/EUR (both with one decimal), in EUR/USD's five
            eur: Ints = self.mid(_XBTUSD, t) * 10**c.PAIRS[_EURUSD].pair_decimals // self.mid(_XBTEUR, t)
            return eur
        if pi == _ETHEUR:  # ETH/USD times XBT/EUR over XBT/USD (ETH/USD and ETH/EUR both with two decimals)
            eth: Ints = self.mid(_ETHUSD, t) * self.mid(_XBTEUR, t) // self.mid(_XBTUSD, t)
            return eth
        times, prices, _, _, _ = self._fills(pi)
        if len(times) == 0:
            p = c.PAIRS[pi]
            whole, _, frac = p.start_price.partition(".")
            return np.full(t.shape, int(whole + frac.ljust(p.pair_decimals, "0")[: p.pair_decimals]),
                           dtype=np.int64)
        ms_t, ms_k = t // MS_TICKS, times // MS_TICKS
        right = np.clip(np.searchsorted(ms_k, ms_t, side="right"), 1, len(times) - 1) if len(times) > 1 else None
        if right is None:
            return np.full(t.shape, prices[0], dtype=np.int64)
        t0, t1 = ms_k[right - 1], ms_k[right]
        p0, p1 = prices[right - 1], prices[right]
        span = np.maximum(t1 - t0, 1)
        along = np.clip(ms_t - t0, 0, span)
        out = p0 + (p1 - p0) * along // span
        out = np.where(ms_t <= ms_k[0], prices[0], out)
        result: Ints = np.where(ms_t >= ms_k[-1], prices[-1], out)
        return result

    def usd_price(self, asset: int, ticks: int) -> tuple[int, int]:
        """The USD value of one unit of `asset` at `ticks`, as (scaled integer, decimals)."""
        prices, places = self.usd_prices(asset, np.array([ticks], dtype=np.int64))
        return int(prices[0]), places

    def usd_prices(self, asset: int, ticks: Ints) -> tuple[Ints, int]:
        """`usd_price` at each of `ticks` at once: (scaled integers, decimals)."""
        t = np.asarray(ticks, dtype=np.int64)
        pi = USD_PAIR.get(asset)
        if pi is None:
            text = c.ASSETS[asset].usd_price
            whole, _, frac = text.partition(".")
            return np.full(t.shape, int(whole + frac), dtype=np.int64), len(frac)
        return self.mid(pi, t), c.PAIRS[pi].pair_decimals

    # -- public trades -----------------------------------------------------------------------------------
    def trades(self, pi: int, first_minute: int, end_minute: int, now_ticks: int, *,
               with_ids: bool = True) -> Trades:
        """Every public trade of pair `pi` in whole minutes [first_minute, end_minute), up to `now_ticks`."""
        end_minute = max(first_minute, end_minute)
        n_min = end_minute - first_minute
        minute_list = np.arange(first_minute, end_minute, dtype=np.int64)
        minutes = np.repeat(minute_list, SLOTS)
        slots = np.tile(np.arange(SLOTS, dtype=np.int64), n_min)
        key = _mix(np.full(1, self.seed * 131 + pi, dtype=np.int64))[0]
        h = _mix((minutes * 4 + slots) ^ key)
        # slot k sits in the k-th part of its minute, so synthetic trades come out in time order
        part = 60_000 // SLOTS
        synth_t = minutes * MINUTE_TICKS + (slots * part + h % part) * MS_TICKS
        noise = (h >> 20) % (2 * NOISE + 1) - NOISE
        base = np.repeat(self.mid(pi, minute_list * MINUTE_TICKS + MINUTE_TICKS // 2), SLOTS)
        synth_p = np.maximum(1, base + base * noise // 100_000)
        synth_v = (h >> 32) % 50_000_000 + 100_000
        f_t, f_p, f_v, f_s, f_k = self._fills(pi)
        lo, hi = np.searchsorted(f_t, [first_minute * MINUTE_TICKS, end_minute * MINUTE_TICKS])
        n_f = int(hi - lo)
        fpos = np.searchsorted(synth_t, f_t[lo:hi], side="right") + np.arange(n_f)
        synth_at = np.ones(len(synth_t) + n_f, dtype=bool)
        synth_at[fpos] = False

        def merged(synth: Ints, fills: Ints) -> Ints:
            out = np.empty(len(synth_at), dtype=np.int64)
            out[synth_at] = synth
            out[fpos] = fills
            return out

        time = merged(synth_t, f_t[lo:hi])
        keep = int(np.searchsorted(time, now_ticks, side="right"))
        minute_of = time[:keep] // MINUTE_TICKS
        rank = np.arange(keep) - np.searchsorted(minute_of, minute_of, side="left") if with_ids else 0
        return Trades(
            time=time[:keep],
            price=merged(synth_p, f_p[lo:hi])[:keep],
            vol=merged(synth_v, f_v[lo:hi])[:keep],
            side=merged((h >> 17) & 1, f_s[lo:hi])[:keep],
            kind=merged((h >> 18) & 1, f_k[lo:hi])[:keep],
            id=minute_of * ID_STRIDE + np.minimum(rank, ID_STRIDE - 1),
        )

    # -- candles ----------------------------------------------------------------------------------------
    def candles(self, pi: int, interval: int, first: int, last: int, now_ticks: int) -> Candles:
        """Candles `first`..`last` (indexes: start = index · interval minutes) of pair `pi`, built from the
        trades up to `now_ticks`; a candle with no trade yet repeats the previous close with no volume."""
        if interval not in INTERVALS:
            raise ValueError(f"interval {interval} not served")
        if interval > DAY_MINUTES:
            return self._coarse(pi, interval, first, last, now_ticks)
        first_minute = first * interval
        tr = self.trades(pi, first_minute - 1, (last + 1) * interval, now_ticks, with_ids=False)
        n = last - first + 1
        prev_close = int(tr.price[0]) if len(tr.time) and tr.time[0] < first_minute * MINUTE_TICKS else None
        inside = tr.time >= first_minute * MINUTE_TICKS
        t, p, v = tr.time[inside], tr.price[inside], tr.vol[inside]
        idx = t // (interval * MINUTE_TICKS) - first
        starts = np.searchsorted(idx, np.arange(n), side="left")
        ends = np.searchsorted(idx, np.arange(n), side="right")
        cnt = (ends - starts).astype(np.int64)
        o, hgh, lw, cl, vol, pv_arr = (np.zeros(n, np.int64) for _ in range(6))
        full = cnt > 0
        if full.any():
            at = starts[full]
            o[full] = p[at]
            cl[full] = p[ends[full] - 1]
            hgh[full] = np.maximum.reduceat(p, at)
            lw[full] = np.minimum.reduceat(p, at)
            vol[full] = np.add.reduceat(v, at)
            pv_arr[full] = np.add.reduceat(p * v, at)  # per candle < 2**63 (≤ 2,880 trades of < 2**44)
        for k in np.nonzero(~full)[0]:  # no trade yet: the previous close, no volume
            before = cl[k - 1] if k > 0 else prev_close
            fill = before if before is not None else int(self.mid(
                pi, np.array([(first + k) * interval * MINUTE_TICKS]))[0])
            o[k] = hgh[k] = lw[k] = cl[k] = fill
        pv = [int(x) for x in pv_arr]
        start = (np.arange(first, last + 1, dtype=np.int64) * interval * 60)
        return Candles(start, o, hgh, lw, cl, pv, vol, cnt)

    def _coarse(self, pi: int, interval: int, first: int, last: int, now_ticks: int) -> Candles:
        """Weekly or 15-day candles (aligned on the unix epoch, UNVERIFIED) as aggregates of the daily ones:
        the same trades, so every interval agrees."""
        k = interval // DAY_MINUTES
        return _coarse_of(self.candles(pi, DAY_MINUTES, first * k, (last + 1) * k - 1, now_ticks), k, first, last)


def _coarse_of(days: Candles, k: int, first: int, last: int) -> Candles:
    """Candles of k days each (indexes first..last) from the daily candles of the same days, in order."""
    n = last - first + 1
    at = np.arange(n, dtype=np.int64) * k
    return Candles(start=days.start[at], open=days.open[at], high=np.maximum.reduceat(days.high, at),
                   low=np.minimum.reduceat(days.low, at), close=days.close[at + k - 1],
                   pv=[sum(days.pv[i:i + k]) for i in at], volume=np.add.reduceat(days.volume, at),
                   count=np.add.reduceat(days.count, at))


def fmt_units(value: int, decimals: int) -> str:
    """A scaled integer as decimal text with exactly `decimals` places."""
    sign = "-" if value < 0 else ""
    value = abs(int(value))
    if decimals == 0:
        return f"{sign}{value}"
    return f"{sign}{value // 10**decimals}.{value % 10**decimals:0{decimals}d}"


def vwap_text(pv: int, volume: int, close: int, decimals: int) -> str:
    """The volume-weighted average price with three more places than the pair's (close when no volume)."""
    if volume <= 0:
        return fmt_units(close * 1000, decimals + 3)
    return fmt_units(pv * 1000 // volume, decimals + 3)
