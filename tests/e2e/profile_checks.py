"""The `valuation` check on an account profile, end to end as tests/e2e/test_valuation_truth.py runs it on the
default profile: the simulator on loopback (a short recent history, so every hour has its hourly candle),
`sync`, `prices sync` and `reconcile` as real processes, a real PostgreSQL; a clean account of either profile
has no `valuation` finding and no break. About a minute an account: run by `make drills`
(tests/drills/matrix_profiles.py); the file name keeps `make test` from collecting it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import SimConfig, serve_in_thread
from tests.e2e.sync_support import RATE_SCALE, run_sync, sim_env
from tests.e2e.test_valuation_truth import _cli


def profile_findings(profile: str, seed: int, db_url: str, home: Path, *, entries: int = 300,
                     days: int = 8) -> tuple[list[tuple[str, str, str, str]], int]:
    """Sync, price and reconcile `seed`'s account of `profile`: the open findings that are not info (check,
    kind, asset, message) and the rows the `valuation` check examined."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    config = SimConfig(seed=seed, ledger_entries=entries, tier="pro", rate_scale=RATE_SCALE, end_time=end,
                       history_days=days, profile=profile)
    with serve_in_thread(config) as sim:
        env = sim_env(sim, db_url, home)
        synced = run_sync(env)
        assert synced.code == 0, synced.stderr
        _cli(env, "prices", "sync")
        _cli(env, "reconcile", codes=(0, 1))
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            found = [(r.check_name, r.kind, r.asset or "", r.message) for r in conn.execute(text(
                "SELECT check_name, kind, asset, message FROM kraken.reconciliation_finding "
                "WHERE status = 'open' AND severity <> 'info' ORDER BY check_name, kind, asset"))]
            examined = conn.execute(text(
                "SELECT (counts->'valuation'->>'examined')::bigint FROM kraken.reconciliation_run "
                "ORDER BY id DESC LIMIT 1")).scalar()
    finally:
        engine.dispose()
    return found, examined or 0
