"""Lots with cost in the Beancount export: Beancount's own booking (FIFO, HIFO) of the exported lots gives the
realised gains of `kraken-etl pnl --method fifo|hifo`, for the whole history and for one year standing alone;
lifo books are refused (Beancount's LIFO would give other gains).

The gains are read through Beancount's loader: it books every `{}` reduction against the lots the file
carries (``booking_method`` of the books' method) and fills in each elided ``Income:Kraken:Gains`` posting;
the journal writes no gain figure. The oracle is the stored books (`reporting.disposals`, as `pnl` prints them).

Rounding rules. (1) Beancount keeps a lot's cost per unit (the written total cost divided by the units) to
its decimal context's 28 significant digits and books a reduction at units times that unit cost, while the books
split a lot's cost exactly: each booked cost is off by a few units of its 28th digit. So the gain of each
transaction as Beancount booked it (minus the weight of its other postings, the reductions at the cost
Beancount chose) agrees with the books within 10⁻⁹ USD per asset and in total. (2) Beancount fills in an
elided posting rounded to the transaction's precision in that currency (the decimals of its USD amounts:
0.0001 for Kraken's USD); so the filled-in Income:Kraken:Gains postings are within half of 0.0001 USD per
transaction of (1), and their totals agree with the books to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from pathlib import Path
from typing import NamedTuple

import pytest
from beancount import loader
from beancount.core import convert, data
from sqlalchemy import Connection, text

from kraken_etl.books.journal import Posting, transactions
from kraken_etl.books.journal_lots import LotPlan, LotsError, Pool
from kraken_etl.books.lots_model import Event, Kind
from kraken_etl.core.assets import normalize_asset
from kraken_etl.core.money import D
from kraken_etl.core.period import Period, resolve_period
from kraken_etl.jobs import books as pnl
from kraken_etl.jobs.journal import JournalError, export_journal
from kraken_etl.simulator import catalog
from tests.books.conftest import ACCOUNT, Synced, bean_check

NOW = datetime(2026, 12, 1, tzinfo=UTC)
YEAR = ("2025-06-01", "2026-05-31")
WHOLE = Period(datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))
BOUND = Decimal("1e-9")
QUANTUM = Decimal("0.0001")  # the precision of Kraken's USD amounts: Beancount rounds a filled-in gain to it


def _seed_prices(conn: Connection) -> None:
    """A daily USD candle for each simulator market that moves from day to day (between 0.80 and 1.20 times
    the reference price), so lots get costs that differ and FIFO's choice shows in every gain."""
    for a in catalog.ASSETS:
        base = normalize_asset(a.id).split(".")[0]
        fixed = a.id == "KFEE"
        conn.execute(text(
            "INSERT INTO kraken.asset_identity (code, canonical, price_asset, fixed_price, fixed_currency) "
            "VALUES (:code, :canonical, :pa, CAST(:fixed AS numeric), :cur) ON CONFLICT DO NOTHING"),
            {"code": a.id, "canonical": normalize_asset(a.id), "pa": None if fixed else base,
             "fixed": a.usd_price if fixed else None, "cur": "USD" if fixed else None})
        if not fixed and base != "USD" and normalize_asset(a.id) == base:
            conn.execute(text(
                "INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, volume, "
                "source, complete) SELECT :pair, 1440, d, :base, 'USD', p, p, p, p, 1, 'file', true "
                "FROM generate_series(TIMESTAMPTZ '2024-12-01 00:00+00', '2026-12-01 00:00+00', interval '1 day') d, "
                "LATERAL (SELECT CAST(:p AS numeric) * (80 + (extract(epoch FROM d)::bigint / 86400 * 37) % 41) "
                "/ 100 AS p) q ON CONFLICT DO NOTHING"), {"pair": f"{base}USD", "base": base, "p": D(a.usd_price)})
    conn.execute(text("REFRESH MATERIALIZED VIEW reporting.price_hourly"))


LOT_METHODS = ("fifo", "hifo")


@pytest.fixture(scope="module")
def fifo(synced: Synced) -> Iterator[Synced]:
    """The simulated account with moving daily prices (fair values for rewards, deposits and crypto trades), its
    fifo and hifo books in USD stored as `kraken-etl pnl --method …` stores them."""
    with synced.engine.begin() as conn:
        _seed_prices(conn)
    for method in LOT_METHODS:
        pnl.run(synced.engine, entity=ACCOUNT, accounts=[ACCOUNT], method=method, currency="USD")
    with synced.engine.connect() as conn:
        findings = dict(conn.execute(text(
            "SELECT kind, count(*) FROM kraken.book_finding WHERE method = 'fifo' GROUP BY 1")).all())
    assert "no_price" not in findings, findings  # every lot has a fair-value cost
    yield synced


class Booked(NamedTuple):
    """What Beancount booked, per asset reduced in a transaction with a gain."""

    gains: dict[str, Decimal]  # minus the weight of the other postings (rule 1)
    filled: dict[str, Decimal]  # the Income:Kraken:Gains postings as Beancount filled them in (rule 2)
    transactions: dict[str, int]  # transactions with a gain
    reductions: int  # `{}` reductions booked


def booked(path: Path, method: str = "fifo") -> Booked:
    """Read `path` through Beancount's loader (its booking method) and collect its gains (a gain is a credit)."""
    entries, errors, options = loader.load_file(str(path))
    assert errors == [], errors[:5]
    assert options["booking_method"].name == method.upper()
    out = Booked(defaultdict(Decimal), defaultdict(Decimal), defaultdict(int), 0)
    reductions = 0
    with localcontext(prec=200):  # exact products and sums of the booked figures
        for entry in entries:
            if not isinstance(entry, data.Transaction):
                continue
            reduced = {p.units.currency for p in entry.postings if p.cost is not None and p.units.number < 0}
            reductions += sum(1 for p in entry.postings if p.cost is not None and p.units.number < 0)
            gains = [p for p in entry.postings if p.account == "Income:Kraken:Gains"]
            if not gains:
                continue
            assert len(gains) == 1 and gains[0].units.currency == "USD" and len(reduced) == 1, entry
            asset = next(iter(reduced))
            weights = [convert.get_weight(p) for p in entry.postings if p is not gains[0]]
            out.gains[asset] += sum((w.number for w in weights if w.currency == "USD"), Decimal(0))
            out.filled[asset] -= gains[0].units.number
            out.transactions[asset] += 1
    return out._replace(reductions=reductions)


@pytest.mark.parametrize("method", LOT_METHODS)
@pytest.mark.parametrize("period", [None, YEAR], ids=["whole-history", "one-year"])
def test_beancount_booking_of_the_lots_gives_pnl_gains(fifo: Synced, tmp_path: Path, period: tuple[str, str] | None,
                                                       method: str) -> None:
    resolved = resolve_period(*period, now=NOW) if period else None
    report = pnl.read_report(fifo.engine, entity=ACCOUNT, method=method, currency="USD", period=resolved or WHOLE)
    expected = {asset: row["gain"] for asset, row in report.totals()["per_asset"].items()}
    assert len(report.disposals) > 100 and len(expected) >= 4
    result = export_journal(fifo.engine, tmp_path / "lots.beancount", "beancount", accounts=[ACCOUNT],
                            period=resolved, method=method, currency="USD")
    text = result.path.read_text()
    assert f'option "booking_method" "{method.upper()}"' in text and " {} @@ " in text
    checked = bean_check(result.path)
    assert checked.code == 0 and checked.output == "", checked.output[:3000]
    got = booked(result.path, method)
    assert got.reductions >= len({tuple(d["disposal_entries"]) for d in report.disposals})
    assert result.stats.lot_reductions > 100 and result.stats.lot_acquisitions > 100
    assert set(got.gains) <= set(expected)
    for asset, gain in expected.items():
        exact, filled = got.gains.get(asset, Decimal(0)), got.filled.get(asset, Decimal(0))
        assert abs(exact - gain) <= BOUND, (asset, exact, gain)
        assert abs(filled - exact) <= got.transactions.get(asset, 0) * QUANTUM / 2, (asset, filled, exact)
        assert round(filled, 2) == round(gain, 2), (asset, filled, gain)
    with localcontext(prec=200):
        exact, filled = sum(got.gains.values(), Decimal(0)), sum(got.filled.values(), Decimal(0))
        books = sum(expected.values(), Decimal(0))
    assert books != 0 and abs(exact - books) <= BOUND
    assert round(filled, 2) == round(books, 2), (filled, books)
    if period:  # the year's file opens with lots at cost: their dates are before the year
        assert '* "Kraken" "Opening lots"' in text and ", 2025-05-" in text


def test_the_gains_are_beancounts_own_booking(fifo: Synced, tmp_path: Path) -> None:
    """The same file booked LIFO gives other gains: no gain figure is written, the booking makes them."""
    result = export_journal(fifo.engine, tmp_path / "lots.beancount", "beancount", accounts=[ACCOUNT],
                            method="fifo", currency="USD")
    lifo = tmp_path / "lifo.beancount"
    lifo.write_text(result.path.read_text().replace('"booking_method" "FIFO"', '"booking_method" "LIFO"'))
    entries, errors, _ = loader.load_file(str(lifo))
    assert errors == [], errors[:3]
    with localcontext(prec=200):
        fifo_total = sum(booked(result.path).filled.values(), Decimal(0))
        lifo_total = sum((-p.units.number for e in entries if isinstance(e, data.Transaction)
                          for p in e.postings if p.account == "Income:Kraken:Gains"), Decimal(0))
    assert abs(lifo_total - fifo_total) > 1


def test_lots_only_in_beancount_with_books_beancount_can_book(fifo: Synced, tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="in the Beancount format only"):
        export_journal(fifo.engine, tmp_path / "x.journal", "ledger", accounts=[ACCOUNT], method="fifo", lots=True)
    with pytest.raises(JournalError, match="not without a method: they need a cost-basis method"):
        export_journal(fifo.engine, tmp_path / "x.beancount", "beancount", accounts=[ACCOUNT], lots=True)
    with pytest.raises(JournalError, match=r"not uk: the UK share-matching rules .* not an order of lots"):
        export_journal(fifo.engine, tmp_path / "x.beancount", "beancount", accounts=[ACCOUNT], method="uk", lots=True)
    with pytest.raises(JournalError, match="not lifo: Beancount's LIFO orders lots by date only"):
        export_journal(fifo.engine, tmp_path / "x.beancount", "beancount", accounts=[ACCOUNT], method="lifo",
                       lots=True)
    with pytest.raises(JournalError, match="not average: Beancount 3 does not book reductions at average cost"):
        export_journal(fifo.engine, tmp_path / "x.beancount", "beancount", accounts=[ACCOUNT], method="average",
                       lots=True)
    assert not (tmp_path / "x.beancount").exists()


AT = datetime(2025, 3, 1, 12, tzinfo=UTC)
POOLS = {("main", "BTC"): Pool("BTC", "Assets:Kraken:Main:BTC")}


def _posting(ledger_id: str, asset: str, amount: str, posting: int = 1, gl: str = "") -> Posting:
    return Posting("main", "T1", AT, "R1", ledger_id, AT, "trade", "", posting, "asset" if posting == 1 else "x",
                   gl or f"Assets:Kraken:Main:Spot:{asset}", asset, "spot", Decimal(amount), Decimal(0))


def test_a_sale_keeps_its_wallet_cash_and_leaves_the_gain_to_beancount() -> None:
    """A sale of 0.5 BTC for 20,000 USD with a 10 USD fee: the fee is inside the gain (the books take it off
    the proceeds), so the file has the cash received, the reduction at the proceeds and an elided gain."""
    sale = Event(Kind.DISPOSE, "BTC", AT, Decimal("0.5"), Decimal("20000"), Decimal("10"), ("L1", "L2"),
                 label="trade")
    plan = LotPlan("USD", POOLS, {"main": [sale]})
    [txn] = transactions([_posting("L1", "BTC", "-0.5"), _posting("L1", "BTC", "0.5", 3, "Equity:Conversions"),
                          _posting("L2", "USD", "19990"), _posting("L2", "USD", "10", 2, "Expenses:Kraken:Fees"),
                          _posting("L2", "USD", "-20000", 3, "Equity:Conversions")])
    lines = plan.transaction(txn)
    assert [(x.gl_account, x.amount, x.asset, x.reduce, x.price) for x in lines] == [
        ("Assets:Kraken:Main:Spot:USD", Decimal("19990"), "USD", False, None),
        ("Assets:Kraken:Main:BTC", Decimal("-0.5"), "BTC", True, Decimal("20000")),
        ("Income:Kraken:Gains", None, "USD", False, None)]
    assert plan.unplaced(None) == [] and plan.reductions == 1


def test_a_reward_is_income_at_its_value_and_a_wrong_quantity_is_refused() -> None:
    reward = Event(Kind.INCOME, "BTC", AT, Decimal("0.001"), Decimal("43.21"), entries=("L9",), label="staking")
    plan = LotPlan("USD", POOLS, {"main": [reward]})
    income = [_posting("L9", "BTC", "0.001"), _posting("L9", "BTC", "-0.001", 3, "Income:Kraken:Staking")]
    lines = plan.transaction(next(transactions(income)))
    assert [(x.gl_account, x.amount, x.asset, x.cost) for x in lines] == [
        ("Assets:Kraken:Main:BTC", Decimal("0.001"), "BTC", Decimal("43.21")),
        ("Income:Kraken:Staking", Decimal("-43.21"), "USD", None)]
    again = LotPlan("USD", POOLS, {"main": [reward]})
    wrong = [_posting("L9", "BTC", "0.002"), _posting("L9", "BTC", "-0.002", 3, "Income:Kraken:Staking")]
    with pytest.raises(LotsError, match=r"moves 0\.002 BTC but its lot events 0\.001"):
        again.transaction(next(transactions(wrong)))
