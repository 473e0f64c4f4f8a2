"""kill -9 during poll, download and load; the rerun completes with exactly one AddExport and no duplicates.

The backfill runs in a subprocess (`tests/exports/crashing_backfill.py`, a test seam) that SIGKILLs itself
at a named step; the simulator runs in this process with a manual clock, so "still Queued" lasts exactly
until the test moves the clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from kraken_etl.core.money import loads
from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import RunningSimulator, serve_in_thread
from tests.exports.conftest import sim_config
from tests.exports.test_backfill import add_exports

REPO = Path(__file__).resolve().parents[2]
START = "2026-06-01T00:00:00+00:00"
END = "2026-11-02T00:00:00+00:00"


@pytest.fixture(scope="module")
def crash_sim() -> Iterator[RunningSimulator]:
    # 12,000 ledger rows: several load batches of the export file and a multi-chunk download
    with serve_in_thread(sim_config(ledger_entries=12_000, history_days=150)) as running:
        yield running


def run(sim: RunningSimulator, db_url: str, home: Path, kill_at: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "SIM_KEY": sim.api_key, "SIM_SECRET": sim.api_secret}
    return subprocess.run(
        [sys.executable, "-m", "tests.exports.crashing_backfill", sim.rest_url, "acct", START, END, str(home),
         kill_at],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False,
    )


def job_state(db_url: str) -> list[tuple[str, str | None]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT status, kraken_id FROM kraken.export_job"))]
    finally:
        engine.dispose()


def ledger_count(db_url: str) -> tuple[int, int]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text(
                "SELECT count(*), count(DISTINCT ledger_id) FROM kraken.ledger_entry")).one())  # type: ignore[return-value]
    finally:
        engine.dispose()


def truth_ids(sim: RunningSimulator) -> set[str]:
    """Every ledger id of the account (the backfill range covers its whole 150-day history)."""
    return set(loads(httpx.get(f"{sim.rest_url}/_sim/truth/ledgers").content)["ledger"])


@pytest.mark.parametrize("kill_at", ["poll", "download", "load"])
def test_kill_9_then_rerun_completes_with_one_add_export(
    crash_sim: RunningSimulator, db_url: str, tmp_path: Path, kill_at: str
) -> None:
    sim = crash_sim
    before = add_exports(sim)
    if kill_at == "poll":
        first = run(sim, db_url, tmp_path, "poll")
        assert first.returncode == -signal.SIGKILL, first.stderr
        ((status, kraken_id),) = job_state(db_url)
        assert status == "queued" and kraken_id
        sim.ctx.clock.advance(3600)
    else:
        killed = _run_after_processed(sim, db_url, tmp_path, kill_at)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        ((status, kraken_id),) = job_state(db_url)
        assert status == ("processed" if kill_at == "download" else "downloaded")
        assert ledger_count(db_url) == (0, 0), "a killed load committed nothing"
        if kill_at == "download":
            assert list(tmp_path.rglob("*.part")), "the partial download is left as .part, never as .zip"
    rerun = run(sim, db_url, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert add_exports(sim) - before == 1, "exactly one AddExport for the range"
    assert job_state(db_url) == [("removed", kraken_id)]
    total, distinct = ledger_count(db_url)
    assert total == distinct == len(truth_ids(sim))
    again = run(sim, db_url, tmp_path)
    assert again.returncode == 0 and add_exports(sim) - before == 1
    assert ledger_count(db_url) == (total, distinct)


def _run_after_processed(
    sim: RunningSimulator, db_url: str, home: Path, kill_at: str
) -> subprocess.CompletedProcess[str]:
    """Start the backfill, and move the simulator's clock past processing while it polls."""
    env = {**os.environ, "DATABASE_URL": db_url, "SIM_KEY": sim.api_key, "SIM_SECRET": sim.api_secret}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.exports.crashing_backfill", sim.rest_url, "acct", START, END, str(home),
         kill_at],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if sim.ctx.exports.jobs:
            sim.ctx.clock.advance(3600)
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
