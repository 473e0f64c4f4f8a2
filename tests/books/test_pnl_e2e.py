"""`kraken-etl pnl` and the `lots` check end to end: the simulator on loopback, `sync` and `pnl` as real
processes, real PostgreSQL. The open lots equal Kraken's own running balances at every month end for every
method, and a ledger row hidden from the copy is found by the lots it leaves short."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from sqlalchemy import text

from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import RATE_SCALE, REPO, run_sync, sim_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture(scope="module", params=(5, 77), ids=lambda s: f"seed{s}")
def sim(request: pytest.FixtureRequest) -> Iterator[RunningSimulator]:
    running = serve_in_thread(SimConfig(seed=request.param, ledger_entries=3000, tier="pro", rate_scale=RATE_SCALE))
    yield running
    running.stop()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **env, "COLUMNS": "200", "NO_COLOR": "1"}, timeout=600, check=False)


def lots_findings(env: dict[str, str]) -> list[dict]:
    done = cli(env, "reconcile", "--check", "lots", "--full", "--json")
    assert done.returncode == 0, done.stderr
    [run] = json.loads(done.stdout)["runs"]
    return [f for f in run["open_findings"] if f["check"] == "lots"]


def test_open_lots_equal_krakens_balances_then_a_hidden_row_shows(sim: RunningSimulator, db_env: str,
                                                                    tmp_path: Path) -> None:
    env = sim_env(sim, db_env, tmp_path)
    synced = run_sync(env)
    assert synced.code == 0, synced.stderr
    for method in ("fifo", "uk", "average"):
        done = cli(env, "pnl", "--method", method, "--json")
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["totals"]["disposals"] > 100 and out["totals"]["shortfalls"] == 0
        with localcontext(prec=200):  # exact, whatever precision an oracle's import left in this process
            assert Decimal(out["totals"]["gain"]) == sum(Decimal(d["gain"]) for d in out["disposals"])
        first = out["disposals"][0]
        assert set(first) >= {"asset", "disposed_at", "amount", "proceeds", "cost", "fees", "gain", "rule",
                              "acquired_at", "disposal_entries"}
    clean = lots_findings(env)
    assert clean == [], [(f["asset"], f["message"]) for f in clean][:12]

    engine = make_engine(db_env)
    try:
        with engine.begin() as conn:
            hidden = conn.execute(text(
                "DELETE FROM kraken.ledger_entry WHERE ctid = (SELECT ctid FROM kraken.ledger_entry "
                "WHERE account = 'main' AND type = 'trade' AND amount > 0 "
                "AND reporting.normalize_asset(asset) IN ('BTC', 'ETH', 'SOL') ORDER BY time LIMIT 1 OFFSET 40) "
                "RETURNING ledger_id, reporting.normalize_asset(asset) AS asset, amount - fee AS net")).one()
    finally:
        engine.dispose()
    done = cli(env, "pnl", "--method", "fifo", "--json")
    assert done.returncode == 0, done.stderr
    found = lots_findings(env)
    short = [f for f in found if f["kind"] == "lots_vs_balance" and f["asset"] == hidden.asset]
    assert short, found
    assert Decimal(short[0]["difference"]) == -hidden.net
