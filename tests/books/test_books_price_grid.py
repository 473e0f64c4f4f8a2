"""The books read each entry's fair value from the refreshed hourly grid where it is current, and get exactly what
`reporting.price_at` answers entry by entry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from kraken_etl.db.books import read_ledger, reading
from kraken_etl.db.engine import make_engine
from kraken_etl.db.reporting import refresh_reporting
from kraken_etl.jobs.prices import run_prices_sync
from kraken_etl.jobs.sync import run_sync
from kraken_etl.settings import load_settings
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import RATE_SCALE, sim_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture()
def sim() -> Iterator[RunningSimulator]:
    with serve_in_thread(SimConfig(seed=9, ledger_entries=600, tier="pro", rate_scale=RATE_SCALE,
                                   history_days=60)) as running:
        yield running


def test_the_grid_and_price_at_give_every_entry_the_same_price(
        sim: RunningSimulator, db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in sim_env(sim, db_env, tmp_path).items():
        monkeypatch.setenv(name, value)
    run_sync("main")
    run_prices_sync(load_settings())
    engine = make_engine(db_env)
    try:
        with reading(engine) as conn:  # never refreshed: every price from price_at
            _, by_call = read_ledger(conn, ["main"], "USD")
        refresh_reporting(engine)
        with reading(engine) as conn:
            _, by_grid = read_ledger(conn, ["main"], "USD")
            before_boundary = conn.execute(text(
                "SELECT count(*) FROM kraken.ledger_entry WHERE time < "
                "(SELECT covered_before FROM reporting.refresh_state)")).scalar_one()
        with engine.begin() as conn:  # a candle fetched after the refresh: the grid is not current any more
            conn.execute(text("UPDATE kraken.price SET fetched_at = now() WHERE ctid = "
                              "(SELECT ctid FROM kraken.price LIMIT 1)"))
        with reading(engine) as conn:
            _, after_new_candle = read_ledger(conn, ["main"], "USD")
    finally:
        engine.dispose()
    priced = [r for r in by_call if r.price is not None and r.price != 1]
    assert before_boundary > 500 and len(priced) > 200
    assert [(r.ledger_id, r.price) for r in by_grid] == [(r.ledger_id, r.price) for r in by_call]
    assert [(r.ledger_id, r.price) for r in after_new_candle] == [(r.ledger_id, r.price) for r in by_call]
