"""The REST wallet-suffix knob: earn rows named `XBT.F`/`SOL.B`/`ETH.M` get their wallet from the suffix
and reconcile clean, balances compared per suffixed asset."""

from __future__ import annotations

from sqlalchemy import Engine, text

from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from kraken_etl.recon import reconcile
from tests.pipeline.conftest import make_sim


def test_suffixed_earn_assets_reconcile_clean(engine: Engine) -> None:
    for seed in (71, 72):
        sim = make_sim(seed=seed, ledger_entries=600, history_days=200, rest_wallet_suffix=True)
        sync_account(SYNC_ORDER, client=sim.client(), engine=engine, account=f"s{seed}")
        result = reconcile(engine, f"s{seed}", clock=sim.clock)
        assert [f.message for f in result.open_findings] == []
        with engine.connect() as conn:
            sources = dict(conn.execute(text(
                "SELECT wallet_source, count(*) FROM kraken.ledger_entry WHERE account = :a AND asset LIKE '%.F' "
                "GROUP BY 1"), {"a": f"s{seed}"}).all())
            snap = conn.execute(text("SELECT count(*) FROM kraken.balance_snapshot WHERE account = :a "
                                     "AND asset LIKE '%.F'"), {"a": f"s{seed}"}).scalar_one()
        assert set(sources) == {"suffix"} and sources["suffix"] > 0
        assert snap > 0
