"""Asset identity as data: shipped defaults seeded idempotently, user rows kept, unknown codes listed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Connection, text

from kraken_etl.core.market import Bar
from kraken_etl.db.market import (
    Candle,
    price_assets_held,
    seed_identities,
    set_user_identity,
    unresolved_codes,
    upsert_candles,
)


def _entry(conn: Connection, ledger_id: str, asset: str, at: str) -> None:
    conn.execute(text(
        "INSERT INTO kraken.ledger_entry (account, ledger_id, time, time_raw, type, asset, amount, fee, balance, "
        "source, raw) VALUES ('main', :id, CAST(:at AS timestamptz), 0, 'deposit', :asset, 1, 0, 1, 'rest', '{}')"),
        {"id": ledger_id, "asset": asset, "at": at})


def _price(conn: Connection, code: str, at: str) -> tuple[object, ...]:
    return tuple(conn.execute(text("SELECT price, price_source FROM reporting.price_at(:code, 'USD', "
                                   "CAST(:at AS timestamptz))"), {"code": code, "at": at}).one())


def test_defaults_resolve_kraken_codes_and_reseeding_changes_nothing(conn: Connection) -> None:
    for i, (code, at) in enumerate([("XXBT", "2024-01-01"), ("DOT28.S", "2024-01-02"), ("ETH2.S", "2024-01-03"),
                                    ("USD.HOLD", "2024-01-04"), ("KFEE", "2024-01-05"), ("LUNA", "2022-05-01"),
                                    ("LUNA", "2022-06-01"), ("WEIRDCOIN", "2024-02-01")]):
        _entry(conn, f"L{i}", code, at)
    inserted, updated = seed_identities(conn)
    assert inserted > 20 and updated == 0
    assert seed_identities(conn) == (0, 0)

    rows = dict(conn.execute(text(
        "SELECT code || coalesce('@' || valid_from::date, ''), coalesce(price_asset, 'fixed ' || fixed_price::text "
        "|| ' ' || fixed_currency) FROM kraken.asset_identity")).all())
    assert rows["XXBT"] == "BTC" and rows["XBT"] == "BTC" and rows["XDG"] == "DOGE"
    assert rows["DOT28.S"] == "DOT" and rows["ETH2.S"] == "ETH" and rows["ETH2"] == "ETH"
    assert rows["USD.HOLD"] == "USD" and rows["ZEUR"] == "EUR"
    assert rows["KFEE"] == "fixed 0.01 USD"
    assert rows["LUNA"] == "LUNA" and rows["LUNA@2022-05-28"] == "LUNC"
    assert [(u.code, u.entries, u.accounts) for u in unresolved_codes(conn)] == [("WEIRDCOIN", 1, ("main",))]
    held = price_assets_held(conn)
    assert set(held) == {"BTC", "DOT", "ETH", "USD", "LUNA", "LUNC"}
    assert held["LUNC"] == datetime(2022, 6, 1, tzinfo=UTC)


def test_user_rows_survive_reseeding_and_win(conn: Connection) -> None:
    seed_identities(conn)
    set_user_identity(conn, "DOT28.S", "DOT", None, Decimal("5"), "USD", note="my own valuation")
    assert seed_identities(conn) == (0, 0)
    row = conn.execute(text("SELECT origin, fixed_price, price_asset FROM kraken.asset_identity "
                            "WHERE code = 'DOT28.S'")).one()
    assert tuple(row) == ("user", Decimal("5"), None)
    assert _price(conn, "DOT28.S", "2024-01-01T00:00:00Z") == (Decimal("5"), "fixed")


def test_a_complete_candle_replaces_the_unfinished_one_never_the_reverse(conn: Connection) -> None:
    start = datetime(2024, 1, 1, 10, tzinfo=UTC)

    def candle(close: str, complete: bool, source: str = "ohlc") -> Candle:
        value = Decimal(close)
        return Candle("XXBTZUSD", 60, "BTC", "USD", Bar(start, value, value, value, value, None, Decimal(1), 1),
                      source, complete)

    assert upsert_candles(conn, [candle("100", False)]) == (1, 0)
    assert upsert_candles(conn, [candle("101", False)]) == (0, 1)
    assert upsert_candles(conn, [candle("102", True)]) == (0, 1)
    assert upsert_candles(conn, [candle("103", False), candle("104", True, "file")]) == (0, 0)
    stored = conn.execute(text("SELECT close, complete, source FROM kraken.price")).all()
    assert [tuple(r) for r in stored] == [(Decimal("102"), True, "ohlc")]
