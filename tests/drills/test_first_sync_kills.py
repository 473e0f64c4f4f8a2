"""A first sync walked in committed sub-windows, killed (SIGKILL, a real process) at seeded calls: each rerun
resumes every stream at its last committed sub-window, the end equals the simulator's truth, and the calls
in all are fewer than restarting from zero would make."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.core.timeutil import to_unix
from kraken_etl.jobs.streams import BY_NAME
from kraken_etl.simulator import RunningSimulator, SimConfig, create_app, serve_in_thread
from tests import dbharness
from tests.drills.calllog import CallLog, LoggingMiddleware
from tests.drills.crash import REPO, cli_env
from tests.drills.invariants import after_kill
from tests.e2e.sync_support import truths
from tests.pipeline.truth import compare_closed_orders, compare_ledgers, compare_trades

pytestmark = pytest.mark.timeout(900)
STREAMS = ("ledgers", "trades", "closed_orders")
METHODS = {"ledgers": "Ledgers", "trades": "TradesHistory", "closed_orders": "ClosedOrders"}
ENTRIES, WINDOW_ROWS = 10_000, 1_000  # ten committed sub-windows of ledgers
ARGS = ["sync", *(a for s in STREAMS for a in ("--stream", s)), "--window-rows", str(WINDOW_ROWS)]
KILLS = 3


@pytest.fixture(scope="module")
def logged_sim() -> Iterator[tuple[RunningSimulator, CallLog]]:
    config = SimConfig(seed=28, ledger_entries=ENTRIES, tier="pro", rate_scale=200.0)
    app = create_app(config)
    log = CallLog()
    app.add_middleware(LoggingMiddleware, log=log)
    with serve_in_thread(config, app=app) as sim:
        yield sim, log


@pytest.fixture()
def scratch_url(pg_admin_url: str, pg_template: str) -> Iterator[str]:
    with dbharness.database_copy(pg_admin_url, pg_template) as url:
        yield url


def bookmarks(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT stream, bookmark FROM kraken.sync_state")).all())  # type: ignore[arg-type]


def run(env: dict[str, str], log: CallLog, kill_at: int | None = None) -> tuple[int, int]:
    """One `sync` (killed at its `kill_at`-th private call when given); (exit code, private calls)."""
    log.reset()
    proc = subprocess.Popen([sys.executable, "-m", "kraken_etl", *ARGS], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if kill_at is not None:
        log.arm(proc.pid, kill_at)
    _, err = proc.communicate(timeout=600)
    assert kill_at is not None or proc.returncode == 0, err[-2000:]
    return proc.returncode, log.total


def test_a_first_sync_killed_at_seeded_calls_resumes_each_time_and_ends_equal_to_the_truth(
    logged_sim: tuple[RunningSimulator, CallLog], db_url: str, scratch_url: str, engine: Engine, tmp_path: Path
) -> None:
    sim, log = logged_sim
    # a clean first sync from zero, on a scratch database: what a restart from zero costs
    _, from_zero = run(cli_env(sim, scratch_url, tmp_path / "scratch"), log)
    assert log.calls["Ledgers"] >= math.ceil(ENTRIES / 50)

    env = cli_env(sim, db_url, tmp_path / "home")
    rng = random.Random(28)
    killed_calls = []
    for _ in range(KILLS):
        before = bookmarks(engine)
        code, calls = run(env, log, kill_at=rng.randint(30, from_zero // KILLS))
        assert log.killed and code == -9, "the seeded call came: the process was killed"
        killed_calls.append(calls)
        # this run resumed every stream it reached at the bookmark the previous run committed
        for stream in STREAMS:
            first = log.first.get(METHODS[stream])
            if first is None:
                continue
            mark = before.get(stream)
            expected = None if mark is None else str(math.ceil(to_unix(mark - BY_NAME[stream].lag)) - 1)  # type: ignore[operator]
            assert first.get("start") == expected, (stream, mark, first)
        assert after_kill(engine, sim) == []  # nothing doubled, no bookmark ahead of its data
    assert bookmarks(engine).get("ledgers") is not None, "at least one sub-window was committed before a kill"

    before = bookmarks(engine)
    _, final = run(env, log)
    for stream in STREAMS:
        mark = before.get(stream)
        expected = None if mark is None else str(math.ceil(to_unix(mark - BY_NAME[stream].lag)) - 1)  # type: ignore[operator]
        assert log.first[METHODS[stream]].get("start") == expected, stream
    truth = truths(sim)
    assert compare_ledgers(engine, "main", truth["ledgers"]) == []
    assert compare_trades(engine, "main", truth["trades"]) == []
    assert compare_closed_orders(engine, "main", truth["closed_orders"]) == []
    resumed = sum(killed_calls) + final
    restarted = sum(killed_calls) + from_zero
    print(f"\nfirst sync of {ENTRIES:,} entries, window {WINDOW_ROWS:,} rows, {KILLS} kills at calls {killed_calls}: "
          f"{resumed} calls resuming vs {restarted} restarting from zero (a clean run: {from_zero})")
    assert final < from_zero and resumed < restarted
