"""The journal of a simulated account, checked by the accounting tools themselves: bean-check and hledger
accept every transaction and every balance assertion (Kraken's own running balance), for the whole history
and for one year standing alone; a planted fault makes bean-check fail on the right account and date."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.core.period import resolve_period
from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.journal import export_journal
from tests import dbharness
from tests.books.conftest import ACCOUNT, Synced, bean_check, hledger_check

NOW = datetime(2026, 12, 1, tzinfo=UTC)
YEAR = ("2025-06-01", "2026-05-31")


def test_beancount_whole_history_passes_bean_check(synced: Synced, tmp_path: Path) -> None:
    result = export_journal(synced.engine, tmp_path / "all.beancount", "beancount", accounts=[ACCOUNT])
    checked = bean_check(result.path)
    assert checked.code == 0, checked.output[:3000]
    assert checked.output == ""
    assert result.stats.assertions > 300
    assert result.stats.unasserted == 0
    body = result.path.read_text()
    assert body.count(" balance Assets:Kraken:Main:") == result.stats.assertions
    entries = synced.engine.connect().execute(text("SELECT count(*) FROM kraken.ledger_entry")).scalar_one()
    assert body.count("\n  Assets:Kraken:") == entries  # every ledger entry has its asset posting


def test_beancount_one_year_stands_alone(synced: Synced, tmp_path: Path) -> None:
    period = resolve_period(*YEAR, now=NOW)
    result = export_journal(synced.engine, tmp_path / "year.beancount", "beancount", accounts=[ACCOUNT],
                            period=period)
    checked = bean_check(result.path)
    assert checked.code == 0, checked.output[:3000]
    assert result.stats.openings > 5  # the year opens with the balances carried in
    assert result.stats.first_day == period.first_day
    assert result.stats.last_day is not None and result.stats.last_day <= period.last_day
    assert result.stats.assertions > 100


@pytest.mark.parametrize("period", [None, YEAR], ids=["whole-history", "one-year"])
def test_ledger_export_passes_hledger_check(synced: Synced, tmp_path: Path, period: tuple[str, str] | None) -> None:
    resolved = resolve_period(*period, now=NOW) if period else None
    result = export_journal(synced.engine, tmp_path / "books.journal", "ledger", accounts=[ACCOUNT],
                            period=resolved)
    checked = hledger_check(result.path)
    assert checked.code == 0, checked.output[:3000]
    assert result.path.read_text().count(" = ") == result.stats.assertions > 100


def test_csv_has_one_row_per_posting_and_balances(synced: Synced, tmp_path: Path) -> None:
    result = export_journal(synced.engine, tmp_path / "books.csv", "csv", accounts=[ACCOUNT])
    with result.path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == result.stats.postings
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        assert (row["debit"] == "") != (row["credit"] == "")
        totals[(row["refid"] or row["ledger_id"], row["commodity"])] += Decimal(row["debit"] or 0) - Decimal(
            row["credit"] or 0)
        assert row["ledger_id"]
    assert {k: v for k, v in totals.items() if v != 0} == {}


# --- planted faults -------------------------------------------------------------------------------------------

@pytest.fixture()
def faulty(synced: Synced, pg_admin_url: str) -> Iterator[Engine]:
    """A copy of the synced database, for one planted fault."""
    name = synced.engine.url.database
    synced.engine.dispose()  # a template must have no open connection
    with dbharness.database_copy(pg_admin_url, name) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _failures(path: Path, output: str) -> list[tuple[str, str]]:
    """(date, account) of each balance directive bean-check reports as failed, in file order."""
    lines = path.read_text().splitlines()
    found = []
    for match in re.finditer(r":(\d+):\s+Balance failed for '([^']+)'", output):
        directive = lines[int(match.group(1)) - 1]
        found.append((directive.split()[0], match.group(2)))
    return found


# An entry with an earlier one and a later one of the same asset and wallet, the later on the same day.
_HIDDEN = """
SELECT l.ledger_id, (l.time AT TIME ZONE 'UTC')::date AS day, l.asset, l.wallet_resolved
FROM kraken.ledger_entry l
WHERE EXISTS (
    SELECT 1 FROM kraken.ledger_entry n WHERE n.account = l.account AND n.asset = l.asset
      AND n.wallet_resolved = l.wallet_resolved AND n.time > l.time
      AND (n.time AT TIME ZONE 'UTC')::date = (l.time AT TIME ZONE 'UTC')::date)
  AND EXISTS (SELECT 1 FROM kraken.ledger_entry p WHERE p.account = l.account AND p.asset = l.asset
      AND p.wallet_resolved = l.wallet_resolved AND p.time < l.time)
ORDER BY l.time LIMIT 1 OFFSET 20
"""

# The last entry of its asset and wallet on its day (alone at that moment).
_LAST_OF_DAY = """
SELECT ledger_id, day, asset, wallet_resolved FROM (
    SELECT l.ledger_id, (l.time AT TIME ZONE 'UTC')::date AS day, l.asset, l.wallet_resolved, l.time,
           max(l.time) OVER (PARTITION BY l.asset, l.wallet_resolved, (l.time AT TIME ZONE 'UTC')::date) AS last,
           count(*) OVER (PARTITION BY l.asset, l.wallet_resolved, l.time) AS same_time
    FROM kraken.ledger_entry l WHERE l.type = 'trade'
) x WHERE time = last AND same_time = 1 ORDER BY time LIMIT 1 OFFSET 40
"""


def _account_of(engine: Engine, ledger_id: str) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT gl_account FROM reporting.journal WHERE ledger_id = :i AND posting = 1"),
                            {"i": ledger_id}).scalar_one()


def test_a_hidden_ledger_row_fails_bean_check_on_its_account_and_day(faulty: Engine, tmp_path: Path) -> None:
    with faulty.begin() as conn:
        ledger_id, day, _, _ = conn.execute(text(_HIDDEN)).one()
    account = _account_of(faulty, ledger_id)
    with faulty.begin() as conn:
        conn.execute(text("DELETE FROM kraken.ledger_entry WHERE ledger_id = :i"), {"i": ledger_id})
    result = export_journal(faulty, tmp_path / "hidden.beancount", "beancount", accounts=[ACCOUNT])
    checked = bean_check(result.path)
    assert checked.code != 0
    failures = _failures(result.path, checked.output)
    assert failures[0] == (str(day + timedelta(days=1)), account), checked.output[:2000]
    assert {a for _, a in failures} == {account}  # only that account, from that day on


def test_a_drifted_balance_fails_bean_check_on_its_account_and_day(faulty: Engine, tmp_path: Path) -> None:
    with faulty.begin() as conn:
        ledger_id, day, _, _ = conn.execute(text(_LAST_OF_DAY)).one()
        conn.execute(text("UPDATE kraken.ledger_entry SET balance = balance + 0.0001 WHERE ledger_id = :i"),
                     {"i": ledger_id})
    account = _account_of(faulty, ledger_id)
    result = export_journal(faulty, tmp_path / "drift.beancount", "beancount", accounts=[ACCOUNT])
    checked = bean_check(result.path)
    assert checked.code != 0
    assert _failures(result.path, checked.output) == [(str(day + timedelta(days=1)), account)], checked.output[:2000]
