"""The journal of a simulated account, checked by the accounting tools themselves: bean-check and hledger
accept every transaction and every balance assertion (Kraken's own running balance), for the whole history
and for one year standing alone."""

from __future__ import annotations

from pathlib import Path

from kraken_etl.core.period import resolve_period
from kraken_etl.jobs.journal import export_journal
from tests.books.conftest import ACCOUNT, Synced, bean_check, hledger_check


def test_beancount_whole_history_passes_bean_check(synced: Synced, tmp_path: Path) -> None:
    result = export_journal(synced.engine, tmp_path / "all.beancount", "beancount", accounts=[ACCOUNT])
    checked = bean_check(result.path)
    assert checked.code == 0, checked.output[:3000]
    assert checked.output == ""
    assert result.stats.assertions > 100
    assert result.stats.unasserted == 0
    assert result.stats.transactions > 500
