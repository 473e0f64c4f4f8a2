"""`kraken-etl nightly` as a person runs it: a real process, the simulator on loopback, a real PostgreSQL,
the same Prefect flow as the deployment (Prefect's temporary local API). One line per account; a failure is
one `error:` line and a nonzero exit, never a Prefect log line or traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import REPO, sim_env, truths
from tests.pipeline.truth import compare_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ACCOUNTS = """
[[accounts]]
label = "a"
tier = "pro"
api_key_env = "SIM_KEY"
api_secret_env = "SIM_SECRET"

[[accounts]]
label = "bad"
tier = "pro"
api_key_env = "BAD_KEY"
api_secret_env = "SIM_SECRET"
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    running = serve_in_thread(SimConfig(seed=23, ledger_entries=600, tier="pro", rate_scale=200.0))
    yield running
    running.stop()


@pytest.fixture()
def env(sim: RunningSimulator, db_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "accounts.toml"
    config.write_text(ACCOUNTS)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "DATABASE_URL", "PREFECT_"))}
    return {**base, **sim_env(sim, db_url, tmp_path), "KRAKEN_ETL_CONFIG": str(config), "SIM_KEY": sim.api_key,
            "SIM_SECRET": sim.api_secret, "BAD_KEY": "not-a-key-kraken-knows", "COLUMNS": "200", "NO_COLOR": "1",
            "PREFECT_HOME": str(tmp_path / "prefect")}


def _nightly(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kraken_etl", "nightly", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=540, check=False)


def test_help() -> None:
    done = subprocess.run([sys.executable, "-m", "kraken_etl", "nightly", "--help"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0 and "--account" in done.stdout and "--since" in done.stdout
    assert "--fan-out" in done.stdout and "--rerun-failed" in done.stdout


def test_nightly_runs_the_flow_end_to_end_and_a_failure_is_one_line(
    sim: RunningSimulator, env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    done = _nightly(env, "--account", "a")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (line,) = [line for line in done.stdout.splitlines() if line.strip()]
    truth = truths(sim)
    assert line.startswith("a: ok in ")
    assert f"ledgers +{len(truth['ledgers']['ledger']):,}" in line
    assert "reconcile: " in line and f"report: {tmp_path / 'reports'}" in line
    assert "Traceback" not in done.stderr and "prefect" not in done.stderr.lower()
    engine = make_engine(db_url)
    try:
        assert compare_all(engine, "a", truth) == []
        with engine.connect() as conn:  # the nightly steps ran: reconciled and the reporting schema refreshed
            assert conn.execute(text("SELECT count(*) FROM kraken.reconciliation_run WHERE account = 'a'")
                                ).scalar_one() == 1
    finally:
        engine.dispose()
    assert list((tmp_path / "reports").glob("a-*.html"))

    failed = _nightly(env, "--account", "bad")
    assert failed.returncode == 1
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith("error: nightly failed for account 'bad': ") and "Invalid key" in lines[0]
    assert "Traceback" not in failed.stdout + failed.stderr
    assert sim.api_secret not in failed.stdout + failed.stderr + done.stdout + done.stderr


def test_a_failed_step_fails_its_account_by_name_with_the_data_synced(
    sim: RunningSimulator, env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "reports").write_text("a file where the reports folder goes")  # the report step cannot write
    failed = _nightly(env, "--account", "a")
    assert failed.returncode == 1, failed.stdout[-2000:] + failed.stderr[-2000:]
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith("error: nightly failed for account 'a': report: "), lines[0]
    assert "Traceback" not in failed.stdout + failed.stderr
    engine = make_engine(db_url)
    try:
        assert compare_all(engine, "a", truths(sim)) == []  # a failed step does not undo the sync
    finally:
        engine.dispose()


def test_an_unknown_account_is_one_line_before_anything_runs(env: dict[str, str]) -> None:
    done = _nightly(env, "--account", "nobody")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nobody" in lines[0]


@pytest.mark.parametrize(("args", "says"), [
    (["--fan-out"], "--fan-out needs a Prefect server"),
    (["--rerun-failed"], "--rerun-failed goes with --fan-out"),
])
def test_fan_out_without_a_server_is_one_line_before_anything_runs(env: dict[str, str], args: list[str],
                                                                   says: str) -> None:
    done = _nightly(env, *args)  # `env` carries no PREFECT_API_URL
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("prefect", "says"), [
    ({"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1"}, "Prefect's temporary server"),
    ({"PREFECT_API_URL": "http://127.0.0.1:{port}/api", "PREFECT_CLIENT_MAX_RETRIES": "0"}, "is the server running?"),
])
def test_a_prefect_api_that_does_not_answer_is_one_line_that_says_what_to_do(
    env: dict[str, str], prefect: dict[str, str], says: str
) -> None:
    port = _free_port()  # nothing listens there
    done = _nightly({**env, **{k: v.format(port=port) for k, v in prefect.items()}}, "--account", "a")
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
