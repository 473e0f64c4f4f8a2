"""Hand-built books inputs written straight into the tables: ledger entries, asset identities, daily candles."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import Connection, text

# (account, ledger id, refid, time ISO, type, subtype, asset, amount, fee, balance)
Entry = tuple[str, str, str, str, str, str, str, str, str, str]


def insert_entries(conn: Connection, entries: Iterable[Entry]) -> None:
    for account, lid, refid, at, type_, subtype, asset, amount, fee, balance in entries:
        conn.execute(text(
            "INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, subtype, asset, "
            "amount, fee, balance, source, raw) VALUES (:account, :lid, :refid, CAST(:at AS timestamptz), "
            "extract(epoch FROM CAST(:at AS timestamptz)), :type, :subtype, :asset, :amount, :fee, :balance, "
            "'rest', '{}')"),
            {"account": account, "lid": lid, "refid": refid, "at": at, "type": type_, "subtype": subtype,
             "asset": asset, "amount": Decimal(amount), "fee": Decimal(fee), "balance": Decimal(balance)})


def insert_identities(conn: Connection, codes: Iterable[tuple[str, str]]) -> None:
    """(code, canonical) pairs; the canonical code is also the one priced."""
    for code, canonical in codes:
        conn.execute(text("INSERT INTO kraken.asset_identity (code, canonical, price_asset) VALUES (:c, :n, :n)"),
                     {"c": code, "n": canonical})


def insert_daily_closes(conn: Connection, candles: Iterable[tuple[str, str, str, str]]) -> None:
    """(base, pair, day, close) daily candles quoted in USD (open = high = low = close)."""
    for base, pair, day, close in candles:
        conn.execute(text(
            "INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, volume, trades, "
            "source, complete) VALUES (:pair, 1440, CAST(:day AS timestamptz), :base, 'USD', :c, :c, :c, :c, 1, "
            "1, 'ohlc', true)"), {"pair": pair, "day": day, "base": base, "c": Decimal(close)})
