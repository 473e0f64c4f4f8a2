"""One account of a fan-out refreshes the reporting schema only when its own load made it due.

A refresh rebuilds the materialised parts for every account; the fan-out's parent refreshes once after all its
accounts, so each account's run (`refresh="when_stale"`) refreshes only when rows it loaded fell in days the
last refresh had already summed (its report would miss them otherwise), or when the schema was never refreshed
or its boundary is days behind (its report would read that much of the ledger live).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.nightly import run_nightly
from kraken_etl.jobs.refresh import refresh_once_for_fleet
from kraken_etl.settings import load_settings
from kraken_etl.simulator import SimConfig, serve_in_thread
from tests.e2e.sync_support import RATE_SCALE, sim_env


def _refreshed_at(db_url: str) -> datetime | None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            value: datetime | None = conn.execute(text("SELECT refreshed_at FROM reporting.refresh_state")).scalar()
            return value
    finally:
        engine.dispose()


def _refresh_step(outcome_steps: list[tuple[str, str, str]]) -> tuple[str, str]:
    return next((status, detail) for name, status, detail in outcome_steps if name == "refresh_reporting")


def test_an_account_of_a_fan_out_refreshes_only_when_its_load_fell_in_summed_days(
        db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    sim = serve_in_thread(SimConfig(seed=11, ledger_entries=200, tier="pro", rate_scale=RATE_SCALE,
                                    end_time=today - timedelta(days=1), history_days=20))
    try:
        for name, value in sim_env(sim, db_env, tmp_path).items():
            monkeypatch.setenv(name, value)
        settings = load_settings()
        assert _refreshed_at(db_env) is None
        first = refresh_once_for_fleet(settings)  # an earlier fan-out's refresh, before this account had rows
        assert first.stale_rows is None
        summed_at = _refreshed_at(db_env)
        assert summed_at is not None

        # the account's whole history lands in days that refresh summed: its run refreshes
        loaded = run_nightly("main", now=datetime.now(UTC), refresh="when_stale")
        status, detail = _refresh_step([(s.name, s.status, s.detail) for s in loaded.steps])
        assert loaded.status == "ok" and status == "ok"
        assert "loaded row(s) fell in days it had already summed" in detail
        after_load = _refreshed_at(db_env)
        assert after_load is not None and after_load > summed_at

        # nothing new in summed days: no refresh (the fan-out's parent does it once)
        again = run_nightly("main", now=datetime.now(UTC), refresh="when_stale")
        status, detail = _refresh_step([(s.name, s.status, s.detail) for s in again.steps])
        assert again.status == "ok" and status == "ok" and detail.startswith("not needed")
        assert _refreshed_at(db_env) == after_load

        # a boundary days behind (no refresh for days) or never refreshed: the account's report would read that
        # much of the ledger live, so its run refreshes
        for state, why in (("covered_before = covered_before - interval '3 days'", "its boundary 3 days behind"),
                           ("covered_before = NULL, refreshed_at = NULL", "never refreshed")):
            engine = make_engine(db_env)
            try:
                with engine.begin() as conn:
                    conn.execute(text(f"UPDATE reporting.refresh_state SET {state}"))
            finally:
                engine.dispose()
            behind = run_nightly("main", now=datetime.now(UTC), refresh="when_stale")
            status, detail = _refresh_step([(s.name, s.status, s.detail) for s in behind.steps])
            assert status == "ok" and detail == f"reporting schema refreshed ({why})"
            refreshed = _refreshed_at(db_env)
            assert refreshed is not None and refreshed > after_load

        # the single-account nightly still refreshes every time
        always = run_nightly("main", now=datetime.now(UTC))
        status, detail = _refresh_step([(s.name, s.status, s.detail) for s in always.steps])
        assert status == "ok" and detail == "reporting schema refreshed"
        later = _refreshed_at(db_env)
        assert later is not None and later > after_load and behind.status == "ok"
    finally:
        sim.stop()
