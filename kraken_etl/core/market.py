"""Kraken's public market data, parsed: Assets, AssetPairs, OHLC rows, Trades rows, OHLCVT file rows.

Pure functions on decoded payloads (numbers already Decimal or text): no HTTP, no SQL, no clock. Shapes
(Kraken's REST docs): OHLC ``{"<pair>": [[time, open, high, low, close, vwap, volume, count], ...],
"last": <time>}``; Trades ``{"<pair>": [[price, volume, time, "b"|"s", "m"|"l", misc, trade_id], ...],
"last": "<ns>"}``; OHLCVT files: one ``PAIR_INTERVAL.csv`` per pair and interval, headerless rows
``time,open,high,low,close,volume,trades`` (only intervals with trades have rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kraken_etl.core.errors import KrakenEtlError


class MarketDataError(KrakenEtlError, ValueError):
    """A market-data payload does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One candle as parsed (prices in the pair's quote currency)."""

    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    vwap: Decimal | None
    volume: Decimal
    trades: int | None


@dataclass(frozen=True, slots=True)
class PublicTrade:
    """One public trade."""

    price: Decimal
    volume: Decimal
    time: Decimal  # unix seconds, exact
    trade_id: int | None


def _dec(value: Any, what: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise MarketDataError(f"{what}: {str(value)[:40]!r} is not a number") from None
    if not number.is_finite():
        raise MarketDataError(f"{what}: {str(value)[:40]!r} is not a finite number")
    return number


def _int(value: Any, what: str) -> int:
    number = _dec(value, what)
    if number != number.to_integral_value():
        raise MarketDataError(f"{what}: {str(value)[:40]!r} is not a whole number")
    return int(number)


def _check_bar(bar: Bar, interval: int) -> Bar:
    if min(bar.open, bar.high, bar.low, bar.close) <= 0:
        raise MarketDataError("a price is zero or negative")
    if not (bar.low <= min(bar.open, bar.close) and max(bar.open, bar.close) <= bar.high):
        raise MarketDataError("open/close outside low..high")
    if bar.volume < 0 or (bar.trades is not None and bar.trades < 0):
        raise MarketDataError("negative volume or trade count")
    if int(bar.start.timestamp()) % (interval * 60):
        raise MarketDataError(f"start {int(bar.start.timestamp())} is not on a {interval}-minute boundary")
    return bar


def _start(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def parse_ohlc_row(row: Sequence[Any], interval: int) -> Bar:
    """One OHLC row ``[time, open, high, low, close, vwap, volume, count]``."""
    if not isinstance(row, list | tuple) or len(row) != 8:
        raise MarketDataError("an OHLC row needs 8 fields")
    bar = Bar(_start(_int(row[0], "time")), _dec(row[1], "open"), _dec(row[2], "high"), _dec(row[3], "low"),
              _dec(row[4], "close"), _dec(row[5], "vwap"), _dec(row[6], "volume"), _int(row[7], "count"))
    return _check_bar(bar, interval)


def parse_ohlc(result: Mapping[str, Any], interval: int) -> tuple[str, list[Bar], list[tuple[Any, str]], int]:
    """An OHLC result: (pair key, bars oldest first, rejected (row, reason), last)."""
    if not isinstance(result, Mapping) or "last" not in result:
        raise MarketDataError("OHLC result without 'last'")
    keys = [k for k in result if k != "last"]
    if len(keys) != 1 or not isinstance(result[keys[0]], list):
        raise MarketDataError("OHLC result must hold exactly one pair's rows")
    bars: list[Bar] = []
    rejected: list[tuple[Any, str]] = []
    for row in result[keys[0]]:
        try:
            bars.append(parse_ohlc_row(row, interval))
        except MarketDataError as exc:
            rejected.append((row, str(exc)))
    return keys[0], sorted(bars, key=lambda b: b.start), rejected, _int(result["last"], "last")


def parse_trades(result: Mapping[str, Any]) -> tuple[list[PublicTrade], int]:
    """A Trades result: (trades in the order sent, last as nanoseconds)."""
    if not isinstance(result, Mapping) or "last" not in result:
        raise MarketDataError("Trades result without 'last'")
    keys = [k for k in result if k != "last"]
    if len(keys) != 1 or not isinstance(result[keys[0]], list):
        raise MarketDataError("Trades result must hold exactly one pair's rows")
    trades = []
    for row in result[keys[0]]:
        if not isinstance(row, list | tuple) or len(row) < 6:
            raise MarketDataError("a Trades row needs at least 6 fields")
        trade_id = _int(row[6], "trade_id") if len(row) > 6 else None
        trade = PublicTrade(_dec(row[0], "price"), _dec(row[1], "volume"), _dec(row[2], "time"), trade_id)
        if trade.price <= 0 or trade.volume < 0:
            raise MarketDataError("a trade with a non-positive price or negative volume")
        trades.append(trade)
    return trades, _int(result["last"], "last")


def bars_from_trades(trades: Iterable[PublicTrade], interval: int, until: Decimal) -> list[Bar]:
    """Candles of `interval` minutes rebuilt from trades (Kraken: any OHLC can be rebuilt from Trades); only
    candles that end at or before `until` (seconds: every trade before it is known); no trade, no candle."""
    width = interval * 60
    groups: dict[int, list[PublicTrade]] = {}
    for trade in trades:
        groups.setdefault(int(trade.time // width) * width, []).append(trade)
    bars = []
    for start in sorted(groups):
        if start + width > until:
            continue
        seq = sorted(groups[start], key=lambda t: (t.time, t.trade_id or 0))
        volume = sum((t.volume for t in seq), Decimal(0))
        vwap = sum((t.price * t.volume for t in seq), Decimal(0)) / volume if volume else None
        prices = [t.price for t in seq]
        bars.append(Bar(_start(start), prices[0], max(prices), min(prices), prices[-1], vwap, volume, len(seq)))
    return bars


def parse_assets(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Assets result → rows for kraken.asset."""
    if not isinstance(result, Mapping):
        raise MarketDataError("Assets result is not an object")
    return [{"asset": str(code), "altname": info.get("altname"), "aclass": info.get("aclass"),
             "decimals": info.get("decimals"), "display_decimals": info.get("display_decimals"),
             "status": info.get("status"), "raw": dict(info)}
            for code, info in result.items() if isinstance(info, Mapping)]


def parse_pairs(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """AssetPairs result → rows for kraken.asset_pair."""
    if not isinstance(result, Mapping):
        raise MarketDataError("AssetPairs result is not an object")
    rows = []
    for key, info in result.items():
        if not isinstance(info, Mapping) or not info.get("base") or not info.get("quote"):
            raise MarketDataError(f"pair {str(key)[:40]!r} without base/quote")
        rows.append({"pair": str(key), "altname": info.get("altname"), "wsname": info.get("wsname"),
                     "base": str(info["base"]), "quote": str(info["quote"]),
                     "pair_decimals": info.get("pair_decimals"), "cost_decimals": info.get("cost_decimals"),
                     "lot_decimals": info.get("lot_decimals"), "raw": dict(info)})
    return rows


# -- OHLCVT files -----------------------------------------------------------------------------------------

_FILE_NAME = re.compile(r"^(?P<pair>[A-Za-z0-9.]+)_(?P<interval>\d+)\.csv$")
FILE_INTERVALS = (1, 5, 15, 30, 60, 240, 720, 1440, 10080, 21600)


def parse_file_name(name: str) -> tuple[str, int]:
    """``XBTUSD_60.csv`` → (``XBTUSD``, 60)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    match = _FILE_NAME.match(base)
    if not match or int(match["interval"]) not in FILE_INTERVALS:
        raise MarketDataError(f"{base[:80]!r} is not an OHLCVT file name (PAIR_INTERVAL.csv, interval one of "
                              f"{', '.join(map(str, FILE_INTERVALS))})")
    return match["pair"], int(match["interval"])


def parse_file_row(fields: Sequence[str], interval: int) -> Bar:
    """One OHLCVT row ``time,open,high,low,close,volume,trades`` (headerless)."""
    if len(fields) != 7:
        raise MarketDataError(f"{len(fields)} fields, expected 7 (time,open,high,low,close,volume,trades)")
    bar = Bar(_start(_int(fields[0], "time")), _dec(fields[1], "open"), _dec(fields[2], "high"),
              _dec(fields[3], "low"), _dec(fields[4], "close"), None, _dec(fields[5], "volume"),
              _int(fields[6], "trades"))
    return _check_bar(bar, interval)
