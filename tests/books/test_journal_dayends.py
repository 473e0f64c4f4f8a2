"""Kraken's end-of-day balance per asset account, from its own running balance (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from kraken_etl.books.journal import DayEnds, Posting, transactions

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def _posting(ledger_id: str, time: datetime, net: str, balance: str, *, txn: str | None = None,
             wallet: str | None = "spot / main") -> Posting:
    return Posting("main", txn or ledger_id, time, txn or ledger_id, ledger_id, time, "deposit", "", 1, "asset",
                   "Assets:Kraken:Main:Spot:BTC", "BTC", wallet, Decimal(net), Decimal(balance))


def test_the_last_entry_of_a_tied_second_is_the_one_the_balances_chain_to() -> None:
    # Kraken's order inside the second: LC (10 -> 11), LA (11 -> 13), LB (13 -> 16); ids sort otherwise
    rows = [_posting("LB", T0, "3", "16"), _posting("LA", T0, "2", "13"), _posting("LC", T0, "1", "11")]
    ends = DayEnds()
    for txn in transactions(rows):
        assert ends.add(txn) == []
    (assertion,) = ends.close_day()
    assert (assertion.day, assertion.balance, assertion.ledger_id) == (date(2025, 3, 1), Decimal("16"), "LB")


def test_a_day_closes_when_the_next_one_starts_and_unassigned_wallets_are_counted() -> None:
    rows = [_posting("L1", T0, "1", "1"), _posting("L2", T0.replace(hour=13), "2", "3"),
            _posting("L3", T0.replace(day=2), "1", "4"), _posting("L4", T0.replace(day=2), "5", "5", wallet=None)]
    ends = DayEnds()
    closed = [a for txn in transactions(rows) for a in ends.add(txn)]
    assert [(a.day, a.balance, a.ledger_id) for a in closed] == [(date(2025, 3, 1), Decimal("3"), "L2")]
    assert [(a.day, a.balance) for a in ends.close_day()] == [(date(2025, 3, 2), Decimal("4"))]
    assert ends.unasserted == 1


def test_postings_of_one_refid_make_one_transaction() -> None:
    rows = [_posting("L1", T0, "1", "1", txn="T1"), _posting("L2", T0, "-1", "0", txn="T1"),
            _posting("L3", T0, "1", "1", txn="T2")]
    assert [len(t.postings) for t in transactions(rows)] == [2, 1]
