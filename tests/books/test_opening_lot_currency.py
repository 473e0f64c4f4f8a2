"""Opening lots costed in another currency than the books': converted at that currency's price at the lot's
acquisition; a lot whose currency has no price then is not used, and the books say so. Figures by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from kraken_etl.core.period import Period
from kraken_etl.db.engine import make_engine
from kraken_etl.jobs import books
from tests.books.handmade import insert_daily_closes, insert_entries, insert_identities

LEDGER = [  # (ledger id, refid, time, type, asset, amount, fee, balance)
    ("L1", "D1", "2024-05-01T10:00:00Z", "deposit", "XXBT", "0.5", "0", "0.5"),
    ("L2", "D2", "2024-05-02T10:00:00Z", "deposit", "XETH", "2", "0", "2"),
    ("L3", "T1", "2024-06-01T10:00:00Z", "trade", "XXBT", "-0.5", "0", "0"),
    ("L4", "T1", "2024-06-01T10:00:00Z", "trade", "ZUSD", "30000", "0", "30000"),
]
LOTS = ("asset,amount,cost,currency,acquired_at\n"
        "XBT,0.5,10000,EUR,2023-06-01\n"  # EUR at 1.1 USD that day: 11,000 USD
        "ETH,2,3000,GBP,2023-06-01\n")  # no GBP price anywhere: not used


def _load(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            insert_entries(conn, [("main", lid, refid, at, type_, "", asset, amount, fee, balance)
                                  for lid, refid, at, type_, asset, amount, fee, balance in LEDGER])
            insert_identities(conn, [("ZUSD", "USD"), ("XXBT", "BTC"), ("BTC", "BTC"), ("XETH", "ETH"),
                                     ("ETH", "ETH"), ("EUR", "EUR"), ("GBP", "GBP")])
            insert_daily_closes(conn, [("EUR", "EURUSD", "2023-06-01", "1.1"), ("BTC", "XBTUSD", "2024-05-01", "60000"),
                                       ("ETH", "ETHUSD", "2024-05-02", "3000")])
        books.import_lots(engine, "lots.csv", LOTS.encode())
    finally:
        engine.dispose()


def test_a_lot_costed_in_euros_is_converted_and_one_without_a_price_is_named(db_url: str) -> None:
    _load(db_url)
    engine = make_engine(db_url)
    try:
        result = books.run(engine, entity="main", accounts=["main"], method="fifo", currency="USD")
        report = books.read_report(engine, entity="main", method="fifo", currency="USD",
                                   period=Period.of_days(date(2024, 1, 1), date(2024, 12, 31)))
    finally:
        engine.dispose()
    [sale] = report.disposals
    # 0.5 BTC sold for 30,000 USD; its lot cost 10,000 EUR when one euro was 1.1 USD.
    assert (sale["asset"], sale["amount"], sale["proceeds"], sale["cost"], sale["gain"]) == (
        "BTC", D("0.5"), D(30000), D("11000.0"), D("19000.0"))
    assert sale["acquired_at"].date() == date(2023, 6, 1), sale
    kinds = sorted(kind for kind, _ in result.findings)
    assert kinds == ["cost_assumed", "opening_lot_currency"], result.findings
    [detail] = [d for kind, d in result.findings if kind == "opening_lot_currency"]
    assert "costed in GBP: no GBP price in USD at 2023-06-01T00:00:00+00:00, not used" in detail
