"""`kraken-etl backfill --dry-run` as a person runs it: the plan is printed, nothing is requested."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import REPO, sim_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve_in_thread(SimConfig(seed=41, ledger_entries=1_500, tier="pro", rate_scale=200.0)) as running:
        yield running


def test_dry_run_prints_the_plan_and_requests_no_export(sim: RunningSimulator, db_env: str, tmp_path: Path) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    proc = subprocess.run(
        [sys.executable, "-m", "kraken_etl", "backfill", "--from", "2000-01-01", "--to", tomorrow, "--via", "export",
         "--dry-run"],
        cwd=REPO, env={**os.environ, **sim_env(sim, db_env, tmp_path), "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    plan = [line for line in proc.stdout.splitlines() if " plan: " in line]
    streams = {line.split(" plan: ")[1].split()[0] for line in plan[:-1]}
    assert streams == {"ledgers", "trades", "closed_orders", "order_amends"}
    assert "4 steps, 2 exports" in plan[-1]
    assert httpx.get(f"{sim.rest_url}/_sim/stats").json()["add_export_requests"] == 0
    assert sim.api_secret not in proc.stdout + proc.stderr
