"""`kraken-etl reconcile` and `reconcile ack` as real processes against a real database; `status` shows
the last run. Exit codes: 0 done, 1 breaks with --fail-on-break, 2 error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from tests.pipeline.conftest import make_sim


def _cli(db_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(home), COLUMNS="220", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def test_reconcile_cli_table_json_exit_codes_ack_and_status(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    try:
        sim = make_sim(seed=51, ledger_entries=400, history_days=200)
        sim.faults("vol_exec_mismatch=1,seed=2")
        sync_account(SYNC_ORDER, client=sim.client(), engine=engine, account="treasury")
    finally:
        engine.dispose()
    (order,) = sim.http.get("/_sim/faults").json()["vol_exec_mismatch"]

    shown = _cli(db_url, tmp_path, "reconcile", "--as-of", "2026-11-03")
    assert shown.returncode == 0, shown.stderr
    assert "balance_chain" in shown.stdout and "order_trades" in shown.stdout and order in shown.stdout

    failing = _cli(db_url, tmp_path, "reconcile", "--account", "treasury", "--json", "--fail-on-break")
    assert failing.returncode == 1, failing.stderr
    (run,) = json.loads(failing.stdout)["runs"]
    assert run["account"] == "treasury" and run["incremental"] is True and run["breaks"] == 1
    (finding,) = run["open_findings"]
    assert (finding["kind"], finding["source_ids"]) == ("order_mismatch", [order])
    assert finding["difference"] == "-0.00001000"

    acked = _cli(db_url, tmp_path, "reconcile", "ack", str(finding["id"]), "--note", "fee rebate, ticket 42")
    assert acked.returncode == 0, acked.stderr
    missing = _cli(db_url, tmp_path, "reconcile", "ack", "987654", "--note", "x")
    assert missing.returncode == 2 and "no reconciliation finding" in missing.stderr
    assert "Traceback" not in missing.stderr

    bad = _cli(db_url, tmp_path, "reconcile", "--check", "nonsense")
    assert bad.returncode == 2 and "unknown check" in bad.stderr and "Traceback" not in bad.stderr

    again = _cli(db_url, tmp_path, "reconcile", "--json")
    (run,) = json.loads(again.stdout)["runs"]
    assert run["open_findings"][0]["acknowledged"] == "fee rebate, ticket 42"

    status = _cli(db_url, tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert "last reconciliation of treasury" in status.stdout and "1 open break(s)" in status.stdout

    check = make_engine(db_url)
    try:
        with check.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM kraken.reconciliation_finding")).scalar_one() == 1
    finally:
        check.dispose()
