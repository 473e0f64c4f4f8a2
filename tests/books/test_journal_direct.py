"""The Beancount export written straight from entry rows is the file the posting objects give, byte for byte;
its numbers as the database's text are the same digits as its Decimals; the rows read ahead by a thread stop
cleanly when the reader is closed early and hand on the database's error."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.books.journal import Posting, Transaction
from kraken_etl.books.journal_names import Chart
from kraken_etl.core.period import Period, resolve_period
from kraken_etl.db.journal import _read_ahead, journal_entries
from kraken_etl.jobs.journal import export_journal
from tests.books.conftest import ACCOUNT, Synced, bean_check
from tests.books.test_journal_tools import NOW, YEAR
from tests.books.test_journal_view import hostile  # noqa: F401 - the fixture

CHART = Chart({"Equity:Transfers": "Assets:Bank:Clearing", "Assets:Kraken": "Assets:Exchanges:Kraken",
               "Expenses:Kraken:Fees": "Expenses:Trading:Fees"})
NUMBERS = (11, 12, 13, 14, 17, 18, 19)  # the numeric columns of a row


def _no_gains(txn: Transaction) -> Sequence[Posting]:
    """A gains hook posting nothing: the export then goes through the posting objects (`render`)."""
    return ()


def _both(engine: Engine, tmp_path: Path, *, accounts: Sequence[str] = (), period: Period | None = None,
          chart: Chart | None = None, currency: str | None = None) -> tuple[bytes, bytes]:
    """The export written from the rows and the one written from the posting objects."""
    direct = export_journal(engine, tmp_path / "direct.beancount", "beancount", accounts=accounts, period=period,
                            chart=chart, currency=currency)
    posted = export_journal(engine, tmp_path / "posted.beancount", "beancount", accounts=accounts, period=period,
                            chart=chart, currency=currency, gains=_no_gains)
    assert direct.stats == posted.stats
    return direct.path.read_bytes(), posted.path.read_bytes()


@pytest.mark.parametrize("period", [None, YEAR], ids=["whole-history", "one-year"])
def test_direct_export_is_the_posted_one_byte_for_byte(synced: Synced, tmp_path: Path,
                                                         period: tuple[str, str] | None) -> None:
    resolved = resolve_period(*period, now=NOW) if period else None
    direct, posted = _both(synced.engine, tmp_path, accounts=[ACCOUNT], period=resolved, chart=CHART)
    assert direct == posted
    body = direct.decode()
    assert "  Assets:Exchanges:Kraken:Main:" in body and "  Expenses:Trading:Fees  " in body
    assert " balance Assets:Exchanges:Kraken:Main:" in body
    assert not re.search(r"  -?\d+(\.\d+)?E", body)  # no amount in exponent form (Decimal's str of 0.00000000: 0E-8)
    assert re.search(r" balance \S+  0\.0+ ~ 0 ", body)  # an account emptied: its zero written with its scale
    checked = bean_check(tmp_path / "direct.beancount")
    assert checked.code == 0, checked.output[:3000]


def test_direct_export_with_values_prices_and_hostile_text(hostile: Engine, tmp_path: Path) -> None:  # noqa: F811
    with hostile.begin() as conn:
        conn.execute(text("INSERT INTO kraken.asset_identity (code, canonical, fixed_price, fixed_currency) VALUES "
                          "('eth', 'ETH', 2000.5, 'USD')"))
        conn.execute(text("INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, "
                          "volume, source, complete) VALUES ('ETHUSD', 1440, '2024-03-02', 'ETH', 'USD', 1, 3, 1, "
                          "2.25, 10, 'ohlc', true)"))
    direct, posted = _both(hostile, tmp_path, currency="USD")
    assert direct == posted
    body = direct.decode()
    assert "    value: -0.20005 USD\n" in body and "2024-03-02 price ETH 2.25 USD" in body
    assert '\\"' in body  # the refid with a quote, escaped
    checked = bean_check(tmp_path / "direct.beancount")
    assert checked.code == 0, checked.output[:3000]


def test_numbers_as_text_are_the_decimals_digits(synced: Synced) -> None:
    with synced.engine.connect() as conn, conn.begin():
        decimals = list(journal_entries(conn, accounts=None, start=None, end=None, currency="USD"))
        texts = list(journal_entries(conn, accounts=None, start=None, end=None, currency="USD",
                                     numbers_as_text=True))
    assert len(texts) == len(decimals) > 1000
    compared = 0
    for made, read in zip(texts, decimals, strict=True):
        assert [v for i, v in enumerate(made) if i not in NUMBERS] == [
            v for i, v in enumerate(read) if i not in NUMBERS]
        for i in NUMBERS:
            if read[i] is None:
                assert made[i] is None
                continue
            assert isinstance(made[i], str) and "E" not in made[i]
            assert not (made[i].startswith("-") and Decimal(made[i]) == 0)  # no negative zero
            assert Decimal(made[i]).as_tuple() == read[i].as_tuple()  # same digits, same scale
            compared += 1
    assert compared > 3 * len(texts) // 2


def test_closing_the_rows_early_leaves_the_connection_usable(synced: Synced) -> None:
    with synced.engine.connect() as conn, conn.begin():
        rows = journal_entries(conn, accounts=None, start=None, end=None, batch=7)
        firsts = [next(rows) for _ in range(20)]  # the reader is batches ahead
        rows.close()
        assert len({r[4] for r in firsts}) == 20
        assert conn.execute(text("SELECT count(*) FROM kraken.ledger_entry")).scalar_one() > 1000


def test_the_readers_error_is_raised_to_the_consumer() -> None:
    batches = iter([[1, 2], [3]])

    def fetch() -> list[int]:
        for batch in batches:
            return batch
        raise LookupError("the server went away")

    seen: list[int] = []
    with pytest.raises(LookupError, match="went away"):
        for row in _read_ahead(fetch, depth=1):
            seen.append(row)
    assert seen == [1, 2, 3]


def test_rows_arrive_in_order_through_a_small_queue() -> None:
    source: Iterator[list[int]] = iter([list(range(i, i + 3)) for i in range(0, 300, 3)] + [[]])
    assert list(_read_ahead(lambda: next(source), depth=2)) == list(range(300))
