"""A small market and two accounts for the valuation tests: identities, candles and entries inserted with SQL.

Day `D` is 20 UTC days before today (the refresh boundary is today's midnight), so the hourly series is
short. Markets: BTC/USD hourly on days 0-2 and daily on days 0-9 (then nothing: stale to day 17, NULL
after); EUR/USD daily on every day (USD in EUR is its inverse, BTC in EUR a bridge); DOT/BTC daily on days
0-12 (DOT in USD through BTC); LUNA/USD daily on days 0-9 (Kraken's LUNA is unpriced LUNC from day 5);
a 15-minute candle and one off the hour that valuation ignores. `main` reports in USD, `eu` in EUR.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, text

from kraken_etl.db.reporting import refresh_in, write_valuation_currencies


@dataclass(frozen=True)
class Market:
    day0: datetime  # D, 00:00 UTC
    boundary: datetime  # today's midnight: the refresh's covered_before

    def at(self, day: int, hour: int = 0, minute: int = 0) -> datetime:
        return self.day0 + timedelta(days=day, hours=hour, minutes=minute)


TODAY_BTC = Decimal("70000.75")


def btc_hourly(day: int, hour: int) -> Decimal:
    return Decimal(60000) + Decimal(day * 24 + hour) + Decimal("0.25")


def btc_daily(day: int) -> Decimal:
    return Decimal(50000) + Decimal(day * 10) + Decimal("0.5")


def eur_usd(day: int) -> Decimal:
    return Decimal("1.1") + Decimal(day) / 100


def dot_btc(day: int) -> Decimal:
    return Decimal("0.0001") + Decimal(day) / 1_000_000


def luna_usd(day: int) -> Decimal:
    return Decimal("80") - day


def identity(conn: Connection, code: str, canonical: str, price_asset: str | None, fixed: str | None = None,
             currency: str | None = None, valid_from: datetime | None = None,
             valid_until: datetime | None = None) -> None:
    conn.execute(text(
        "INSERT INTO kraken.asset_identity (code, canonical, price_asset, fixed_price, fixed_currency, "
        "valid_from, valid_until) VALUES (:code, :canonical, :price_asset, CAST(:fixed AS numeric), :currency, "
        ":vf, :vu)"),
        {"code": code, "canonical": canonical, "price_asset": price_asset, "fixed": fixed, "currency": currency,
         "vf": valid_from, "vu": valid_until})


def candle(conn: Connection, pair: str, base: str, quote: str, interval: int, start: datetime,
           close: Decimal) -> None:
    conn.execute(text(
        "INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, volume, trades, "
        "source, complete) VALUES (:pair, :interval, :start, :base, :quote, :close, :close, :close, :close, 1, 1, "
        "'ohlc', true)"),
        {"pair": pair, "interval": interval, "start": start, "base": base, "quote": quote, "close": close})


def entry(conn: Connection, account: str, ledger_id: str, time: datetime, asset: str, amount: str,
          fee: str = "0", type_: str = "deposit") -> None:
    """One entry with Kraken's running balance (entries of an asset are inserted in time order)."""
    balance = conn.execute(text(
        "SELECT coalesce(sum(amount - fee), 0) FROM kraken.ledger_entry WHERE account = :a AND asset = :asset"),
        {"a": account, "asset": asset}).scalar_one() + Decimal(amount) - Decimal(fee)
    conn.execute(text(
        "INSERT INTO kraken.ledger_entry (account, ledger_id, time, time_raw, type, asset, amount, fee, balance, "
        "source, raw) VALUES (:account, :id, :time, 0, :type, :asset, :amount, :fee, :balance, 'rest', '{}')"),
        {"account": account, "id": ledger_id, "time": time, "type": type_, "asset": asset,
         "amount": Decimal(amount), "fee": Decimal(fee), "balance": balance})


def build_market(conn: Connection) -> Market:
    boundary = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    market = Market(boundary - timedelta(days=20), boundary)
    identity(conn, "XXBT", "BTC", "BTC")
    identity(conn, "ZUSD", "USD", "USD")
    identity(conn, "ZEUR", "EUR", "EUR")
    identity(conn, "DOT", "DOT", "DOT")
    identity(conn, "KFEE", "KFEE", None, "0.01", "USD")
    identity(conn, "LUNA", "LUNA", "LUNA", valid_until=market.at(5))
    identity(conn, "LUNA", "LUNC", None, valid_from=market.at(5))
    for day in range(3):
        for hour in range(24):
            candle(conn, "XBTUSD", "BTC", "USD", 60, market.at(day, hour), btc_hourly(day, hour))
    for day in range(10):
        candle(conn, "XBTUSD", "BTC", "USD", 1440, market.at(day), btc_daily(day))
        candle(conn, "LUNAUSD", "LUNA", "USD", 1440, market.at(day), luna_usd(day))
    for day in range(20):
        candle(conn, "EURUSD", "EUR", "USD", 1440, market.at(day), eur_usd(day))
    for day in range(13):
        candle(conn, "DOTXBT", "DOT", "BTC", 1440, market.at(day), dot_btc(day))
    candle(conn, "XBTUSD", "BTC", "USD", 15, market.at(1, 5, 15), Decimal(1))  # finer than an hour: ignored
    candle(conn, "XBTUSD", "BTC", "USD", 60, market.at(15, 3, 30), Decimal(2))  # off the hour: ignored

    for account in ("main", "eu"):
        entry(conn, account, "L1", market.at(1, 10, 30), "XXBT", "0.5", "0.001", "trade")
        entry(conn, account, "L2", market.at(1, 10, 45), "ZUSD", "-30000", "10", "trade")
        entry(conn, account, "L3", market.at(4, 6), "XXBT", "0.25")
        entry(conn, account, "L4", market.at(12, 1), "XXBT", "-0.1", "0.0002", "withdrawal")  # stale
        entry(conn, account, "L5", market.at(18, 1), "XXBT", "0.01")  # too stale: unpriced
        entry(conn, account, "L6", market.at(2, 3), "DOT", "100", "0.5", "staking")
        entry(conn, account, "L7", market.at(3, 0), "KFEE", "500", "20", "trade")
        entry(conn, account, "L8", market.at(4, 12), "LUNA", "10")
        entry(conn, account, "L9", market.at(6, 12), "LUNA", "5")  # LUNC: unpriced
        entry(conn, account, "L10", market.at(7, 7), "NOPE", "3", "1")  # unknown code
        entry(conn, account, "L11", market.at(8, 8), "ZEUR", "200", "2")
        entry(conn, account, "L12", boundary, "XXBT", "1")  # after the boundary: valued live
    candle(conn, "XBTUSD", "BTC", "USD", 60, boundary, TODAY_BTC)  # after the series' end: read live
    write_valuation_currencies(conn, {"eu": "EUR"}, "USD")
    refresh_in(conn, concurrently=False)
    return market
