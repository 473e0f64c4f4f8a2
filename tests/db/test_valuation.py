"""Valuation in the reporting schema: every value equals net (or balance) x a price worked out by hand from
the candles, the hourly series equals `price_at` hour by hour, and unpriced rows stay NULL."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, text

from tests.db.valuation_fixture import (
    TODAY_BTC,
    Market,
    btc_daily,
    btc_hourly,
    build_market,
    dot_btc,
    eur_usd,
    luna_usd,
)


@pytest.fixture()
def market(conn: Connection) -> Market:
    return build_market(conn)


def _ledger(conn: Connection, account: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(text("SELECT * FROM reporting.ledger WHERE account = :a"), {"a": account})
    return {r.ledger_id: dict(r._mapping) for r in rows}


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def test_ledger_values_in_usd_equal_net_times_the_candle_by_hand(conn: Connection, market: Market) -> None:
    rows = _ledger(conn, "main")
    expected: dict[str, tuple[Decimal | None, str | None, str | None, datetime | None]] = {
        "L1": (btc_hourly(1, 10), "candle", "XBTUSD", market.at(1, 10)),  # the hour before the day
        "L2": (Decimal(1), "par", "par", market.at(1, 10)),
        "L3": (btc_daily(4), "candle", "XBTUSD", market.at(4)),  # no hourly candle: the daily one
        "L4": (btc_daily(9), "stale", "XBTUSD", market.at(9)),  # last close, within 7 days of its end
        "L5": (None, None, None, None),  # 8 days after: never invented
        "L6": (dot_btc(2) * btc_hourly(2, 3), "bridge", "DOTXBT*XBTUSD", market.at(2)),
        "L7": (Decimal("0.01"), "fixed", "fixed", market.at(3)),
        "L8": (luna_usd(4), "candle", "LUNAUSD", market.at(4)),
        "L9": (None, None, None, None),  # LUNA is LUNC from day 5: no market
        "L10": (None, None, None, None),  # unknown code
        "L11": (eur_usd(8), "candle", "EURUSD", market.at(8)),
        "L12": (TODAY_BTC, "candle", "XBTUSD", market.boundary),  # after the boundary: price_at, live
    }
    for ledger_id, (price, source, route, price_time) in expected.items():
        row = rows[ledger_id]
        assert (row["currency"], row["price"], row["price_source"], row["price_route"], row["price_time"]) == \
            ("USD", price, source, route, price_time), ledger_id
        assert row["value"] == (None if price is None else row["net"] * price), ledger_id


def test_ledger_values_in_eur_go_through_usd_and_inverse_pairs(conn: Connection, market: Market) -> None:
    rows = _ledger(conn, "eu")
    assert {r["currency"] for r in rows.values()} == {"EUR"}
    usd_in_eur = Decimal(1) / eur_usd(1)
    l1 = rows["L1"]
    assert (l1["price_source"], l1["price_route"]) == ("bridge", "XBTUSD*EURUSD^-1")
    assert _cents(l1["value"]) == _cents(Decimal("0.499") * btc_hourly(1, 10) * usd_in_eur)
    l2 = rows["L2"]
    assert (l2["price_source"], l2["price_route"]) == ("candle", "EURUSD^-1")
    assert _cents(l2["value"]) == _cents(Decimal(-30010) * usd_in_eur)
    assert (rows["L11"]["price"], rows["L11"]["price_source"]) == (Decimal(1), "par")
    kfee = rows["L7"]
    assert (kfee["price_source"], kfee["price_route"]) == ("fixed", "fixed*EURUSD^-1")
    assert _cents(kfee["value"] * 1000) == _cents(Decimal(480) * Decimal("0.01") / eur_usd(3) * 1000)
    # DOT has a BTC market only and BTC no EUR market: one bridge is all the rules allow
    assert rows["L6"]["price"] is None and rows["L6"]["value"] is None


def test_hourly_series_equals_price_at_every_hour(conn: Connection, market: Market) -> None:
    sources = {r[0] for r in conn.execute(text("SELECT DISTINCT price_source FROM reporting.price_hourly"))}
    assert sources == {"par", "fixed", "candle", "bridge", "stale", None}
    rows = conn.execute(text("SELECT count(*) FROM reporting.price_hourly")).scalar_one()
    # every hour from the first entry's day (day 1) x 7 assets x 2 currencies, priced or not
    assert rows == 19 * 24 * 7 * 2
    differ = conn.execute(text("""
        SELECT s.asset, s.currency, s.hour, s.price, p.price, s.route, p.route
        FROM reporting.price_hourly s
        CROSS JOIN LATERAL reporting.price_at(s.asset, s.currency, s.hour + interval '59 minutes 59 seconds') p
        WHERE (s.price, s.price_time, s.price_source, s.route)
              IS DISTINCT FROM (p.price, p.price_time, p.price_source, p.route)
        LIMIT 5
    """)).all()
    assert differ == []


def test_balances_at_values_each_balance_and_keeps_the_two_argument_call(conn: Connection, market: Market) -> None:
    ts = market.at(4, 12)
    two = {r.asset: r for r in conn.execute(text("SELECT * FROM reporting.balances_at(:ts, 'main')"), {"ts": ts})}
    assert two["BTC"].balance == Decimal("0.749")
    assert (two["BTC"].currency, two["BTC"].price, two["BTC"].value) == \
        ("USD", btc_daily(4), Decimal("0.749") * btc_daily(4))
    assert two["LUNA"].value == Decimal(10) * luna_usd(4)
    eur = {r.asset: r for r in conn.execute(text("SELECT * FROM reporting.balances_at(:ts, 'main', 'EUR')"),
                                            {"ts": ts})}
    assert eur["BTC"].currency == "EUR" and eur["BTC"].price_source == "bridge"
    assert _cents(eur["BTC"].value) == _cents(Decimal("0.749") * btc_daily(4) / eur_usd(4))
    later = {r.asset: r for r in conn.execute(text("SELECT * FROM reporting.balances_at(:ts, 'main', 'EUR')"),
                                              {"ts": market.at(8, 12)})}
    assert later["NOPE"].balance == Decimal(2) and later["NOPE"].price is None and later["NOPE"].value is None


def test_portfolio_daily_values_the_end_of_day_balance(conn: Connection, market: Market) -> None:
    def day(n: int, asset: str) -> Any:
        return conn.execute(text(
            "SELECT * FROM reporting.portfolio_daily WHERE account = 'main' AND asset = :asset "
            "AND day = CAST(:day AS date)"), {"asset": asset, "day": market.at(n).date()}).one()

    assert (day(1, "BTC").price, day(1, "BTC").balance) == (btc_hourly(1, 23), Decimal("0.499"))
    d4 = day(4, "BTC")
    assert (d4.balance, d4.price, d4.value, d4.price_source) == \
        (Decimal("0.749"), btc_daily(4), Decimal("0.749") * btc_daily(4), "candle")
    assert (day(12, "BTC").price, day(12, "BTC").price_source) == (btc_daily(9), "stale")
    assert day(17, "BTC").value is None  # more than 7 days after the last candle: NULL, not zero
    assert day(6, "LUNA").value is None
    today = conn.execute(text(
        "SELECT d.value, d.balance * p.price FROM reporting.portfolio_daily d, "
        "reporting.price_at('BTC', 'USD', now()) p "
        "WHERE d.account = 'main' AND d.asset = 'BTC' AND d.day = (now() AT TIME ZONE 'UTC')::date")).one()
    assert today[0] is not None and today[0] == today[1]


def test_fees_monthly_values_fees_and_never_sums_part_of_them(conn: Connection, market: Market) -> None:
    rows = conn.execute(text(
        "SELECT asset, sum(fees) AS fees, sum(fees_value) AS value, bool_or(fees_value IS NULL) AS missing, "
        "sum(unpriced_entries) AS unpriced, min(currency) AS currency FROM reporting.fees_monthly "
        "WHERE account = 'main' GROUP BY asset")).all()
    by = {r.asset: r for r in rows}
    assert by["BTC"].value == Decimal("0.001") * btc_hourly(1, 10) + Decimal("0.0002") * btc_daily(9)
    assert by["USD"].value == Decimal(10) and by["KFEE"].value == Decimal("0.20")
    assert (by["NOPE"].missing, by["NOPE"].unpriced, by["NOPE"].currency) == (True, 1, "USD")


def test_valuation_currencies_follow_the_settings(conn: Connection, market: Market) -> None:
    from kraken_etl.db.reporting import write_valuation_currencies

    write_valuation_currencies(conn, {"main": "GBP"}, "CHF")
    assert dict(conn.execute(text("SELECT account, currency FROM reporting.valuation_currency")).all()) == \
        {"main": "GBP", "eu": "CHF"}
