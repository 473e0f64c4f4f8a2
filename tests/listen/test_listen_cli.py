"""`kraken-etl listen` as a real process: kill -9, activity while it is down, restart, SIGTERM → exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from kraken_etl.simulator import RunningSimulator
from tests.e2e.sync_support import REPO, sim_env
from tests.listen.conftest import advance, ids, scalar, wait_for

WS_LEDGERS = "SELECT ledger_id FROM kraken.ws_balance_update WHERE account = 'main'"
REST_LEDGERS = "SELECT ledger_id FROM kraken.ledger_entry WHERE account = 'main'"


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "kraken_etl", "listen"], cwd=REPO,
                                env={**os.environ, **env, "NO_COLOR": "1"}, stdout=out, stderr=subprocess.STDOUT)


def _connected_sessions(engine: Engine) -> int:
    return int(scalar(engine, "SELECT count(*) FROM kraken.listener_session WHERE connected_at IS NOT NULL"))


def test_kill_9_then_restart_loses_nothing(sim: RunningSimulator, engine: Engine, db_url: str,
                                           tmp_path: Path) -> None:
    env = {**sim_env(sim, db_url, tmp_path), "KRAKEN_WS_AUTH_URL": sim.ws_url}
    log = tmp_path / "listen.log"
    first = _start(env, log)
    try:
        wait_for(lambda: _connected_sessions(engine) == 1, timeout=60, what="first listener subscribed")
        before = advance(sim, 60)["ledger_ids"]
        wait_for(lambda: ids(engine, WS_LEDGERS) >= set(before), what="live updates stored")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    assert scalar(engine, "SELECT status FROM kraken.listener_session") == "running"  # nobody said goodbye

    during = advance(sim, 80)["ledger_ids"]  # activity while nobody listens
    second = _start(env, log)
    try:
        wait_for(lambda: _connected_sessions(engine) == 2, timeout=60, what="second listener subscribed")
        # three restart gaps: each start-up until its subscription, and the downtime from the last commit
        wait_for(lambda: scalar(engine, "SELECT count(*) FROM kraken.listener_gap WHERE kind = 'restart' "
                                        "AND status = 'filled'") == 3, timeout=60, what="restart gaps filled")
        assert scalar(engine, "SELECT count(*) FROM kraken.listener_gap g JOIN kraken.listener_session s "
                              "ON s.status = 'interrupted' WHERE g.gap_start <= s.last_message_at") >= 1
        after = advance(sim, 30)["ledger_ids"]
        wait_for(lambda: ids(engine, WS_LEDGERS) >= set(after), what="live updates after restart")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    output = log.read_text()
    assert second.returncode == 0, output[-2000:]
    assert "main:" in output and "gaps" in output

    seen = ids(engine, WS_LEDGERS) | ids(engine, REST_LEDGERS)
    assert set(before + during + after) <= seen
    assert set(during) <= ids(engine, REST_LEDGERS)  # the downtime came from REST
    assert not set(during) & ids(engine, WS_LEDGERS)
    statuses = ids(engine, "SELECT status FROM kraken.listener_session")
    assert statuses == {"interrupted", "stopped"}
