"""Moves between the accounts of one pooled tax entity carry their lots (cost and acquisition date) instead of
leaving at cost and coming back at fair value; only the fees leave the pool. Figures worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from kraken_etl.books.moves import Movement, pair_moves
from kraken_etl.core.period import Period
from kraken_etl.db.engine import make_engine
from kraken_etl.jobs import books
from tests.books.handmade import insert_daily_closes, insert_entries, insert_identities

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _m(account: str, lid: str, type_: str, amount: str, hours: float, asset: str = "BTC") -> Movement:
    return Movement(account, lid, asset, type_, D(amount), T0 + timedelta(hours=hours))


def test_a_deposit_meets_the_earliest_waiting_withdrawal_of_another_account_within_the_window() -> None:
    pairs = pair_moves([
        _m("a", "W0", "withdrawal", "-1", 0),  # too old for D3 (8 days before it)
        _m("a", "W1", "withdrawal", "-1", 100),
        _m("a", "W2", "withdrawal", "-1", 101),
        _m("a", "D1", "deposit", "1", 102),  # same account as the waiting withdrawals: not a move
        _m("b", "D2", "deposit", "0.9995", 103),  # another amount: not a move
        _m("b", "D3", "deposit", "1", 192),
        _m("b", "D4", "deposit", "1", 193, asset="ETH"),  # another asset
        _m("b", "D5", "deposit", "1", 194),
    ])
    assert pairs == {("a", "W1"): ("b", "D3"), ("b", "D3"): ("a", "W1"),
                     ("a", "W2"): ("b", "D5"), ("b", "D5"): ("a", "W2")}


LEDGER = [  # (account, ledger id, refid, time, type, asset, amount, fee, balance)
    ("a", "A1", "DA", "2024-01-10T10:00:00Z", "deposit", "ZUSD", "30000", "0", "30000"),
    ("a", "A2", "T1", "2024-01-15T10:00:00Z", "trade", "ZUSD", "-30000", "0", "0"),
    ("a", "A3", "T1", "2024-01-15T10:00:00Z", "trade", "XXBT", "1.0005", "0", "1.0005"),
    ("a", "A4", "WA", "2024-02-01T10:00:00Z", "withdrawal", "XXBT", "-1", "0.0005", "0"),
    ("b", "B1", "DB", "2024-02-01T11:00:00Z", "deposit", "XXBT", "1", "0", "1"),
    ("b", "B2", "T2", "2024-03-01T10:00:00Z", "trade", "XXBT", "-1", "0", "0"),
    ("b", "B3", "T2", "2024-03-01T10:00:00Z", "trade", "ZUSD", "50000", "0", "50000"),
]


def _load(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            insert_entries(conn, [(account, lid, refid, at, type_, "", asset, amount, fee, balance)
                                  for account, lid, refid, at, type_, asset, amount, fee, balance in LEDGER])
            insert_identities(conn, [("ZUSD", "USD"), ("XXBT", "BTC"), ("BTC", "BTC")])
            insert_daily_closes(conn, [("BTC", "XBTUSD", "2024-02-01", "40000")])
    finally:
        engine.dispose()


def _sale(engine: Any, entity: str, accounts: list[str]) -> tuple[books.RunResult, dict[str, Any]]:
    result = books.run(engine, entity=entity, accounts=accounts, method="fifo", currency="USD")
    report = books.read_report(engine, entity=entity, method="fifo", currency="USD",
                               period=Period.of_days(date(2024, 1, 1), date(2024, 12, 31)))
    [sale] = report.disposals
    return result, sale


def test_a_move_between_pooled_accounts_carries_its_lot_and_alone_each_account_does_not(db_url: str) -> None:
    _load(db_url)
    engine = make_engine(db_url)
    try:
        pooled, sale = _sale(engine, "family", ["a", "b"])
        alone, sale_b = _sale(engine, "b", ["b"])
    finally:
        engine.dispose()
    # Pooled: the 1 BTC sold in b is the lot bought in a (1.0005 BTC for 30,000 USD); the 0.0005 BTC fee left.
    cost = D(30000) * D(1) / D("1.0005")  # 29,985.0074962518740629685157...
    assert (sale["amount"], sale["proceeds"]) == (D(1), D(50000))
    assert abs(sale["cost"] - cost) < D("1e-20"), sale["cost"]  # (the engine divides at a higher precision)
    assert sale["acquired_at"] == datetime(2024, 1, 15, 10, tzinfo=UTC)
    assert [kind for kind, _ in pooled.findings] == []
    # b alone: the deposit came from outside, so its cost is its fair value that day (flagged).
    assert (sale_b["cost"], sale_b["gain"]) == (D(40000), D(10000))
    assert [kind for kind, _ in alone.findings] == ["cost_assumed"]
