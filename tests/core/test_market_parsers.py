"""Parsers of Kraken's public market data, on payloads shaped like Kraken's documented answers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kraken_etl.core.market import (
    MarketDataError,
    PublicTrade,
    bars_from_trades,
    parse_file_name,
    parse_file_row,
    parse_ohlc,
    parse_pairs,
    parse_trades,
)
from kraken_etl.core.money import loads

# Shapes as Kraken's REST docs show them: OHLC rows mix an integer time, text prices and an integer count.
OHLC = loads('{"error":[],"result":{"XXBTZUSD":[[1688670000,"30306.1","30306.2","30305.7","30305.7",'
             '"30306.1","3.39243896",23],[1688673600,"30305.7","30400.0","30300.0","30350.5","30321.2",'
             '"1.00000000",4],[1688677200,"30350.5","30360.0","30300.0","30310.0","30330.0","0.5",2]],'
             '"last":1688673600}}')["result"]
TRADES = loads('{"error":[],"result":{"XXBTZUSD":[["30243.40000","0.34507674",1688669597.8277369,"b","m","",'
               '61044952],["30243.30000","0.00376960",1688669598.2804112,"s","l","",61044953]],'
               '"last":"1688669598280411200"}}')["result"]


def test_ohlc_rows_parse_exactly_and_last_is_kept() -> None:
    key, bars, rejected, last = parse_ohlc(OHLC, 60)
    assert key == "XXBTZUSD" and rejected == [] and last == 1688673600
    assert bars[0].start == datetime(2023, 7, 6, 19, tzinfo=UTC)
    assert (bars[0].open, bars[0].vwap, bars[0].volume, bars[0].trades) == (
        Decimal("30306.1"), Decimal("30306.1"), Decimal("3.39243896"), 23)
    assert all(isinstance(v, Decimal) for b in bars for v in (b.open, b.high, b.low, b.close, b.volume))


def test_a_bad_ohlc_row_is_rejected_with_its_reason_not_dropped() -> None:
    bad = {"XXBTZUSD": [[1688671200, "30306.1", "30000.0", "30305.7", "30305.7", "1", "1", 1],
                        [1688671201, "1", "1", "1", "1", "1", "1", 1],
                        [1688671200, "NaN", "1", "1", "1", "1", "1", 1]], "last": 0}
    _, bars, rejected, _ = parse_ohlc(bad, 60)
    assert bars == []
    assert [reason for _, reason in rejected] == [
        "open/close outside low..high", "start 1688671201 is not on a 60-minute boundary",
        "open: 'NaN' is not a finite number"]


def test_trades_parse_with_exact_times_and_ns_last() -> None:
    trades, last = parse_trades(TRADES)
    assert last == 1688669598280411200
    assert trades[0] == PublicTrade(Decimal("30243.40000"), Decimal("0.34507674"), Decimal("1688669597.8277369"),
                                    61044952)


def test_candles_rebuilt_from_trades_only_when_the_interval_is_over() -> None:
    trades = [PublicTrade(Decimal(p), Decimal(v), Decimal(t), i) for i, (p, v, t) in enumerate(
        [("10", "1", "3600.5"), ("12", "1", "3700"), ("9", "2", "7000"), ("11", "1", "7300")])]
    [bar] = bars_from_trades(trades, 60, Decimal(7300))
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.trades) == (
        Decimal(10), Decimal(12), Decimal(9), Decimal(9), Decimal(4), 3)
    assert bar.vwap == Decimal(40) / Decimal(4)
    assert len(bars_from_trades(trades, 60, Decimal(10800))) == 2


def test_asset_pairs_and_file_names() -> None:
    [row] = parse_pairs({"XXBTZUSD": {"altname": "XBTUSD", "wsname": "XBT/USD", "base": "XXBT", "quote": "ZUSD",
                                      "pair_decimals": 1}})
    assert (row["pair"], row["altname"], row["base"], row["quote"]) == ("XXBTZUSD", "XBTUSD", "XXBT", "ZUSD")
    assert parse_file_name("Kraken_OHLCVT/XBTUSD_1440.csv") == ("XBTUSD", 1440)
    assert parse_file_name("XBTUSD_10080.csv") == ("XBTUSD", 10080)  # weekly
    assert parse_file_name("XBTUSD_21600.csv") == ("XBTUSD", 21600)  # 15 days
    with pytest.raises(MarketDataError, match="not an OHLCVT file name"):
        parse_file_name("XBTUSD_7.csv")
    bar = parse_file_row(["1381095000", "122.0", "122.0", "122.0", "122.0", "0.1", "1"], 1)
    assert (bar.close, bar.vwap, bar.trades) == (Decimal("122.0"), None, 1)
    with pytest.raises(MarketDataError, match="6 fields, expected 7"):
        parse_file_row(["1381095000", "1", "1", "1", "1", "1"], 1)
