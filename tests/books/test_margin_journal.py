"""The journal of a margin account (profile margin-trader), checked by bean-check: its margin, rollover and settled
entries post like every other entry, and every balance assertion (Kraken's running balance) holds."""

from __future__ import annotations

from pathlib import Path

from kraken_etl.db.engine import make_engine
from kraken_etl.db.reporting import refresh_reporting
from kraken_etl.jobs.journal import export_journal
from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from kraken_etl.recon import reconcile
from tests import dbharness
from tests.books.conftest import ACCOUNT, bean_check
from tests.pipeline.conftest import make_sim


def test_a_margin_accounts_journal_passes_bean_check(pg_admin_url: str, pg_template: str, tmp_path: Path) -> None:
    sim = make_sim(seed=2, profile="margin-trader")
    with dbharness.database_copy(pg_admin_url, pg_template) as url:
        engine = make_engine(url)
        try:
            sync_account(SYNC_ORDER, client=sim.client(), engine=engine, account=ACCOUNT)
            reconcile(engine, ACCOUNT)
            refresh_reporting(engine)
            result = export_journal(engine, tmp_path / "margin.beancount", "beancount", accounts=[ACCOUNT])
        finally:
            engine.dispose()
            sim.http.close()
    checked = bean_check(result.path)
    assert checked.code == 0, checked.output[:3000]
    body = result.path.read_text()
    assert result.stats.assertions > 100 and result.stats.unasserted == 0
    assert "rollover" in body and "settled" in body
