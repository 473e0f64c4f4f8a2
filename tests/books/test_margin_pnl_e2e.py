"""`kraken-etl pnl` and reconciliation on a margin account (profile margin-trader), end to end: the simulator on
loopback, `sync`, `pnl` and `reconcile --fail-on-break` as real processes, real PostgreSQL. Every closed position
that realised a profit or loss has its `margin` disposal, the open lots equal Kraken's balances, nothing breaks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from kraken_etl.core.money import loads
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.books.test_pnl_e2e import cli
from tests.e2e.sync_support import RATE_SCALE, run_sync, sim_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    running = serve_in_thread(SimConfig(seed=2, ledger_entries=1500, tier="pro", rate_scale=RATE_SCALE,
                                        profile="margin-trader"))
    yield running
    running.stop()


def test_a_margin_account_closes_its_books_clean(sim: RunningSimulator, db_env: str, tmp_path: Path) -> None:
    env = sim_env(sim, db_env, tmp_path)
    synced = run_sync(env)
    assert synced.code == 0, synced.stderr
    done = cli(env, "pnl", "--method", "fifo", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["totals"]["shortfalls"] == 0
    ledger = loads(httpx.get(f"{sim.rest_url}/_sim/truth/ledgers").content)["ledger"]
    realised = {lid for lid, r in ledger.items() if r["type"] == "margin" and Decimal(r["amount"]) != 0}
    margin = [d for d in out["disposals"] if d["rule"] == "margin"]
    assert {e for d in margin for e in d["disposal_entries"]} == realised
    assert all(Decimal(d["cost"]) == 0 or Decimal(d["proceeds"]) == 0 for d in margin)
    done = cli(env, "reconcile", "--full", "--fail-on-break", "--json")
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr)
    [run] = json.loads(done.stdout)["runs"]
    checks = {c["name"]: c for c in run["checks"]}
    assert checks["positions"]["rows_examined"] > 0 and checks["lots"]["breaks"] == 0
