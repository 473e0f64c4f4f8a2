"""The report's gains section, opened in headless chromium offline: realised gains per asset and year and
income from the stored cost-basis books, money headed with its currency, hostile text shown as text; no section
before any books are stored. Figures worked by hand (the ledger of tests/books/test_books_db.py: buy 0.1 BTC for
4,000 + 10 fee, buy 0.05 for 2,500 + 5, sell 0.08 for 4,800 with a 12 fee: fifo gain 4,800 - 3,208 - 12)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.db.engine import make_engine
from kraken_etl.jobs import books
from kraken_etl.report import write_report
from tests.books.test_books_db import _load
from tests.report.browser import open_offline
from tests.report.test_report import READ_PAGE

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    _load(db_url)
    made = make_engine(db_url)
    with made.begin() as conn:  # a reward in an asset whose code is markup: income at 0 (no price), as text
        conn.execute(text(
            "INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, subtype, asset, "
            "amount, fee, source, raw) VALUES ('main', 'LH', 'RH', '2024-05-01T00:00:00Z', 1714521600, 'staking', "
            "'', :asset, 3, 0, 'rest', '{}')"), {"asset": HOSTILE})
    try:
        yield made
    finally:
        made.dispose()


def test_no_gains_section_before_the_books_are_stored(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(engine, out, account="main", date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
    result = open_offline(out, READ_PAGE).result
    assert "gains" not in result["tables"] and "gains-findings" not in result["tables"]
    assert 'id="gains"' not in out.read_text(encoding="utf-8")


def test_the_gains_section_shows_the_stored_gains_and_income(engine: Engine, tmp_path: Path) -> None:
    books.run(engine, entity="main", accounts=["main"], method="fifo", currency="USD")
    out = tmp_path / "report.html"
    write_report(engine, out, account="main", date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
    page = open_offline(out, READ_PAGE)
    assert page.failed == [] and page.result["scripts"] == 0
    [btc] = page.result["tables"]["gains"]
    assert (btc["entity"], btc["method"], btc["currency"], btc["year"], btc["asset"], btc["disposals"]) == (
        "main", "fifo", "USD", "2024", "BTC", "1")
    assert [Decimal(btc[f"{k} (USD)"]) for k in ("proceeds", "cost", "fees", "gain")] == [
        Decimal(4800), Decimal(3208), Decimal(12), Decimal(1580)]
    assert btc["has_shortfall"] == "False"
    income = {r["asset"]: r for r in page.result["tables"]["gains-findings"]}
    assert Decimal(income["DOT"]["value (USD)"]) == Decimal("15.0") and income["DOT"]["amount"] == "2"
    assert income["DOT"]["kind"] == "staking" and income["DOT"]["entries"] == "1"
    assert set(income) == {"DOT", HOSTILE} and Decimal(income[HOSTILE]["value (USD)"]) == 0
    html = out.read_text(encoding="utf-8")
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html  # text, never markup
    assert "Realised gains and income (USD)" in html and "<h3>Income</h3>" in html


def test_a_report_of_another_account_has_no_gains_section(engine: Engine, tmp_path: Path) -> None:
    books.run(engine, entity="main", accounts=["main"], method="fifo", currency="USD")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, subtype, asset, "
            "amount, fee, source, raw) VALUES ('other', 'O1', 'OD', '2024-02-01T00:00:00Z', 1706745600, 'deposit', "
            "'', 'ZUSD', 10, 0, 'rest', '{}')"))
    out = tmp_path / "report.html"
    write_report(engine, out, account="other", date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
    assert "gains" not in open_offline(out, READ_PAGE).result["tables"]
