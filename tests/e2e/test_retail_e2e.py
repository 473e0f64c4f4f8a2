"""The `retail-2019-2025` profile end to end: the simulator on loopback, `sync`, `reconcile --fail-on-break`
and `pnl` as real processes against a real PostgreSQL. The copy equals the simulator's truth, the gate
passes, and the books take every shape without a shortfall."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import RATE_SCALE, REPO, run_sync, sim_env, truths
from tests.pipeline.truth import compare_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    running = serve_in_thread(SimConfig(seed=31, ledger_entries=600, history_days=2_500, tier="pro",
                                        rate_scale=RATE_SCALE, profile="retail-2019-2025"))
    yield running
    running.stop()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **env, "COLUMNS": "200", "NO_COLOR": "1"}, timeout=300, check=False)


def test_a_retail_account_syncs_to_the_truth_and_passes_the_gate(sim: RunningSimulator, db_env: str,
                                                                 tmp_path: Path) -> None:
    env = sim_env(sim, db_env, tmp_path)
    synced = run_sync(env)
    assert synced.code == 0, synced.stderr
    engine = make_engine(db_env)
    try:
        assert compare_all(engine, "main", truths(sim)) == []
    finally:
        engine.dispose()
    gate = cli(env, "reconcile", "--fail-on-break", "--json")
    assert gate.returncode == 0, (gate.stdout[-3000:], gate.stderr)
    [run] = json.loads(gate.stdout)["runs"]
    kinds = {(f["kind"], f["severity"]) for f in run["open_findings"]}
    assert kinds <= {("unknown_ledger_type", "info")}, kinds
    pnl = cli(env, "pnl", "--method", "fifo", "--json")
    assert pnl.returncode == 0, pnl.stderr
    totals = json.loads(pnl.stdout)["totals"]
    assert totals["disposals"] > 0 and totals["shortfalls"] == 0
