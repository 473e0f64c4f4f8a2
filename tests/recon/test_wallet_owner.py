"""Wallet assignment has one owner: whoever hands a wallet in (reconciliation's rules, or the listener
after a gap fill), the row's chain reaches the next incremental balance-chain check."""

from __future__ import annotations

from sqlalchemy import Engine, text

from kraken_etl.core.clock import utcnow
from kraken_etl.core.wsrecords import WsBalanceUpdate
from kraken_etl.db.ws import store_batch
from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from kraken_etl.listen.gapfill import assign_listener_wallets  # the hand-off a gap fill makes
from kraken_etl.recon.chain import check_balance_chain
from kraken_etl.recon.check import CheckInput
from kraken_etl.recon.wallets import assign_wallets
from tests.pipeline.conftest import make_sim


def test_listener_and_recon_wallets_both_reach_the_incremental_chain_check(engine: Engine) -> None:
    sim = make_sim(seed=43, ledger_entries=300, history_days=120)
    sync_account(SYNC_ORDER, client=sim.client(), engine=engine, account="main")
    with engine.begin() as conn:
        since = conn.execute(text("SELECT now()")).scalar_one()  # a watermark after the rows were stored
        # a ZUSD row in the middle of its history, alone in its second
        row = conn.execute(text("""
            SELECT ledger_id, refid, time, type, amount, fee, balance FROM (
                SELECT e.*, row_number() OVER (ORDER BY time, ledger_id) AS k, count(*) OVER () AS n
                FROM kraken.ledger_entry e WHERE account = 'main' AND asset = 'ZUSD') x
            WHERE k > n / 2 AND NOT EXISTS (
                SELECT 1 FROM kraken.ledger_entry o WHERE o.asset = 'ZUSD' AND o.ledger_id <> x.ledger_id
                  AND date_trunc('second', o.time) = date_trunc('second', x.time))
            ORDER BY k LIMIT 1""")).one()
    with engine.begin() as conn:  # the listener saw that movement in an earn wallet, and hands it in
        store_batch(conn, "main", balance_updates=[WsBalanceUpdate(
            row.ledger_id, row.refid, row.time, row.type, None, None, "ZUSD", "currency", "earn", "flexible",
            row.amount, row.fee, row.balance, None, {})])
        assert assign_listener_wallets(conn, "main") == 1
    with engine.begin() as conn:  # reconciliation places every other row (balance continuity)
        assert assign_wallets(conn, "main", None) > 0
        placed = dict(conn.execute(text(
            "SELECT wallet_source, count(*) FROM kraken.ledger_entry WHERE account = 'main' "
            "GROUP BY wallet_source")).all())
        assert placed["listener"] == 1 and placed["continuity"] > 1
        report = check_balance_chain(CheckInput(conn, "main", utcnow(sim.clock), since))
    assert report.scopes is not None
    assert {"ZUSD|spot / main", "ZUSD|earn / flexible"} <= set(report.scopes)
    # the moved row opens the earn chain from zero (the asset's history is complete) and leaves a gap in spot
    breaks = {f.wallet for f in report.findings if f.asset == "ZUSD" and f.kind == "chain_break"}
    assert breaks == {"earn / flexible", "spot / main"}
