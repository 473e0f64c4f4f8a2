"""The `nightly` deployment through a real Prefect server and worker, against the simulator on loopback.

The compose file's own commands (tests/test_deployment.py runs them outside Docker): `prefect server
start` on loopback, `prefect work-pool create`, `prefect deploy --all`; then a run of `nightly/nightly` is
created through the server's API and `prefect worker start --run-once` runs it in a subprocess from the
project directory, as a deployed worker would. The run must end Completed, the data equal the
simulator's truth, and the run's markdown artifact exist.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import StateType

from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import sim_env, truths
from tests.pipeline.truth import compare_all
from tests.test_deployment import BIN, REPO, _commands, prefect_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
__all__ = ["prefect_server"]  # the fixture, imported for pytest


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    running = serve_in_thread(SimConfig(seed=5, ledger_entries=800, tier="pro", rate_scale=200.0))
    yield running
    running.stop()


def _prefect(env: dict[str, str], command: list[str], timeout: float = 300) -> str:
    result = subprocess.run([str(BIN / "prefect"), *command[1:]], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}: {result.stdout[-3000:]} {result.stderr[-3000:]}"
    return result.stdout


def test_the_nightly_deployment_runs_on_a_worker_to_the_truth(
    prefect_server: dict[str, str], sim: RunningSimulator, db_url: str, tmp_path: Path
) -> None:
    env = {**prefect_server, **sim_env(sim, db_url, tmp_path / "etl-home")}
    env.pop("KRAKEN_ETL_CONFIG", None)
    commands = _commands()
    _prefect(env, commands["work-pool"])
    _prefect(env, commands["deploy"])

    # Prefect's own client: it retries the 503 a busy SQLite-backed server answers right after a deploy
    # (its scheduler writes the new deployment's runs meanwhile)
    with SyncPrefectClient(env["PREFECT_API_URL"]) as client:
        deployment = client.read_deployment_by_name("nightly/nightly")
        run = client.create_flow_run_from_deployment(deployment.id)

    worker = commands["worker"]
    _prefect(env, [*worker, "--run-once"], timeout=500)

    with SyncPrefectClient(env["PREFECT_API_URL"]) as client:
        finished = client.read_flow_run(run.id)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
    assert finished.state is not None and finished.state.type == StateType.COMPLETED, finished.state
    (artifact,) = [a for a in artifacts if a.key == "nightly-run"]
    assert artifact.type == "markdown" and isinstance(artifact.data, str) and "## main: ok" in artifact.data
    assert sim.api_secret not in artifact.data

    engine = make_engine(db_url)
    try:
        assert compare_all(engine, "main", truths(sim)) == []
    finally:
        engine.dispose()
