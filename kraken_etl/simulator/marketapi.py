"""The public market-data endpoints (``OHLC``, ``Trades``), the per-IP public call limit, and the price truth.

- ``OHLC?pair=&interval=&since=``: the 720 most recent candles of the interval (the last one unfinished)
  whatever ``since`` asks (weekly and 15-day ones: only those within the daily window's 720 days, as for a
  pair listed then: a simplification that keeps a call cheap); ``since`` (exclusive, Kraken's docs) only
  trims older ones, the unfinished candle is always present; ``last`` is the start of the latest complete
  candle (the next poll's ``since``).
- ``Trades?pair=&since=&count=``: trades after ``since`` (nanoseconds, exclusive: UNVERIFIED), oldest
  first, at most ``count`` (≤ 1000); ``last`` is the newest returned trade's time in nanoseconds.
  Without ``since``, the most recent ``count`` trades.
- Public calls are limited per client address: each costs 1 on a counter that drains at
  ``public_decay_per_second * rate_scale`` up to ``public_rate_limit`` (both UNVERIFIED: Kraken documents
  "about one call per second" for public endpoints); past it: ``EGeneral:Too many requests``.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import numpy as np

from kraken_etl.core.callcounter import CallCounter, Tier
from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.auth import ApiError
from kraken_etl.simulator.generator import TICKS
from kraken_etl.simulator.jsontext import Num
from kraken_etl.simulator.market import DAY_MINUTES, INTERVALS, MINUTE_TICKS, Market, fmt_units, vwap_text

WINDOW = 720  # candles Kraken's OHLC returns
MAX_TRADES = 1_000
LIMITED = frozenset({"OHLC", "Trades", "Assets", "AssetPairs", "Ticker", "Depth", "Spread"})


class PublicLimiter:
    """One decaying counter per client address (public endpoints)."""

    def __init__(self, limit: float, decay_per_second: float, enabled: bool) -> None:
        self.tier = Tier("public", limit, decay_per_second)
        self.enabled = enabled
        self.counters: dict[str, CallCounter] = {}
        self.lock = threading.Lock()
        self.refused = 0
        self.calls: dict[str, int] = {}  # public calls by method (refused ones included)

    def charge(self, address: str, method: str, now: float) -> None:
        """Spend one call for `address`, or raise Kraken's public-limit error."""
        with self.lock:
            self.calls[method] = self.calls.get(method, 0) + 1
            if not self.enabled:
                return
            counter = self.counters.setdefault(address, CallCounter(self.tier, at=now))
            if not counter.try_spend(1, now):
                self.refused += 1
                raise ApiError("EGeneral:Too many requests")


def _pair(name: str | None) -> int:
    pi = c.PAIR_BY_NAME.get((name or "").strip())
    if pi is None:
        raise ApiError("EQuery:Unknown asset pair")
    return pi


def _int(params: dict[str, Any], name: str, default: int | None) -> int | None:
    text = (params.get(name) or "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ApiError(f"EGeneral:Invalid arguments:{name}") from None


def candle_rows(market: Market, pi: int, interval: int, first: int, last: int, now_ticks: int) -> list[list[Any]]:
    """Candles as Kraken's OHLC rows: [time, open, high, low, close, vwap, volume, count]."""
    d = c.PAIRS[pi].pair_decimals
    cd = market.candles(pi, interval, first, last, now_ticks)
    return [[int(cd.start[k]), fmt_units(cd.open[k], d), fmt_units(cd.high[k], d), fmt_units(cd.low[k], d),
             fmt_units(cd.close[k], d), vwap_text(cd.pv[k], int(cd.volume[k]), int(cd.close[k]), d),
             fmt_units(cd.volume[k], 8), int(cd.count[k])] for k in range(len(cd.start))]


def _skew(row: list[Any], percent: int, decimals: int) -> list[Any]:
    factor = Decimal(100 + percent) / 100
    places = Decimal(1).scaleb(-decimals)
    moved = [str((Decimal(v) * factor).quantize(places)) for v in row[1:5]]
    vwap = str((Decimal(row[5]) * factor).quantize(places.scaleb(-3)))
    return [row[0], *moved, vwap, *row[6:]]


def ohlc(market: Market, params: dict[str, Any], now_ticks: int,
         skew: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OHLC endpoint's result (`skew`: the candle_skew fault, the candles overlapping the hour that starts
    at its moment, so a test's snapshot taken in that hour meets a skewed hourly candle even across a change of
    hour)."""
    pi = _pair(params.get("pair"))
    interval = _int(params, "interval", 1) or 1
    if interval not in INTERVALS:
        raise ApiError("EGeneral:Invalid arguments:interval")
    since = _int(params, "since", None)
    current = now_ticks // (interval * MINUTE_TICKS)
    oldest = current - WINDOW + 1
    if interval > DAY_MINUTES:  # the days the daily window reaches, as for a pair listed 720 days ago
        first_day = now_ticks // (DAY_MINUTES * MINUTE_TICKS) - WINDOW + 1
        oldest = max(oldest, -(-first_day // (interval // DAY_MINUTES)))
    rows = candle_rows(market, pi, interval, oldest, current, now_ticks)
    if since is not None:
        rows = [r for r in rows[:-1] if r[0] > since] + rows[-1:]  # the unfinished candle always comes
    if skew and skew["pair"] == c.PAIRS[pi].altname:
        at, d = skew["at"], c.PAIRS[pi].pair_decimals
        rows = [_skew(r, skew["percent"], d) if r[0] < at + 3600 and at < r[0] + interval * 60 else r for r in rows]
    return {c.PAIRS[pi].key: rows, "last": (current - 1) * interval * 60}


def _time_text(ticks: int) -> Num:
    text = fmt_units(ticks, 7).rstrip("0")
    whole, _, frac = text.partition(".")
    return Num(f"{whole}.{frac.ljust(4, '0')}")


def trades(market: Market, params: dict[str, Any], now_ticks: int) -> dict[str, Any]:
    """The Trades endpoint's result."""
    pi = _pair(params.get("pair"))
    count = min(MAX_TRADES, max(1, _int(params, "count", MAX_TRADES) or MAX_TRADES))
    since = _int(params, "since", None)
    now_minute = now_ticks // MINUTE_TICKS
    chunk = count // 2 + 2
    if since is None or since <= 0:
        tr = market.trades(pi, now_minute - chunk, now_minute + 1, now_ticks)
        sel = np.arange(max(0, len(tr.time) - count), len(tr.time))
    else:
        start = since // 100 // MINUTE_TICKS
        tr = market.trades(pi, start, min(now_minute + 1, start + chunk), now_ticks)
        after = np.nonzero(tr.time * 100 > since)[0]
        sel = after[:count]
    d = c.PAIRS[pi].pair_decimals
    rows = [[fmt_units(tr.price[i], d), fmt_units(tr.vol[i], 8), _time_text(int(tr.time[i])),
             "bs"[int(tr.side[i])], "lm"[int(tr.kind[i])], "", int(tr.id[i])] for i in sel]
    last = int(tr.time[sel[-1]]) * 100 if len(sel) else (since or now_ticks * 100)
    return {c.PAIRS[pi].key: rows, "last": str(last)}


def truth_prices(market: Market, query: dict[str, str], now_ticks: int) -> dict[str, Any]:
    """``GET /_sim/truth/prices?pair=&interval=&since=&until=``: candles over any range (not only the
    latest 720), the last one flagged when unfinished, and the account's fills of each pair."""
    pairs = [_pair(query["pair"])] if query.get("pair") else list(range(len(c.PAIRS)))
    interval = int(query.get("interval") or 1440)
    if interval not in INTERVALS:
        raise ApiError("EGeneral:Invalid arguments:interval")
    width = interval * MINUTE_TICKS
    until = int(query["until"]) * TICKS if query.get("until") else now_ticks
    until = min(until, now_ticks)
    out: dict[str, Any] = {}
    for pi in pairs:
        fills = market._fills(pi)[0]
        default_since = (int(fills[0]) if len(fills) else until) // TICKS - 86_400
        since = int(query.get("since") or default_since) * TICKS
        first, last = since // width, until // width
        if (last - first + 1) * interval > 2_000_000:
            raise ApiError("EGeneral:Invalid arguments:range too large")
        rows = candle_rows(market, pi, interval, first, last, now_ticks)
        complete_before = now_ticks // width * interval * 60
        p = c.PAIRS[pi]
        out[p.altname] = {
            "key": p.key, "base": c.ASSETS[p.base].id, "quote": c.ASSETS[p.quote].id, "interval": interval,
            "candles": [[*r, r[0] < complete_before] for r in rows],
        }
    return {"prices": out, "now": now_ticks // TICKS}


def ohlcvt_files(market: Market, query: dict[str, str], now_ticks: int) -> dict[str, str]:
    """Kraken-style OHLCVT files for a date range: {``PAIR_INTERVAL.csv``: text}. Rows are headerless
    ``time,open,high,low,close,volume,trades``, complete candles only, none for an interval without trades
    (as Kraken's downloadable files). Query: ``pair`` (altnames, comma-separated; default all),
    ``interval`` (comma-separated; default 60,1440), ``since``/``until`` (unix seconds; default the last
    30 days)."""
    names = [x for x in (query.get("pair") or "").split(",") if x.strip()]
    pairs = [_pair(x) for x in names] if names else list(range(len(c.PAIRS)))
    try:
        intervals = [int(x) for x in (query.get("interval") or "60,1440").split(",") if x.strip()]
    except ValueError:
        raise ApiError("EGeneral:Invalid arguments:interval") from None
    if not intervals or any(iv not in INTERVALS for iv in intervals):
        raise ApiError("EGeneral:Invalid arguments:interval")
    until = min(int(query.get("until") or now_ticks // TICKS) * TICKS, now_ticks)
    since = int(query.get("since") or until // TICKS - 30 * 86_400) * TICKS
    files: dict[str, str] = {}
    for pi in pairs:
        d = c.PAIRS[pi].pair_decimals
        for interval in intervals:
            width = interval * MINUTE_TICKS
            first, last = -(-since // width), until // width - 1  # whole candles inside [since, until)
            if (last - first + 1) * interval > 2_000_000:
                raise ApiError("EGeneral:Invalid arguments:range too large")
            lines = []
            if last >= first:
                cd = market.candles(pi, interval, first, last, now_ticks)
                lines = [f"{int(cd.start[k])},{fmt_units(cd.open[k], d)},{fmt_units(cd.high[k], d)},"
                         f"{fmt_units(cd.low[k], d)},{fmt_units(cd.close[k], d)},{fmt_units(cd.volume[k], 8)},"
                         f"{int(cd.count[k])}\n" for k in range(len(cd.start)) if cd.count[k] > 0]
            files[f"{c.PAIRS[pi].altname}_{interval}.csv"] = "".join(lines)
    return files


def ohlcvt_zip(files: dict[str, str]) -> bytes:
    """The files in one zip (as Kraken ships them)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text_ in sorted(files.items()):
            archive.writestr(name, text_)
    return buffer.getvalue()
