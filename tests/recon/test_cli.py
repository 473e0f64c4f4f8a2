"""`kraken-etl reconcile` and `reconcile ack` as real processes against a real database; `status` shows
the last run. Exit codes: 0 done, 1 breaks with --fail-on-break, 2 error, 3 nothing to reconcile with
--fail-on-break."""

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
from tests.exports.test_duplicates import HEADER, _row
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

    assert finding["acknowledged"] is None and finding["acknowledgements"] == []
    assert run["open"] == {"breaks": 1, "warnings": 0, "info": 0, "acknowledged": 0}
    first = _cli(db_url, tmp_path, "reconcile", "ack", str(finding["id"]), "--note", "asked support")
    assert first.returncode == 0, first.stderr
    acked = _cli(db_url, tmp_path, "reconcile", "ack", str(finding["id"]), "--note", "fee rebate, ticket 42")
    assert acked.returncode == 0, acked.stderr
    assert "acknowledged (its 1 earlier note(s) kept)" in acked.stdout
    by_set = _cli(db_url, tmp_path, "reconcile", "ack", "--account", "treasury", "--check", "coverage", "--note", "x")
    assert by_set.returncode == 2 and "no open findings of account 'treasury' and check 'coverage'" in by_set.stderr
    missing = _cli(db_url, tmp_path, "reconcile", "ack", "987654", "--note", "x")
    assert missing.returncode == 2 and "no reconciliation finding" in missing.stderr
    assert "Traceback" not in missing.stderr

    bad = _cli(db_url, tmp_path, "reconcile", "--check", "nonsense")
    assert bad.returncode == 2 and "unknown check" in bad.stderr and "Traceback" not in bad.stderr

    again = _cli(db_url, tmp_path, "reconcile", "--json")
    (run,) = json.loads(again.stdout)["runs"]
    assert run["open_findings"][0]["acknowledged"] == "fee rebate, ticket 42"
    notes = [a["note"] for a in run["open_findings"][0]["acknowledgements"]]
    assert notes == ["asked support", "fee rebate, ticket 42"]
    assert run["open"]["acknowledged"] == 1
    table = _cli(db_url, tmp_path, "reconcile", "--account", "treasury")
    assert "treasury: BREAKS; open: 1 break, 0 warnings, 0 info (1 acknowledged)" in table.stdout
    assert "fee rebate, ticket 42" in table.stdout and "2 notes" in table.stdout

    status = _cli(db_url, tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert "last reconciliation of treasury" in status.stdout
    assert "open: 1 break(s), 0 warning(s), 0 info (1 acknowledged)" in status.stdout

    check = make_engine(db_url)
    try:
        with check.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM kraken.reconciliation_finding")).scalar_one() == 1
    finally:
        check.dispose()


def test_an_account_without_stored_data_is_an_error_naming_the_known_ones(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "demo.csv"
    path.write_text(HEADER + _row(1, "1.0000") + _row(2, "1.0000"))  # balances 101, 102: a chain from 100
    assert _cli(db_url, tmp_path, "import", str(path), "--account", "demo").returncode == 0
    typo = _cli(db_url, tmp_path, "reconcile", "--account", "dmeo", "--fail-on-break")
    assert typo.returncode == 2, typo.stdout
    assert "'dmeo': no stored ledger entries or trades; known accounts: demo; did you mean 'demo'?" in typo.stderr
    assert "clean" not in typo.stdout and "Traceback" not in typo.stderr
    mixed = _cli(db_url, tmp_path, "reconcile", "--account", "demo", "--account", "nobody")
    assert mixed.returncode == 2 and "'nobody'" in mixed.stderr
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:  # nothing recorded: neither the typo nor the known account beside it
            assert conn.execute(text("SELECT count(*) FROM kraken.reconciliation_run")).scalar_one() == 0
    finally:
        engine.dispose()
    ok = _cli(db_url, tmp_path, "reconcile", "--account", "demo", "--fail-on-break")
    assert ok.returncode == 0, ok.stderr
    assert "demo: clean; open: 0 breaks, 0 warnings, 2 info" in ok.stdout  # the partial chain, no snapshot


def test_nothing_to_reconcile_fails_the_gate_with_its_own_exit_code(db_url: str, tmp_path: Path) -> None:
    gate = _cli(db_url, tmp_path, "reconcile", "--fail-on-break")
    assert gate.returncode == 3, (gate.stdout, gate.stderr)
    assert "nothing to reconcile" in gate.stdout
    as_json = _cli(db_url, tmp_path, "reconcile", "--fail-on-break", "--json")
    assert as_json.returncode == 3 and json.loads(as_json.stdout) == {"runs": []}
    plain = _cli(db_url, tmp_path, "reconcile")
    assert plain.returncode == 0 and "nothing to reconcile" in plain.stdout
    typo = _cli(db_url, tmp_path, "reconcile", "--account", "demo")
    assert typo.returncode == 2 and "known accounts: none" in typo.stderr
