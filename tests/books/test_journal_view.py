"""`reporting.journal`: every entry posted, every transaction balanced per asset, hostile names made valid;
the exports of hand-made hostile data pass bean-check and hledger."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.books.journal import entry_postings
from kraken_etl.db.engine import make_engine
from kraken_etl.db.journal import journal_entries
from kraken_etl.jobs.journal import JournalError, export_journal
from tests.books.conftest import ACCOUNT, Synced, bean_check, hledger_check

INSERT = text("""
INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, subtype, asset, wallet_resolved,
                                 wallet_source, amount, fee, balance, source, raw)
VALUES (:account, :ledger_id, :refid, CAST(:time AS timestamptz), extract(epoch FROM CAST(:time AS timestamptz)),
        :type, :subtype, :asset, :wallet, CASE WHEN CAST(:wallet AS text) IS NULL THEN NULL ELSE 'export' END,
        :amount, :fee, :balance, 'export', '{}')
""")

LABEL = 'acme "fund"; =1'
WALLET = "earn / «flex» ;x"
ROWS = [
    # (ledger_id, refid, time, type, subtype, asset, wallet, amount, fee, balance)
    ("L1", "D1", "2024-03-01T10:00:00Z", "deposit", "", "1INCH", "spot / main", "10", "0.5", "9.5"),
    ("L2", "D2\"\n;x", "2024-03-01T10:00:01Z", "deposit", "", "eth", "spot / main", "2.5", "0", "2.5"),
    ("L3", "T1", "2024-03-01T11:00:00Z", "trade", "", "1INCH", "spot / main", "-2", "0", "7.5"),
    ("L4", "T1", "2024-03-01T11:00:00Z", "trade", "", "eth", "spot / main", "1", "0.01", "3.49"),
    ("L5", "E1", "2024-03-02T00:00:00Z", "earn", "allocation", "eth", "spot / main", "-1", "0", "2.49"),
    ("L6", "E1", "2024-03-02T00:00:00Z", "earn", "allocation", "eth", WALLET, "1", "0", "1"),
    ("L7", "R1", "2024-03-03T00:00:00Z", "earn", "reward", "eth", WALLET, "0.0001", "0", "1.0001"),
    ("L8", "S1", "2024-03-03T01:00:00Z", "transfer", "spottostaking", "DOT", "spot / main", "0", "0", "0"),
    ("L9", "H1", "2024-03-04T00:00:00Z", "deposit", "", "USD.HOLD", "spot / main", "100", "0", "100"),
    ("LA", "H2", "2024-03-05T00:00:00Z", "transfer", "", "USD.HOLD", "spot / main", "-100", "0", "0"),
    ("LB", "H2", "2024-03-05T00:00:00Z", "transfer", "", "ZUSD", "spot / main", "100", "0", "100"),
    ("LC", "Q1", "2024-03-05T00:00:00Z", "mystery", "", "\u202eCTB", None, "3", "0", "3"),
    ("LD", None, "2024-03-06T00:00:00Z", "adjustment", "", "ZUSD", "spot / main", "-0.5", "0", "99.5"),
]


@pytest.fixture()
def hostile(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        for lid, refid, time, typ, sub, asset, wallet, amount, fee, balance in ROWS:
            conn.execute(INSERT, {"account": LABEL, "ledger_id": lid, "refid": refid, "time": time, "type": typ,
                                  "subtype": sub, "asset": asset, "wallet": wallet, "amount": Decimal(amount),
                                  "fee": Decimal(fee), "balance": Decimal(balance)})
    yield engine
    engine.dispose()


def test_every_entry_is_posted_and_every_transaction_balances(synced: Synced) -> None:
    with synced.engine.connect() as conn:
        entries = conn.execute(text("SELECT count(*) FROM kraken.ledger_entry")).scalar_one()
        posted = conn.execute(text("SELECT count(*), count(DISTINCT ledger_id) FROM reporting.journal "
                                   "WHERE posting = 1")).one()
        unbalanced = conn.execute(text("SELECT account, txn_id, asset, sum(amount) FROM reporting.journal "
                                       "GROUP BY 1, 2, 3 HAVING sum(amount) <> 0")).all()
        roles = dict(conn.execute(text("SELECT role, count(*) FROM reporting.journal GROUP BY 1")).all())
        wallet_moves = conn.execute(text(
            "SELECT count(*) FROM reporting.journal WHERE type = 'earn' AND subtype <> 'reward' AND posting = 3 "
            "AND asset NOT LIKE '%.%'")).scalar_one()
    assert tuple(posted) == (entries, entries)
    assert unbalanced == []
    assert {"asset", "fee", "transfer", "conversion", "income"} <= set(roles)
    assert wallet_moves == 0  # an earn allocation moves one asset between wallets: no conversion posting


def test_hostile_names_export_and_pass_the_tools(hostile: Engine, tmp_path: Path) -> None:
    with hostile.connect() as conn:
        accounts = set(conn.execute(text("SELECT DISTINCT gl_account FROM reporting.journal")).scalars())
        unbalanced = conn.execute(text("SELECT txn_id, asset FROM reporting.journal GROUP BY 1, 2 "
                                       "HAVING sum(amount) <> 0")).all()
    assert unbalanced == []
    assert "Equity:Kraken:Unclassified" in accounts and "Equity:Kraken:Adjustments" in accounts
    assert "Income:Kraken:Earn" in accounts and "Equity:Conversions" in accounts
    assert any(":Unassigned:" in a for a in accounts)
    assert any(":Spot:USD-HOLD" in a for a in accounts)
    beancount = export_journal(hostile, tmp_path / "h.beancount", "beancount")
    checked = bean_check(beancount.path)
    assert checked.code == 0, checked.output[:3000]
    assert beancount.stats.unasserted == 1  # the entry with no wallet
    ledger = export_journal(hostile, tmp_path / "h.journal", "ledger")
    hledger = hledger_check(ledger.path)
    assert hledger.code == 0, hledger.output[:3000]
    assert ledger.stats.assertions == beancount.stats.assertions > 5


def test_an_unknown_account_is_an_error(synced: Synced, tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="nobody"):
        export_journal(synced.engine, tmp_path / "x.beancount", "beancount", accounts=[ACCOUNT, "nobody"])
    assert not (tmp_path / "x.beancount").exists()


def test_values_in_the_reporting_currency_and_price_directives(hostile: Engine, tmp_path: Path) -> None:
    with hostile.begin() as conn:
        conn.execute(text("INSERT INTO kraken.asset_identity (code, canonical, price_asset) VALUES "
                          "('ZUSD', 'USD', 'USD')"))
        conn.execute(text("INSERT INTO kraken.asset_identity (code, canonical, fixed_price, fixed_currency) VALUES "
                          "('eth', 'ETH', 2000.5, 'USD')"))
        conn.execute(text("INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, "
                          "volume, source, complete) VALUES ('ETHUSD', 1440, '2024-03-02', 'ETH', 'USD', 1, 3, 1, "
                          "2.25, 10, 'ohlc', true)"))
    result = export_journal(hostile, tmp_path / "v.csv", "csv", currency="USD")
    with (tmp_path / "v.csv").open(newline="") as handle:
        values = {(r["ledger_id"], r["memo"].rsplit("(", 1)[1].rstrip(")")): (r["value"], r["value_currency"])
                  for r in csv.DictReader(handle)}
    assert values[("LB", "asset")] == ("100", "USD")
    assert values[("L7", "income")] == ("-0.20005", "USD")  # -0.0001 eth at the fixed 2000.5
    assert values[("L1", "transfer")] == ("", "")  # no price for 1INCH: no value, never a guess
    assert result.stats.prices == 0  # the CSV carries no price rows
    beancount = export_journal(hostile, tmp_path / "v.beancount", "beancount", currency="USD")
    body = beancount.path.read_text()
    assert "2024-03-02 price ETH 2.25 USD" in body
    assert "    value: -0.20005 USD" in body
    checked = bean_check(beancount.path)
    assert checked.code == 0, checked.output[:3000]


VIEW_ROWS = text("""
SELECT j.account, j.txn_id, j.txn_time, j.refid, j.ledger_id, j.time, j.type, j.subtype, j.posting, j.role,
       j.gl_account, j.asset, j.wallet, j.amount, j.kraken_balance, j.amount * pr.price
FROM reporting.journal j
LEFT JOIN LATERAL reporting.price_at(j.asset_code, CAST(:currency AS text), j.time) pr
    ON CAST(:currency AS text) IS NOT NULL
ORDER BY j.txn_time, j.account COLLATE "C", j.txn_id COLLATE "C", j.time, j.ledger_id COLLATE "C", j.posting
""")


def _expanded(engine: Engine, currency: str | None) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The export's postings (entries of `reporting.journal_entry` expanded in Python) and the rows of
    `reporting.journal`, both in journal order, as text (the same digits, not only the same numbers)."""
    with engine.connect() as conn, conn.begin():
        view = [tuple(map(str, r)) for r in conn.execute(VIEW_ROWS, {"currency": currency})]
        made = [tuple(map(str, p)) for p in entry_postings(journal_entries(conn, accounts=None, start=None, end=None,
                                                                 currency=currency))]
    return made, view


def test_the_exports_postings_are_the_views_rows(synced: Synced) -> None:
    made, view = _expanded(synced.engine, None)
    assert len(view) > 1000 and {r[8] for r in view} == {"1", "2", "3"}
    assert made == view


def test_the_exports_postings_and_values_are_the_views_rows_on_hostile_data(hostile: Engine) -> None:
    with hostile.begin() as conn:
        conn.execute(text("INSERT INTO kraken.asset_identity (code, canonical, fixed_price, fixed_currency) VALUES "
                          "('eth', 'ETH', 2000.5, 'USD')"))
    made, view = _expanded(hostile, "USD")
    assert any(r[15] != "None" for r in view) and any(r[15] == "None" for r in view)
    assert made == view
