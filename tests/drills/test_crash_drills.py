"""Crash drills, fast variant: kill -9 `sync`, `backfill --via export` and `import`
at a few seeded random moments each, rerun, and check nothing was lost, doubled or left ahead.

The full drills (20+ moments each, figures): `make drills` (bench/drills/crash_drills.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests import dbharness
from tests.drills import crash

pytestmark = pytest.mark.timeout(900)
MOMENTS = 3


@pytest.fixture(scope="module")
def crash_sim() -> Iterator[RunningSimulator]:
    config = SimConfig(seed=77, ledger_entries=3_000, tier="pro", rate_scale=200.0, history_days=200,
                       export_queued_seconds=0.5, export_processing_seconds=1.0)
    with serve_in_thread(config) as sim:
        yield sim


@pytest.fixture()
def scratch_url(pg_admin_url: str, pg_template: str) -> Iterator[str]:
    with dbharness.database_copy(pg_admin_url, pg_template) as url:
        yield url


def test_sync_killed_at_random_moments_resumes_to_the_truth(
    crash_sim: RunningSimulator, db_url: str, scratch_url: str, engine: Engine, tmp_path: Path
) -> None:
    report = crash.drill_sync(crash_sim, db_url, scratch_url, engine, tmp_path, seed=1, count=MOMENTS)
    assert report.ok, report.summary()
    assert any(k.killed for k in report.kills)


def test_export_backfill_killed_at_random_moments_adds_one_export(
    crash_sim: RunningSimulator, db_url: str, scratch_url: str, engine: Engine, tmp_path: Path
) -> None:
    report = crash.drill_backfill(crash_sim, db_url, scratch_url, engine, tmp_path, seed=2, count=MOMENTS)
    assert report.ok, report.summary()
    assert report.add_exports == 1  # the scratch run's export excluded: one AddExport for the range


def test_import_of_a_large_file_killed_at_random_moments_loads_each_row_once(
    db_url: str, scratch_url: str, engine: Engine, tmp_path: Path
) -> None:
    report = crash.drill_import(db_url, scratch_url, engine, tmp_path, seed=3, count=MOMENTS, rows=60_000)
    assert report.ok, report.summary()
