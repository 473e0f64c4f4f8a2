"""`kraken-etl sync` end to end: a real process, real HTTP to the simulator on loopback, real PostgreSQL.

The simulator enforces the pro tier's call counter accelerated x200 and the client models the same
(`KRAKEN_RATE_SCALE`), so a big account syncs without ever tripping it: 10,000 entries in `make test`,
50,000 in `make drills` (`TEST_SYNC_ENTRIES`).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import RunningSimulator, SimConfig, derive_key, serve_in_thread
from models import ClosedOrderRow, LedgerEntryRow, OrderAmendRow, SyncRunRow, SyncStateRow, TradeRow
from tests.e2e.sync_support import (
    RATE_SCALE,
    advance,
    rate_limit_violations,
    run_sync,
    set_faults,
    sim_env,
    truth_until,
    truths,
)
from tests.pipeline.truth import compare_all, compare_ledgers, compare_trades

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SEED = 404
# The big account's size: 10,000 entries in `make test` (200 pages of each stream), 50,000 in `make drills`.
BIG_ENTRIES = int(os.environ.get("TEST_SYNC_ENTRIES", "10000"))


@pytest.fixture(scope="module")
def big_sim() -> Iterator[RunningSimulator]:
    config = SimConfig(seed=SEED, ledger_entries=BIG_ENTRIES, tier="pro", rate_scale=RATE_SCALE)
    sim = serve_in_thread(config)
    yield sim
    sim.stop()


def _counts(db_url: str, account: str = "main") -> dict[str, int]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return {t.__tablename__: conn.execute(select(func.count()).select_from(t).where(t.account == account))
                    .scalar_one() for t in (LedgerEntryRow, TradeRow, ClosedOrderRow, OrderAmendRow)}
    finally:
        engine.dispose()


def test_a_big_sync_equals_truth_then_nothing_changes_then_only_new_rows(
    big_sim: RunningSimulator, db_env: str, tmp_path: Path
) -> None:
    env = sim_env(big_sim, db_env, tmp_path)
    before = rate_limit_violations(big_sim)
    first = run_sync(env)
    assert first.code == 0, first.stderr
    assert "sync summary" in first.stdout
    engine = make_engine(db_env)
    try:
        assert compare_all(engine, "main", truths(big_sim)) == []
        counts = _counts(db_env)
        assert counts["ledger_entry"] >= BIG_ENTRIES
        assert rate_limit_violations(big_sim) == before  # a healthy run never sees EAPI:Rate limit exceeded

        second = run_sync(env)
        assert second.code == 0, second.stderr
        assert _counts(db_env) == counts
        with engine.connect() as conn:
            last = conn.execute(select(SyncRunRow.stream, SyncRunRow.inserted, SyncRunRow.updated)
                                .order_by(SyncRunRow.id.desc()).limit(5)).all()
        assert {(s, i, u) for s, i, u in last if s != "balances"} == {
            ("ledgers", 0, 0), ("trades", 0, 0), ("closed_orders", 0, 0), ("order_amends", 0, 0)}

        added = advance(big_sim, 300)
        third = run_sync(env)
        assert third.code == 0, third.stderr
        after = _counts(db_env)
        assert after["ledger_entry"] == counts["ledger_entry"] + len(added["ledger_ids"])
        assert after["trade"] == counts["trade"] + len(added["trade_ids"])
        assert after["closed_order"] == counts["closed_order"] + len(added["order_ids"])
        assert compare_all(engine, "main", truths(big_sim)) == []
        assert rate_limit_violations(big_sim) == before
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def two_key_sim() -> Iterator[RunningSimulator]:
    keys = (derive_key(SEED + 1), derive_key(SEED + 1, "second"))
    sim = serve_in_thread(SimConfig(seed=SEED + 1, ledger_entries=6_000, tier="pro", rate_scale=RATE_SCALE, keys=keys))
    yield sim
    sim.stop()


def test_two_accounts_from_toml_sync_apart(two_key_sim: RunningSimulator, db_env: str, tmp_path: Path) -> None:
    big_sim = two_key_sim
    second = derive_key(SEED + 1, "second")
    config = tmp_path / "accounts.toml"
    config.write_text(
        '[[accounts]]\nlabel = "alpha"\ntier = "pro"\napi_key_env = "A_KEY"\napi_secret_env = "A_SECRET"\n'
        '[[accounts]]\nlabel = "beta"\ntier = "pro"\napi_key_env = "B_KEY"\napi_secret_env = "B_SECRET"\n')
    env = sim_env(big_sim, db_env, tmp_path)
    env.update({"KRAKEN_ETL_CONFIG": str(config), "A_KEY": big_sim.api_key, "A_SECRET": big_sim.api_secret,
                "B_KEY": second.key, "B_SECRET": second.secret})
    result = run_sync(env, "--stream", "ledgers", "--stream", "trades")
    assert result.code == 0, result.stderr
    assert "alpha" in result.stdout and "beta" in result.stdout
    t = truths(big_sim)
    engine = make_engine(db_env)
    try:
        for label in ("alpha", "beta"):
            assert compare_ledgers(engine, label, t["ledgers"]) == []
            assert compare_trades(engine, label, t["trades"]) == []
        assert _counts(db_env, "alpha") == _counts(db_env, "beta")
        assert _counts(db_env, "main")["ledger_entry"] == 0
        with engine.connect() as conn:
            accounts = set(conn.execute(select(SyncStateRow.account).distinct()).scalars())
        assert accounts == {"alpha", "beta"}
    finally:
        engine.dispose()


def test_invalid_key_exits_fast_with_one_line_and_no_secret(
    big_sim: RunningSimulator, db_env: str, tmp_path: Path
) -> None:
    secret = base64.b64encode(b"very-secret-material-" * 3 + b"x").decode()
    env = sim_env(big_sim, db_env, tmp_path, key="K" * 56, secret=secret)
    result = run_sync(env)
    assert result.code != 0
    assert "EAPI:Invalid key" in result.stderr and "Traceback" not in result.stderr + result.stdout
    assert secret not in result.stderr + result.stdout and "K" * 56 not in result.stderr + result.stdout
    engine = make_engine(db_env)
    try:
        with engine.connect() as conn:
            runs = conn.execute(select(SyncRunRow.status, SyncRunRow.calls)).all()
        assert runs == [("failed", 1)]  # one call, no retry storm
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def faulty_sim() -> Iterator[RunningSimulator]:
    config = SimConfig(seed=77, ledger_entries=8_000, tier="pro", rate_scale=RATE_SCALE)
    sim = serve_in_thread(config)
    yield sim
    sim.stop()


def test_faults_still_give_exactly_the_truth(faulty_sim: RunningSimulator, db_env: str, tmp_path: Path) -> None:
    set_faults(faulty_sim, "http_5xx=0.05,service_unavailable=0.05,rate_limit_storm=4,count_drift=3,"
                           "drift_entries=5,seed=13")
    env = sim_env(faulty_sim, db_env, tmp_path)
    before_count = len(truths(faulty_sim)["ledgers"]["ledger"])
    first = run_sync(env)
    assert first.code == 0, first.stderr
    engine = make_engine(db_env)
    try:
        with engine.connect() as conn:
            bookmark = conn.execute(select(func.min(SyncStateRow.bookmark))).scalar_one()
        t = truths(faulty_sim)
        assert len(t["ledgers"]["ledger"]) > before_count  # entries really arrived while we paged
        # the frozen window holds everything up to its end, exactly; later arrivals wait for the next run
        assert compare_all(engine, "main", truth_until(t, bookmark.timestamp())) == []
        second = run_sync(env)
        assert second.code == 0, second.stderr
        assert compare_all(engine, "main", truths(faulty_sim)) == []
    finally:
        engine.dispose()
