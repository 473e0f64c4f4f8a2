"""The nightly fanned out over two machines: a real `prefect server`, the `kraken-etl` process pool, two
workers (two processes, each with its own KRAKEN_ETL_HOME: its own nonce and counter files, as two machines
have), one PostgreSQL, and the simulator serving several accounts on loopback.

`kraken-etl nightly --fan-out` starts one `nightly/nightly-account` run per batch of two accounts (one flow-run
process for both). Machine A is killed (SIGKILL, its flow-run process with it) while it syncs its batch.
Prefect cannot know a killed process is gone until its zombie detection says so (flow-run heartbeats, at least
30 s apart, and an automation that marks the run Crashed: docs/operations.md, "Many accounts"); the test does
that automation's one step itself, through the API, once the process is dead. The fan-out then ends Failed
naming the accounts of A's batch that had not completed, by name, and none of B's; the rerun
(`--rerun-failed`) starts only those, machine B takes them, and every account equals its truth; no account ran
twice at once, and no key met Kraken's rate limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.states import Crashed
from sqlalchemy import Engine, text

from kraken_etl.core.money import loads
from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import KINDS, RATE_SCALE
from tests.pipeline.truth import compare_all
from tests.test_deployment import BIN, REPO, _commands, prefect_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
__all__ = ["prefect_server"]  # the fixture, imported for pytest

# Four accounts in batches of two: one batch per machine, one of them killed; each batch costs a flow-run
# process (Prefect's and our imports) per fan-out on a 2-core machine.
ACCOUNTS = 4
BATCH = 2
LABELS = [f"acct-{i}" for i in range(ACCOUNTS)]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    # ten days of history: the nightly's prices step then reads ten days of public market data, not two years;
    # 300 entries an account still take machine A a sync, a reconcile and a report to get through (seconds), in
    # which the test finds it running and kills it
    running = serve_in_thread(SimConfig(seed=9, accounts=ACCOUNTS, ledger_entries=300, history_days=10, tier="pro",
                                        rate_scale=RATE_SCALE))
    yield running
    running.stop()


def _accounts_file(path: Path) -> Path:
    path.write_text("".join(f'[[accounts]]\nlabel = "{label}"\ntier = "pro"\napi_key_env = "SIM_KEY_{i}"\n'
                            f'api_secret_env = "SIM_SECRET_{i}"\n\n' for i, label in enumerate(LABELS)))
    return path


def _env(server: dict[str, str], sim: RunningSimulator, db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {**server, "DATABASE_URL": db_url, "KRAKEN_API_URL": sim.rest_url, "KRAKEN_RATE_SCALE": str(RATE_SCALE),
           "KRAKEN_ETL_CONFIG": str(_accounts_file(tmp_path / "accounts.toml")),
           "KRAKEN_ETL_HOME": str(tmp_path / "parent"), "KRAKEN_FLEET_CONCURRENCY": "2",
           "KRAKEN_FLEET_BATCH_SIZE": str(BATCH),
           "KRAKEN_FLEET_POLL_SECONDS": "0.3", "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO"}
    for i in range(ACCOUNTS):
        env[f"SIM_KEY_{i}"], env[f"SIM_SECRET_{i}"] = sim.account_key(i)
    return env


def _prefect(env: dict[str, str], command: list[str]) -> None:
    result = subprocess.run([str(BIN / "prefect"), *command[1:]], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, f"{command}: {result.stdout[-3000:]} {result.stderr[-3000:]}"


def _worker(env: dict[str, str], name: str, home: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [str(BIN / "prefect"), *_commands()["worker"][1:], "--name", name, *extra]
    home.mkdir(parents=True)
    with (home / "worker.log").open("wb") as log:  # read it when the test fails
        return subprocess.Popen(command, env={**env, "KRAKEN_ETL_HOME": str(home)}, cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT)


def _fan_out(env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    with (out.with_suffix(".out")).open("wb") as stdout, (out.with_suffix(".err")).open("wb") as stderr:
        return subprocess.Popen([sys.executable, "-m", "kraken_etl", "nightly", "--fan-out"],
                                env={**env, "COLUMNS": "200", "NO_COLOR": "1"}, cwd=REPO, stdout=stdout, stderr=stderr)


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (by parent pid, whatever session each opened)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _children(env: dict[str, str]) -> list[FlowRun]:
    with SyncPrefectClient(env["PREFECT_API_URL"]) as client:
        return list(client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=["nightly-fleet"]))))


def _pid(run: FlowRun) -> int | None:
    raw = run.infrastructure_pid or ""
    tail = raw.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _synced_accounts(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT DISTINCT account FROM kraken.sync_run")).scalars())


def _wait_for(what: str, check: Any, deadline: float, *procs: subprocess.Popen[Any]) -> Any:
    """Poll `check()` until it returns something truthy; fail at the deadline or when a process exits."""
    while True:
        found = check()
        if found:
            return found
        for proc in procs:
            assert proc.poll() is None, f"{what}: a process exited early ({proc.args!r})"
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.2)  # polling another process's progress, with a deadline; not dodging a race


def _truths(sim: RunningSimulator, index: int) -> dict[str, dict[str, Any]]:
    with httpx.Client(base_url=sim.rest_url, timeout=60) as http:
        return {kind: loads(http.get(f"/_sim/truth/{kind}", params={"account": index}).content) for kind in KINDS}


def test_two_machines_run_every_account_and_a_killed_one_loses_nothing(
    prefect_server: dict[str, str], sim: RunningSimulator, db_url: str, tmp_path: Path
) -> None:
    env = _env(prefect_server, sim, db_url, tmp_path)
    commands = _commands()
    _prefect(env, commands["work-pool"])
    _prefect(env, ["prefect", "--no-prompt", "deploy", "--name", "nightly-account"])  # what the fan-out starts
    # both batches at once (KRAKEN_FLEET_CONCURRENCY) and each machine takes one run at most: A gets one
    machine_a = _worker(env, "machine-a", tmp_path / "machine-a", "--limit", "1")
    machine_b = _worker(env, "machine-b", tmp_path / "machine-b", "--limit", "1")
    first = None
    engine = make_engine(db_url)
    try:
        first = _fan_out(env, tmp_path / "first")
        deadline = time.monotonic() + 600

        def running_on_a() -> tuple[FlowRun, set[int]] | None:
            below = _descendants(machine_a.pid)
            synced = _synced_accounts(engine)
            for run in _children(env):
                if (run.state_type == StateType.RUNNING and _pid(run) in below
                        and synced & set(run.parameters["accounts"])):
                    return run, below
            return None

        victim, killed = _wait_for("an account syncing on machine A", running_on_a, deadline, first, machine_b)
        for pid in {machine_a.pid, *killed}:
            with contextlib.suppress(ProcessLookupError):  # already gone on its own
                os.kill(pid, signal.SIGKILL)
        machine_a.wait(timeout=30)
        _wait_for("machine A's processes gone", lambda: not any(Path(f"/proc/{p}").exists() for p in killed),
                  deadline)
        batch = victim.parameters["accounts"]
        assert len(batch) == BATCH, batch
        with SyncPrefectClient(env["PREFECT_API_URL"]) as client:  # zombie detection's one step
            assert client.read_flow_run(victim.id).state_type == StateType.RUNNING
            client.set_flow_run_state(victim.id, Crashed(message="machine-a stopped answering"), force=True)
        crashed_at = datetime.now(UTC)

        def states() -> str:
            return ", ".join(f"{r.parameters['accounts']}: {r.state_type}" for r in _children(env))

        while first.poll() is None:
            assert time.monotonic() < deadline, f"the first fan-out did not end: {states()}"
            time.sleep(0.2)  # polling another process's progress, with a deadline; not dodging a race
        out, err = (tmp_path / "first.out").read_text(), (tmp_path / "first.err").read_text()
        assert first.returncode == 1, out + err
        failed = [label for label in LABELS if f"'{label}'" in err]  # named, each by its own name
        assert failed and set(failed) <= set(batch), err  # some of A's batch (one may have completed first)
        assert f"{len(failed)} account(s) failed" in err and "crashed" in err, err

        rerun = subprocess.run([sys.executable, "-m", "kraken_etl", "nightly", "--fan-out", "--rerun-failed"],
                               env={**env, "COLUMNS": "200", "NO_COLOR": "1"}, cwd=REPO, capture_output=True,
                               text=True, timeout=max(1.0, deadline - time.monotonic()))
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        lines = dict(line.split(": ", 1) for line in rerun.stdout.splitlines() if ": " in line)
        assert all(lines[label].startswith("ok") for label in failed), rerun.stdout
        assert all(lines[other].startswith("done before") for other in LABELS if other not in failed), rerun.stdout
    finally:
        for proc in (first, machine_a, machine_b):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in (first, machine_a, machine_b):
            if proc is not None:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()

    try:
        for index, account in enumerate(LABELS):
            assert compare_all(engine, account, _truths(sim, index)) == [], account
    finally:
        engine.dispose()

    runs = _children(env)
    for account in LABELS:  # one run per account at a time: the spans of an account's runs never overlap
        spans = sorted((r.start_time, r.end_time or (crashed_at if r.id == victim.id else None)) for r in runs
                       if account in r.parameters["accounts"] and r.start_time is not None)
        assert spans, account
        ends = [end for _, end in spans if end is not None]
        assert len(ends) == len(spans), account
        assert all(end <= start for end, (start, _) in zip(ends, spans[1:], strict=False)), account
    # every account started once by the first fan-out, and only the failed ones again by the rerun
    assert sorted(label for r in runs for label in r.parameters["accounts"]) == sorted([*LABELS, *failed])

    fleet = sim.app.state.fleet
    violations = sum(len(state.violations) for i in fleet.built() for state in fleet.for_index(i).auth.keys.values())
    assert violations == 0
