"""The `valuation` check: Kraken's TradeBalance against our balances x prices, within the candles' ranges.

2 BTC at 60,000 and 10 ETH at 3,000 (hourly candles 0.5 % either side), 1,000.5 USD: ours 151,000.5 USD,
tolerance 600 + 150 (+ half a unit of eb). The day's candles: BTC 59,000-61,000, ETH 2,700-3,400.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Connection, text

from kraken_etl.recon.check import CheckInput
from kraken_etl.recon.finding import Finding
from kraken_etl.recon.registry import CHECKS
from kraken_etl.recon.valuation import check_valuation
from tests.db.valuation_fixture import entry, identity

T0 = datetime.fromisoformat("2026-03-02T00:00:00+00:00")
SNAP = T0 + timedelta(hours=10, minutes=20)
OURS = Decimal("151000.5")


def _candle(conn: Connection, pair: str, base: str, interval: int, start: datetime,
            low: str, high: str, close: str, complete: bool = True) -> None:
    conn.execute(text(
        "INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, volume, trades, "
        "source, complete) VALUES (:pair, :interval, :start, :base, 'USD', :close, :high, :low, :close, 1, 1, "
        "'ohlc', :complete)"),
        {"pair": pair, "interval": interval, "start": start, "base": base, "low": Decimal(low),
         "high": Decimal(high), "close": Decimal(close), "complete": complete})


@pytest.fixture()
def account(conn: Connection) -> Connection:
    identity(conn, "XXBT", "BTC", "BTC")
    identity(conn, "XETH", "ETH", "ETH")
    identity(conn, "ZUSD", "USD", "USD")
    _candle(conn, "XBTUSD", "BTC", 60, T0 + timedelta(hours=10), "59700", "60300", "60000")
    _candle(conn, "XBTUSD", "BTC", 1440, T0, "59000", "61000", "60500")
    _candle(conn, "ETHUSD", "ETH", 60, T0 + timedelta(hours=10), "2985", "3015", "3000")
    _candle(conn, "ETHUSD", "ETH", 1440, T0, "2700", "3400", "3100")
    entry(conn, "main", "L1", T0, "XXBT", "2")
    entry(conn, "main", "L2", T0, "XETH", "10")
    entry(conn, "main", "L3", T0, "ZUSD", "1000.5")
    return conn


def _trade_balance(conn: Connection, eb: Decimal, minute: int = 0) -> None:
    conn.execute(text("INSERT INTO kraken.trade_balance (account, taken_at, asset, eb, raw) "
                      "VALUES ('main', :at, 'ZUSD', :eb, '{}')"),
                 {"at": SNAP + timedelta(minutes=minute), "eb": eb.quantize(Decimal("0.0001"))})


def _findings(conn: Connection) -> list[Finding]:
    return check_valuation(CheckInput(conn, "main", SNAP + timedelta(days=1))).findings


def test_registered() -> None:
    assert CHECKS["valuation"] is check_valuation


def test_clean_when_krakens_value_is_within_the_candles_range(account: Connection) -> None:
    _trade_balance(account, OURS)
    assert _findings(account) == []
    _trade_balance(account, OURS + 749, minute=1)  # inside 750
    assert _findings(account) == []
    _trade_balance(account, OURS - 751, minute=2)
    assert [f.kind for f in _findings(account)] == ["value_mismatch"]


def test_a_difference_names_the_assets_whose_day_range_holds_it(account: Connection) -> None:
    _trade_balance(account, OURS + 3000)  # ETH at 3,300: inside its day; BTC at 61,500: outside
    (finding,) = _findings(account)
    assert (finding.kind, finding.severity, finding.asset, finding.source_ids) == \
        ("value_mismatch", "break", "ETH", ("ETH",))
    assert (finding.expected, finding.actual, finding.difference) == (OURS, OURS + 3000, Decimal(3000))
    assert "explained by the price of ETH" in finding.message
    _trade_balance(account, OURS + 1500, minute=1)  # both could: both named, no single asset
    (finding,) = _findings(account)
    assert finding.source_ids == ("BTC", "ETH") and finding.asset is None


def test_an_altered_trade_balance_makes_krakens_figure_the_suspect(account: Connection) -> None:
    _trade_balance(account, OURS * 2)
    (finding,) = _findings(account)
    assert finding.source_ids == () and "Kraken's figure is the suspect (largest holdings: BTC, ETH, USD)" \
        in finding.message


def test_a_corrupt_candle_is_named_first(account: Connection) -> None:
    account.execute(text("UPDATE kraken.price SET close = 3500 WHERE pair = 'ETHUSD' AND interval = 60"))
    _trade_balance(account, OURS)  # Kraken valued ETH at 3,000: ours at 3,500 is 5,000 more
    (finding,) = _findings(account)
    assert finding.source_ids[0] == "ETH" and finding.difference == Decimal(-5000)


def test_unpriced_and_unknown_assets_are_coverage_findings_never_zero(account: Connection) -> None:
    identity(account, "DOT", "DOT", "DOT")
    entry(account, "main", "L4", T0, "DOT", "10")  # known, no market
    entry(account, "main", "L5", T0, "WHAT", "1")  # no identity at all
    _trade_balance(account, Decimal(1))  # absurd, but the total is not compared while values are missing
    found = {(f.kind, f.asset, f.severity) for f in _findings(account)}
    assert found == {("unpriced_asset", "DOT", "info"), ("unknown_asset_code", "WHAT", "info")}


def test_without_any_market_data_the_check_examines_nothing(conn: Connection) -> None:
    entry(conn, "main", "L1", T0, "XXBT", "2")
    _trade_balance(conn, OURS)
    report = check_valuation(CheckInput(conn, "main", SNAP + timedelta(days=1)))
    assert (report.rows_examined, report.findings) == (0, [])
    _candle(conn, "ETHUSD", "ETH", 60, T0, "1", "1", "1")  # any market data: the same snapshot is compared
    assert check_valuation(CheckInput(conn, "main", SNAP + timedelta(days=1))).rows_examined == 1


def _trade_balance_in(conn: Connection, asset: str, eb: Decimal) -> None:
    conn.execute(text("INSERT INTO kraken.trade_balance (account, taken_at, asset, eb, raw) "
                      "VALUES ('main', :at, :asset, :eb, '{}')"),
                 {"at": SNAP, "asset": asset, "eb": eb.quantize(Decimal("0.0001"))})


def test_krakens_own_price_from_another_denomination_names_the_asset(account: Connection) -> None:
    # Kraken valued BTC at 61,000 (1,000 above our hourly candle's range): the total alone fits either asset's
    # day range; the same moment asked in XXBT gives Kraken's BTC price, eb(USD) / eb(XBT) = 61,000
    total = OURS + 2000
    _trade_balance(account, total)
    _trade_balance_in(account, "XXBT", total / 61000)
    (finding,) = _findings(account)
    assert (finding.asset, finding.source_ids) == ("BTC", ("BTC",)), finding.message
    assert "Kraken's price of BTC (61000" in finding.message and "Kraken's figure is the suspect" in finding.message
    assert finding.details["kraken_prices"]["BTC"]["ours"] == "60000"
    assert finding.expected == OURS  # the denominated answer is evidence, not a second total


def test_a_denomination_within_our_range_names_nothing_by_itself(account: Connection) -> None:
    _trade_balance(account, OURS + 3000)  # as above: ETH's day range holds the difference
    _trade_balance_in(account, "XXBT", (OURS + 3000) / 60000)  # Kraken's BTC price agrees with ours
    (finding,) = _findings(account)
    assert finding.source_ids == ("ETH",) and "Kraken's price" not in finding.message


def test_a_candle_that_contradicts_the_hour_before_names_its_asset(account: Connection) -> None:
    _candle(account, "XBTUSD", "BTC", 60, T0 + timedelta(hours=9), "59700", "60300", "60000")
    account.execute(text("UPDATE kraken.price SET open = open * 1.05, high = high * 1.05, low = low * 1.05, "
                         "close = close * 1.05 WHERE pair = 'XBTUSD' AND interval = 60 AND start = :at"),
                    {"at": T0 + timedelta(hours=10)})
    _trade_balance(account, OURS)  # Kraken honest, our BTC 5 % high (its hour opens 3,000 above the last close)
    (finding,) = _findings(account)
    assert (finding.asset, finding.source_ids) == ("BTC", ("BTC",)), finding.message
    assert "our candles of BTC contradict themselves (XBTUSD: hourly candle 2026-03-02 10:00 opens at" \
        in finding.message
    assert finding.difference == Decimal(-6000)


def _seconds_into_the_next_hour(conn: Connection, btc_close: str) -> datetime:
    """BTC's 11:00 candle still filling, one trade in it at `btc_close` (no range); ETH's 11:00 complete.
    The snapshot is five seconds into that hour."""
    hour = T0 + timedelta(hours=11)
    _candle(conn, "XBTUSD", "BTC", 60, hour, btc_close, btc_close, btc_close, complete=False)
    _candle(conn, "ETHUSD", "ETH", 60, hour, "2985", "3015", "3000")
    at = hour + timedelta(seconds=5)
    conn.execute(text("INSERT INTO kraken.trade_balance (account, taken_at, asset, eb, raw) "
                      "VALUES ('main', :at, 'ZUSD', :eb, '{}')"), {"at": at, "eb": OURS + 180})
    return at


def test_a_candle_still_filling_reaches_as_far_as_the_hour_before_was_wide(account: Connection) -> None:
    # Kraken values BTC at 60,090 (0.15 % above the one trade of the new hour): 180 USD on 2 BTC. The trade's
    # own range is nothing; the hour before was 600 wide, so BTC's price may lie 1 % either side: clean.
    at = _seconds_into_the_next_hour(account, "60000")
    assert check_valuation(CheckInput(account, "main", at)).findings == []


def test_a_candle_still_filling_and_skewed_from_the_hour_before_is_still_out_of_reach(
        account: Connection) -> None:
    # the new hour's one trade at 63,000 (5 % above the hour before): our BTC 6,000 high on 2 BTC, against a
    # reach of 600 per BTC (1,200) plus ETH's 150; the hour's gap names BTC
    at = _seconds_into_the_next_hour(account, "63000")
    (finding,) = check_valuation(CheckInput(account, "main", at)).findings
    assert (finding.kind, finding.asset) == ("value_mismatch", "BTC"), finding.message
    assert finding.difference == Decimal(180 - 6000) and finding.details["tolerance"] < 1500
