"""Realised gains in the journal as figures: with a cost-basis method and without lots, the Beancount export of
the simulated account posts each stored disposal's gain to Income:Kraken:Gains (the lots themselves, booked by
Beancount, are tests/books/test_journal_lots.py). Beancount's own loader reads the file back (bean-check
passes, zero errors) and its Income:Kraken:Gains total is minus the gain of `kraken-etl pnl --method fifo`,
for the whole history and for one year standing alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from sqlalchemy import text

from kraken_etl.books.journal import Posting, transactions
from kraken_etl.books.journal_gains import QUANTUM, stored_gains
from kraken_etl.core.period import Period, resolve_period
from kraken_etl.jobs import books as pnl
from kraken_etl.jobs.journal import JournalError, export_journal
from tests.books.conftest import ACCOUNT, Synced, bean_check, hledger_check

NOW = datetime(2026, 12, 1, tzinfo=UTC)
YEAR = ("2025-06-01", "2026-05-31")
WHOLE = Period(datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def fifo(synced: Synced) -> Iterator[Synced]:
    """The simulated account's fifo books in USD, stored as `kraken-etl pnl --method fifo` stores them."""
    pnl.run(synced.engine, entity=ACCOUNT, accounts=[ACCOUNT], method="fifo", currency="USD")
    yield synced


def beancount_gains(path: Path) -> tuple[Decimal, int]:
    """Income:Kraken:Gains summed by Beancount's own loader (and the number of its postings)."""
    entries, errors, _ = loader.load_file(str(path))
    assert errors == [], errors[:5]
    total, count = Decimal(0), 0
    with localcontext(prec=200):  # exact sums of the many-decimal gains
        for entry in entries:
            if isinstance(entry, data.Transaction):
                for posting in entry.postings:
                    if posting.account == "Income:Kraken:Gains":
                        assert posting.units.currency == "USD"
                        total += posting.units.number
                        count += 1
    return total, count


@pytest.mark.parametrize("period", [None, YEAR], ids=["whole-history", "one-year"])
def test_beancount_gains_equal_pnl_fifo(fifo: Synced, tmp_path: Path, period: tuple[str, str] | None) -> None:
    resolved = resolve_period(*period, now=NOW) if period else None
    report = pnl.read_report(fifo.engine, entity=ACCOUNT, method="fifo", currency="USD", period=resolved or WHOLE)
    totals = report.totals()
    with localcontext(prec=200):  # the exact sum (`totals` rounds to 28 digits)
        gain = sum((d["gain"] for d in report.disposals), Decimal(0))
    assert totals["disposals"] > 20 and gain != 0
    result = export_journal(fifo.engine, tmp_path / "gains.beancount", "beancount", accounts=[ACCOUNT],
                            period=resolved, method="fifo", currency="USD", lots=False)
    checked = bean_check(result.path)
    assert checked.code == 0 and checked.output == "", checked.output[:3000]
    total, postings = beancount_gains(result.path)
    # each transaction's gain is written to 16 decimals (Beancount holds 28 significant digits)
    assert total == result.stats.gain_total.copy_negate()
    assert abs(result.stats.gain_total - gain) <= postings * QUANTUM / 2
    assert round(total, 2) == round(gain.copy_negate(), 2)
    assert result.stats.gains == totals["disposals"]
    assert 0 < postings <= totals["disposals"]


def test_one_wrong_stored_gain_changes_the_beancount_total(fifo: Synced, tmp_path: Path) -> None:
    before = export_journal(fifo.engine, tmp_path / "before.beancount", "beancount", accounts=[ACCOUNT],
                            method="fifo", currency="USD", lots=False)
    with fifo.engine.begin() as conn:
        conn.execute(text("UPDATE kraken.book_disposal SET gain = gain + 1 WHERE method = 'fifo' AND (asset, seq) = "
                              "(SELECT asset, seq FROM kraken.book_disposal WHERE method = 'fifo' "
                              "ORDER BY asset, seq OFFSET 7 LIMIT 1)"))
    try:
        after = export_journal(fifo.engine, tmp_path / "after.beancount", "beancount", accounts=[ACCOUNT],
                               method="fifo", currency="USD", lots=False)
        assert beancount_gains(after.path)[0] == beancount_gains(before.path)[0] - 1
    finally:
        with fifo.engine.begin() as conn:
            conn.execute(text("UPDATE kraken.book_disposal SET gain = gain - 1 WHERE method = 'fifo' "
                              "AND (asset, seq) = (SELECT asset, seq FROM kraken.book_disposal WHERE method = 'fifo' "
                              "ORDER BY asset, seq OFFSET 7 LIMIT 1)"))


def test_books_missing_or_stale_are_refused(fifo: Synced, tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no stored lifo books in USD"):
        export_journal(fifo.engine, tmp_path / "x.beancount", "beancount", accounts=[ACCOUNT], method="lifo")
    with fifo.engine.begin() as conn:
        conn.execute(text("UPDATE kraken.book_run SET entries = entries - 1 WHERE method = 'fifo'"))
    try:
        with pytest.raises(JournalError, match="older than its ledger"):
            export_journal(fifo.engine, tmp_path / "x.beancount", "beancount", accounts=[ACCOUNT], method="fifo")
    finally:
        with fifo.engine.begin() as conn:
            conn.execute(text("UPDATE kraken.book_run SET entries = entries + 1 WHERE method = 'fifo'"))
    assert not (tmp_path / "x.beancount").exists()


def test_ledger_export_with_gains_passes_hledger_check(fifo: Synced, tmp_path: Path) -> None:
    result = export_journal(fifo.engine, tmp_path / "gains.journal", "ledger", accounts=[ACCOUNT], method="fifo")
    checked = hledger_check(result.path)
    assert checked.code == 0, checked.output[:3000]
    assert result.stats.gains > 20  # disposals posted, several per trade at times
    assert result.path.read_text().count("\n    Income:Kraken:Gains") > 20


def _posting(ledger_id: str, asset: str, amount: str, posting: int = 1) -> Posting:
    at = datetime(2025, 3, 1, 12, tzinfo=UTC)
    return Posting("main", "T1", at, "R1", ledger_id, at, "trade", "", posting, "asset",
                   f"Assets:Kraken:Main:Spot:{asset}", asset, "spot", Decimal(amount), Decimal(0))


def test_gains_of_one_transaction_are_summed_exactly_once_on_the_disposal_entry() -> None:
    at = datetime(2025, 3, 1, 12, tzinfo=UTC)
    hook = stored_gains("USD", [("BTC", at, Decimal("0.10000000000000000004"), ["L2"]),
                                ("BTC", at, Decimal("-0.3"), ["L2", "L1"]),
                                ("ETH", at, Decimal("5"), ["L9"])])
    legs = [_posting("L1", "USD", "100"), _posting("L2", "BTC", "-0.001")]
    [txn] = transactions(legs, hook)
    gains = [p for p in txn.postings if p.role.startswith("gain")]
    assert [(p.gl_account, p.amount, p.ledger_id) for p in gains] == [
        ("Income:Kraken:Gains", Decimal("0.2000000000000000"), "L2"),
        ("Equity:Conversions", Decimal("-0.2000000000000000"), "L2")]
    assert hook.posted == 2 and hook.total == Decimal("-0.2")
    [again] = transactions(legs, hook)  # a disposal is never posted twice
    assert not [p for p in again.postings if p.role.startswith("gain")]
    assert [d.asset for d in hook.unposted(None, None)] == ["ETH"]
    assert hook.unposted(None, at) == []
