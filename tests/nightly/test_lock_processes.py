"""The account lock across processes: `kraken-etl sync` as real processes against the simulator on loopback.

One run holds the account, the other exits at once with one line naming it (exit code 3); `kill -9` of the
holder frees the account at once; two syncs started together leave no duplicate row, lose nothing and
never see a nonce error.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kraken_etl.db.engine import make_engine
from kraken_etl.db.locks import account_lock, lock_is_held
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import REPO, run_sync, sim_env, truths
from tests.pipeline.truth import compare_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    running = serve_in_thread(SimConfig(seed=13, ledger_entries=1_500, tier="pro", rate_scale=200.0))
    yield running
    running.stop()


def _holder(db_url: str, label: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.nightly.hold_lock", db_url, label], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_busy_account_exits_with_one_line_and_kill_9_of_the_holder_frees_it(
    sim: RunningSimulator, db_url: str, tmp_path: Path
) -> None:
    env = sim_env(sim, db_url, tmp_path)
    holder = _holder(db_url, "main")
    try:
        busy = run_sync(env)
        assert busy.code == 3, busy.stderr
        lines = [line for line in busy.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "account 'main' is busy" in lines[0] and "kraken-etl holder main" in lines[0]
        assert "Traceback" not in busy.stderr and sim.api_secret not in busy.stderr + busy.stdout
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
    engine = make_engine(db_url)
    try:
        # account_lock never waits: it raises AccountBusy unless the server has already ended the killed
        # holder's session, so entering it proves the lock was freed with the process.
        with account_lock(engine, "main"):
            pass
        done = run_sync(env)
        assert done.code == 0, done.stderr
        assert compare_all(engine, "main", truths(sim)) == []
    finally:
        engine.dispose()


def test_two_syncs_started_together_double_nothing_and_lose_nothing(
    sim: RunningSimulator, db_url: str, tmp_path: Path
) -> None:
    env = sim_env(sim, db_url, tmp_path)
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: run_sync(env), range(2)))
    codes = sorted(r.code for r in runs)
    assert codes in ([0, 0], [0, 3]), [r.stderr for r in runs]
    for run in runs:
        assert "Invalid nonce" not in run.stderr and "Traceback" not in run.stderr
        if run.code == 3:
            assert "account 'main' is busy" in run.stderr
    again = run_sync(env)  # whichever run was turned away, the account is free now and nothing is missing
    assert again.code == 0, again.stderr
    engine = make_engine(db_url)
    try:
        assert not lock_is_held(engine, "main")
        assert compare_all(engine, "main", truths(sim)) == []  # compare_all also fails on an extra row
    finally:
        engine.dispose()
