"""`reporting.price_at`: par, a fixed price, the finest candle containing the moment, the last close within
7 days (stale), else NULLs."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, text


def _identity(conn: Connection, code: str, canonical: str, price_asset: str | None,
              fixed: str | None = None, currency: str | None = None, valid_from: str | None = None,
              valid_until: str | None = None) -> None:
    conn.execute(text(
        "INSERT INTO kraken.asset_identity (code, canonical, price_asset, fixed_price, fixed_currency, "
        "valid_from, valid_until) VALUES (:code, :canonical, :price_asset, CAST(:fixed AS numeric), :currency, "
        "CAST(:vf AS timestamptz), CAST(:vu AS timestamptz))"),
        {"code": code, "canonical": canonical, "price_asset": price_asset, "fixed": fixed,
         "currency": currency, "vf": valid_from, "vu": valid_until})


def _candle(conn: Connection, interval: int, start: str, close: str) -> None:
    conn.execute(text(
        "INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, volume, trades, "
        "source, complete) VALUES ('XBTUSD', :interval, CAST(:start AS timestamptz), 'BTC', 'USD', :close, "
        ":close, :close, :close, 1, 1, 'ohlc', true)"),
        {"interval": interval, "start": start, "close": Decimal(close)})


def _price(conn: Connection, code: str, at: str) -> tuple[object, ...] | None:
    row = conn.execute(text("SELECT * FROM reporting.price_at(:code, 'USD', CAST(:at AS timestamptz))"),
                       {"code": code, "at": at}).one()
    return tuple(row)


def test_price_at_prefers_par_then_fixed_then_the_finest_candle(conn: Connection) -> None:
    _identity(conn, "ZUSD", "USD", "USD")
    _identity(conn, "KFEE", "KFEE", None, "0.01", "USD")
    _identity(conn, "XXBT", "BTC", "BTC")
    _candle(conn, 1440, "2025-03-01T00:00:00Z", "60000.5")
    _candle(conn, 60, "2025-03-01T10:00:00Z", "61000.25")

    assert _price(conn, "ZUSD", "2025-03-01T10:30:00Z")[:1] == (Decimal(1),)
    assert _price(conn, "KFEE", "2025-03-01T10:30:00Z")[0] == Decimal("0.01")
    hourly = _price(conn, "XXBT", "2025-03-01T10:30:00Z")
    assert hourly[0] == Decimal("61000.25") and hourly[2:] == ("candle", "XBTUSD")
    assert _price(conn, "XXBT", "2025-03-01T11:00:00Z")[0] == Decimal("60000.5")  # hour not stored: the day
    # no candle contains the moment: the last close, flagged stale, for 7 days after that candle ended
    stale = _price(conn, "XXBT", "2025-03-02T00:00:00Z")
    assert stale[0] == Decimal("60000.5") and stale[2] == "stale"
    assert _price(conn, "XXBT", "2025-03-08T23:59:59Z")[2] == "stale"
    assert _price(conn, "XXBT", "2025-03-09T00:00:00Z") == (None, None, None, None)  # nothing invented
    assert _price(conn, "NOPE", "2025-03-01T10:30:00Z") == (None, None, None, None)


def test_price_at_follows_a_date_dependent_identity(conn: Connection) -> None:
    _identity(conn, "LUNA", "LUNA", "BTC", valid_until="2022-05-28T00:00:00Z")
    _identity(conn, "LUNA", "LUNC", None, valid_from="2022-05-28T00:00:00Z")
    _candle(conn, 1440, "2022-05-27T00:00:00Z", "5")
    _candle(conn, 1440, "2022-05-28T00:00:00Z", "6")

    assert _price(conn, "LUNA", "2022-05-27T12:00:00Z")[0] == Decimal(5)
    assert _price(conn, "LUNA", "2022-05-28T12:00:00Z") == (None, None, None, None)
