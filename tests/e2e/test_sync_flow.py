"""The Prefect sync flow against the simulator on loopback and a real PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.states import Completed, Failed

from flows.sync import retry_if_retryable, sync_flow
from kraken_etl.db.engine import make_engine
from kraken_etl.kraken import errors as e
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import sim_env, truths
from tests.pipeline.truth import compare_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def small_sim() -> Iterator[RunningSimulator]:
    sim = serve_in_thread(SimConfig(seed=8, ledger_entries=3_000, tier="pro", rate_scale=200.0))
    yield sim
    sim.stop()


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        (e.PaginationDrift("EClient:Pagination drift"), True),
        (e.RetriesExhausted("EClient:Retries exhausted"), True),
        (e.InvalidKey("EAPI:Invalid key"), False),
        (e.PermissionDenied("EGeneral:Permission denied", method="Ledgers"), False),
        (ValueError("bug"), False),
    ],
)
def test_retry_condition_follows_the_error_class(exc: BaseException, retry: bool) -> None:
    assert retry_if_retryable(None, None, Failed(data=exc)) is retry  # type: ignore[arg-type]


def test_retry_condition_on_success_is_false() -> None:
    assert retry_if_retryable(None, None, Completed(data=1)) is False  # type: ignore[arg-type]


def test_flow_syncs_every_stream_to_the_truth_and_passes_no_secret(
    small_sim: RunningSimulator, db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sim_env(small_sim, db_env, tmp_path).items():
        monkeypatch.setenv(name, value)
    # `since` as a plain date used to raise TypeError (naive vs aware); every task ends at ONE signpost
    results = sync_flow(accounts=["main"], since="2000-01-01")
    windowed = [r["window_end"] for r in results if r["stream"] in ("ledgers", "trades", "closed_orders")]
    assert len(windowed) == 3 and len(set(windowed)) == 1
    assert [r["stream"] for r in results] == ["ledgers", "trades", "closed_orders", "order_amends", "balances"]
    assert all(r["account"] == "main" for r in results)
    assert small_sim.api_secret not in repr(results)
    engine = make_engine(db_env)
    try:
        assert compare_all(engine, "main", truths(small_sim)) == []
    finally:
        engine.dispose()


def test_flow_logs_the_start_and_each_committed_sub_window_of_a_long_walk(
    small_sim: RunningSimulator, db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in sim_env(small_sim, db_env, tmp_path).items():
        monkeypatch.setenv(name, value)
    with caplog.at_level(logging.INFO, logger="prefect.task_runs"):
        (result,) = sync_flow(accounts=["main"], streams=["ledgers"], window_rows=1_000)
    lines = [r.getMessage() for r in caplog.records if r.name == "prefect.task_runs"]
    assert any("ledgers: starts from the beginning (epoch)" in line for line in lines), lines
    commits = [line for line in lines if "sub-window" in line and "committed" in line]
    assert len(commits) == result["details"]["sub_windows"] >= 3
    assert "rows (100%)" in commits[-1] and "left at the pro tier's pace" in commits[-1]
