"""The Prefect backfill flow against the simulator on loopback and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from flows.backfill import backfill_flow
from kraken_etl.db.engine import make_engine
from kraken_etl.db.reporting import refresh_reporting
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import sim_env
from tests.exports.test_backfill import assert_ledger_equals_truth, assert_trades_equal_truth

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def flow_sim() -> Iterator[RunningSimulator]:
    # exports are ready at once (real clock): the flow polls once and downloads
    with serve_in_thread(SimConfig(seed=21, ledger_entries=2_000, tier="pro", rate_scale=200.0,
                                   export_queued_seconds=0.0, export_processing_seconds=0.0)) as sim:
        yield sim


def test_backfill_flow_loads_the_whole_history_equal_to_the_truth_and_refreshes_the_summed_days(
    flow_sim: RunningSimulator, db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sim_env(flow_sim, db_env, tmp_path).items():
        monkeypatch.setenv(name, value)
    refresh_reporting(make_engine(db_env))  # every day before today summed (none yet): the backfill fills them
    began = datetime.now(UTC).replace(microsecond=0)
    end = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    results = backfill_flow("2000-01-01", end, via="auto", accounts=["main"], chunk_days=0,
                            export_threshold=100)
    # one command loads every stream: exports where Kraken has them, REST where it has not
    assert [(r["stream"], r["via"]) for r in results["main"]] == [
        ("ledgers", "export"), ("trades", "export"), ("closed_orders", "rest"), ("order_amends", "rest")]
    assert all(r["job_id"] and r["run_id"] for r in results["main"][:2])
    assert all(r["run_id"] for r in results["main"])
    assert flow_sim.api_secret not in repr(results)
    engine = make_engine(db_env)
    try:
        assert_ledger_equals_truth(engine, flow_sim, "main")
        assert_trades_equal_truth(engine, flow_sim, "main")
        with engine.connect() as conn:
            # the range reaches the present: each windowed stream is bookmarked where it was read, never later
            marks = dict(conn.execute(text("SELECT stream, bookmark FROM kraken.sync_state")).all())
        assert set(marks) == {"ledgers", "trades", "closed_orders"}
        assert all(began <= mark <= datetime.now(UTC) for mark in marks.values()), marks
        with engine.connect() as conn:
            statuses = conn.execute(text("SELECT status FROM kraken.export_job")).scalars().all()
            # the flow refreshed the reporting schema: the summed days hold every entry before today
            summed, before_today = conn.execute(text(
                "SELECT (SELECT sum(entries) FROM reporting.ledger_daily), (SELECT count(*) FROM kraken.ledger_entry "
                "WHERE time < (SELECT covered_before FROM reporting.refresh_state))")).one()
        assert statuses == ["removed", "removed"]
        assert before_today > 0 and summed == before_today
    finally:
        engine.dispose()
