"""`kraken-etl demo` end to end (subprocess, real PostgreSQL, simulator on loopback, Prefect flow), twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from starlette.testclient import TestClient

from kraken_etl.db.engine import make_engine
from kraken_etl.jobs import demo
from kraken_etl.simulator import SimConfig, create_app
from models import ExportJobRow, LedgerEntryRow, ReconciliationFindingRow, SyncRunRow, TradeRow


def _run_demo(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kraken_etl", "demo"], env=env, capture_output=True, text=True, timeout=600
    )


def _truth_ids(kind: str, key: str) -> set[str]:
    app = create_app(SimConfig(seed=demo.SEED, ledger_entries=demo.LEDGER_ENTRIES))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        return set(client.get(f"/_sim/truth/{kind}").json()[key])


def test_demo_loads_the_account_and_a_second_run_is_incremental(db_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_")}
    env.update(DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(tmp_path), PREFECT_HOME=str(tmp_path / "prefect"))

    first = _run_demo(env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "rows per table" in first.stdout
    assert "psql" in first.stdout
    assert "nightly flow done through Prefect" in first.stdout  # the same nightly flow as the deployment
    assert "reconciliation: open: 0 breaks, " in first.stdout and "report:" in first.stdout  # by severity

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ledger_ids = set(conn.execute(select(LedgerEntryRow.ledger_id)).scalars())
            trade_ids = set(conn.execute(select(TradeRow.txid)).scalars())
            jobs = conn.execute(select(func.count()).select_from(ExportJobRow)).scalar_one()
            runs = conn.execute(select(func.count()).select_from(SyncRunRow)).scalar_one()
            breaks = conn.execute(select(ReconciliationFindingRow.message).where(
                ReconciliationFindingRow.severity == "break", ReconciliationFindingRow.status == "open")).scalars()
            assert list(breaks) == []  # the simulator's account is clean: the nightly reconcile proves it
        assert ledger_ids == _truth_ids("ledgers", "ledger")
        assert trade_ids == _truth_ids("trades", "trades")
        assert jobs == 2  # one export per report

        second = _run_demo(env)
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(ExportJobRow)).scalar_one() == jobs
            assert conn.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one() == len(ledger_ids)
            inserted = conn.execute(
                select(func.coalesce(func.sum(SyncRunRow.inserted), 0)).where(
                    SyncRunRow.id > runs, SyncRunRow.stream != "balances"  # a snapshot is new every run
                )
            ).scalar_one()
        assert inserted == 0
    finally:
        engine.dispose()
    secret = SimConfig(seed=demo.SEED).default_key.secret
    assert secret not in first.stdout + first.stderr + second.stdout + second.stderr
