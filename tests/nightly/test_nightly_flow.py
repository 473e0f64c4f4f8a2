"""The `nightly` flow end to end: the simulator on loopback, a real PostgreSQL, Prefect's ephemeral API.

Three accounts run concurrently: `a` and `b` (the simulator's key) and `bad` (a key Kraken does not
know). The data of `a` and `b` equals the simulator's truth, `bad` does not stop them, the run ends
Failed naming `bad` and why, and the markdown artifact holds rows per stream and calls/waits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId

from flows.nightly import ARTIFACT_KEY, nightly_flow
from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import sim_env, truths
from tests.pipeline.truth import compare_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

ACCOUNTS = """
[[accounts]]
label = "a"
tier = "pro"
api_key_env = "SIM_KEY"
api_secret_env = "SIM_SECRET"

[[accounts]]
label = "b"
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
    running = serve_in_thread(SimConfig(seed=21, ledger_entries=1_000, tier="pro", rate_scale=200.0))
    yield running
    running.stop()


@pytest.fixture()
def accounts_env(sim: RunningSimulator, db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in sim_env(sim, db_env, tmp_path).items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "accounts.toml"
    config.write_text(ACCOUNTS)
    monkeypatch.setenv("KRAKEN_ETL_CONFIG", str(config))
    monkeypatch.setenv("SIM_KEY", sim.api_key)
    monkeypatch.setenv("SIM_SECRET", sim.api_secret)
    monkeypatch.setenv("BAD_KEY", "not-a-key-kraken-knows")
    return db_env


def _artifacts(flow_run_id: Any) -> list[Any]:
    with get_client(sync_client=True) as client:
        return list(client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))))


def _task_spans(flow_run_id: Any) -> dict[str, tuple[Any, Any]]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {r.name.split()[1]: (r.start_time, r.end_time) for r in runs if r.name.startswith("nightly ")}


def test_nightly_syncs_every_account_to_the_truth_and_fails_naming_the_bad_one(
    sim: RunningSimulator, accounts_env: str
) -> None:
    state = nightly_flow(return_state=True)
    assert state.is_failed()
    error = str(state.result(raise_on_failure=False))
    assert "account 'bad'" in error and "Invalid key" in error
    assert "'a'" not in error and "'b'" not in error
    assert sim.api_secret not in error

    engine = make_engine(accounts_env)
    try:
        truth = truths(sim)
        assert compare_all(engine, "a", truth) == []
        assert compare_all(engine, "b", truth) == []
    finally:
        engine.dispose()

    flow_run_id = state.state_details.flow_run_id
    found = _artifacts(flow_run_id)
    (artifact,) = [a for a in found if a.key == ARTIFACT_KEY]
    text = artifact.data
    assert artifact.key == ARTIFACT_KEY and artifact.type == "markdown"
    assert "FAILED for bad" in text and "## bad: **FAILED**" in text and "Invalid key" in text
    assert "## a: ok" in text and "## b: ok" in text
    ledgers = len(truth["ledgers"]["ledger"])
    assert f"| ledgers | {ledgers} | {ledgers} |" in text  # rows fetched and inserted for the stream
    assert "| balances |" in text and "s for the call counter" in text and "freshness" in text
    assert "reconcile" in text and sim.api_secret not in text and sim.api_key not in text

    spans = _task_spans(flow_run_id)
    (a_start, a_end), (b_start, b_end) = spans["a"], spans["b"]
    assert a_start < b_end and b_start < a_end  # the accounts ran at the same time


def test_a_second_nightly_is_incremental(sim: RunningSimulator, accounts_env: str) -> None:
    first = nightly_flow(accounts=["a"])
    second = nightly_flow(accounts=["a"])
    assert first["a"]["status"] == "ok" and second["a"]["status"] == "ok"
    inserted = {r["stream"]: r["inserted"] for r in second["a"]["sync"]}
    assert inserted["ledgers"] == inserted["trades"] == inserted["closed_orders"] == 0
    fetched_first = {r["stream"]: r["fetched"] for r in first["a"]["sync"]}
    fetched_second = {r["stream"]: r["fetched"] for r in second["a"]["sync"]}
    assert fetched_second["ledgers"] < fetched_first["ledgers"]  # only the overlap was re-read
    assert [(step["name"], step["status"]) for step in second["a"]["steps"]] == [
        ("prices", "warning"), ("reconcile", "ok"), ("refresh_reporting", "ok"), ("report", "ok")]
    prices = second["a"]["steps"][1]["detail"]
    assert "no route for EUR→USD" in prices  # the simulator lists no EUR/USD pair: a warning, not a failure
