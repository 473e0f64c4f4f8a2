"""The nightly prices step: Kraken's public market data failing is a warning, never an account failure."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.nightly import prices_step
from kraken_etl.settings import load_settings


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
