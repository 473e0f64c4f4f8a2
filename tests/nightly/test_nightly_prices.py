"""The nightly prices step: Kraken's public market data failing is a warning, never an account failure."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.nightly import prices_step, run_nightly
from kraken_etl.settings import load_settings
from kraken_etl.simulator import SimConfig, serve_in_thread
from tests.e2e.sync_support import RATE_SCALE, sim_env


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_market_data_is_a_warning_step(db_env: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_API_URL", f"http://127.0.0.1:{_closed_port()}")
    settings = load_settings()
    engine = make_engine(db_env)
    try:
        step = prices_step(engine, settings)
    finally:
        engine.dispose()
    assert step.name == "prices" and step.status == "warning"
    assert step.detail.startswith("market data not synced:") and "cannot connect" in step.detail


def test_the_nightly_job_syncs_prices_after_the_account_and_before_reconcile_and_refresh(
        db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    sim = serve_in_thread(SimConfig(seed=5, ledger_entries=300, tier="pro", rate_scale=RATE_SCALE,
                                    end_time=today - timedelta(days=1), history_days=100))
    try:
        for name, value in sim_env(sim, db_env, tmp_path).items():
            monkeypatch.setenv(name, value)
        outcome = run_nightly("main", now=datetime.now(UTC))
    finally:
        sim.stop()
    steps = [(s.name, s.status) for s in outcome.steps]
    assert steps == [("prices", "warning"), ("reconcile", "ok"), ("refresh_reporting", "ok"), ("report", "ok")]
    assert outcome.status == "ok"  # the warning does not fail the account
    assert "no route for EUR→USD" in outcome.steps[0].detail
    assert "unknown asset codes" not in outcome.steps[0].detail  # every simulator code resolves
    engine = make_engine(db_env)
    try:
        with engine.connect() as conn:
            pairs = conn.execute(text("SELECT count(DISTINCT pair) FROM kraken.price")).scalar_one()
    finally:
        engine.dispose()
    assert pairs == 5  # BTC, ETH, DOT, USDT and SOL through their USD pairs
