"""The journal of a margin account (profile margin-trader), checked by bean-check: its margin, rollover and settled
entries post like every other entry, and every balance assertion (Kraken's running balance) holds."""

from __future__ import annotations

from pathlib import Path

from kraken_etl.jobs.journal import export_journal
from tests.books.conftest import ACCOUNT, bean_check, synced_account


def test_a_margin_accounts_journal_passes_bean_check(pg_admin_url: str, pg_template: str, tmp_path: Path) -> None:
    with synced_account(pg_admin_url, pg_template, seed=2, profile="margin-trader") as account:
        result = export_journal(account.engine, tmp_path / "margin.beancount", "beancount", accounts=[ACCOUNT])
    checked = bean_check(result.path)
    assert checked.code == 0, checked.output[:3000]
    body = result.path.read_text()
    assert result.stats.assertions > 100 and result.stats.unasserted == 0
    assert "rollover" in body and "settled" in body
