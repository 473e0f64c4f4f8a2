"""The books read each entry's fair value from the refreshed hourly grid where it is current (before every candle
written since the refresh), and get exactly what `reporting.price_at` answers entry by entry."""

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
        with engine.begin() as conn:
            # Every stored candle's prices doubled behind the grid's back (the grid still has the old ones) ...
            conn.execute(text("UPDATE kraken.price SET open = open * 2, high = high * 2, low = low * 2, "
                              "close = close * 2, vwap = vwap * 2, "
                              "fetched_at = (SELECT refreshed_at FROM reporting.refresh_state) - interval '1 hour'"))
            # ... and one candle in the middle of the history counted as fetched after the refresh.
            middle = conn.execute(text(
                "SELECT l.time FROM kraken.ledger_entry l ORDER BY l.time OFFSET "
                "(SELECT count(*) / 2 FROM kraken.ledger_entry) LIMIT 1")).scalar_one()
            conn.execute(text("UPDATE kraken.price SET fetched_at = now() + interval '1 hour' WHERE ctid = "
                              "(SELECT ctid FROM kraken.price WHERE start >= :t ORDER BY start LIMIT 1)"),
                         {"t": middle})
            new_start = conn.execute(text("SELECT min(start) FROM kraken.price WHERE fetched_at > now()")).scalar_one()
        with reading(engine) as conn:
            _, doubled = read_ledger(conn, ["main"], "USD")
    finally:
        engine.dispose()
    priced = [r for r in by_call if r.price is not None and r.price != 1]
    assert before_boundary > 500 and len(priced) > 200
    assert [(r.ledger_id, r.price) for r in by_grid] == [(r.ledger_id, r.price) for r in by_call]
    assert [(r.ledger_id, r.price) for r in after_new_candle] == [(r.ledger_id, r.price) for r in by_call]
    # Before the candle written since the refresh the grid answers (the old prices); from it on, price_at does.
    old = {r.ledger_id: r.price for r in priced}
    before = [r for r in doubled if r.ledger_id in old and r.time < new_start]
    after = [r for r in doubled if r.ledger_id in old and r.time >= new_start]
    assert len(before) > 50 and len(after) > 50
    bad = [(r.ledger_id, r.time, r.asset, r.price, old[r.ledger_id]) for r in before if r.price != old[r.ledger_id]]
    assert not bad, (len(bad), len(before), new_start, bad[:5])
    assert all(r.price != old[r.ledger_id] for r in after)
