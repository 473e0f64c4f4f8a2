"""`kraken-etl backfill` as a person runs it: `--dry-run` prints the plan and requests nothing; the range is
printed back as the interval it resolved to; a reload says what was new, changed and already stored."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import REPO, sim_env, truths

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve_in_thread(SimConfig(seed=41, ledger_entries=1_500, tier="pro", rate_scale=200.0)) as running:
        yield running


def test_dry_run_prints_the_plan_and_requests_no_export(sim: RunningSimulator, db_env: str, tmp_path: Path) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    proc = subprocess.run(
        [sys.executable, "-m", "kraken_etl", "backfill", "--from", "2000-01-01", "--to", tomorrow, "--via", "export",
         "--dry-run"],
        cwd=REPO, env={**os.environ, **sim_env(sim, db_env, tmp_path), "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    plan = [line for line in proc.stdout.splitlines() if " plan: " in line]
    streams = {line.split(" plan: ")[1].split()[0] for line in plan[:-1]}
    assert streams == {"ledgers", "trades", "closed_orders", "order_amends"}
    assert "4 steps, 2 exports" in plan[-1]
    assert httpx.get(f"{sim.rest_url}/_sim/stats").json()["add_export_requests"] == 0
    assert sim.api_secret not in proc.stdout + proc.stderr


def _backfill(sim: RunningSimulator, db_env: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kraken_etl", "backfill", *args],
        cwd=REPO, env={**os.environ, **sim_env(sim, db_env, home), "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=240, check=False,
    )


def _ledgers_row(stdout: str) -> list[str]:
    """The numbers of the ledgers row of the table: rows, new, changed, unchanged, quarantined."""
    line = [line for line in stdout.splitlines() if " ledgers " in line and " rest " in line][-1]  # after the plan
    return re.findall(r"(?<![\d.-])\d[\d,]*(?![\d.-])", line.split(" rest ", 1)[1])[:5]


def test_a_reload_says_new_then_unchanged_and_prints_the_interval(
    sim: RunningSimulator, db_env: str, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date().isoformat()
    args = ("--from", "2000-01-01", "--to", today, "--via", "rest", "--stream", "ledgers")
    first = _backfill(sim, db_env, tmp_path, *args)
    assert first.returncode == 0, first.stderr
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert f"backfill 2000-01-01T00:00:00Z ≤ t < {tomorrow}T00:00:00Z" in first.stdout
    entries = len(truths(sim)["ledgers"]["ledger"])
    assert _ledgers_row(first.stdout) == [f"{entries:,}", f"{entries:,}", "0", "0", "0"]
    again = _backfill(sim, db_env, tmp_path, *args)
    assert again.returncode == 0, again.stderr
    assert _ledgers_row(again.stdout) == [f"{entries:,}", "0", "0", f"{entries:,}", "0"]


@pytest.mark.parametrize(("date_from", "date_to", "words"), [
    ("2030-01-01", "2030-02-01", "error: --from: the range starts in the future (2030-01-01T00:00:00Z; now is "),
    ("2024-02-01", "2024-01-01", "error: --to: the range ends before it starts: "
                                 "2024-02-01T00:00:00Z ≤ t < 2024-01-02T00:00:00Z"),
])
def test_a_future_or_reversed_range_is_a_one_line_usage_error(
    sim: RunningSimulator, db_env: str, tmp_path: Path, date_from: str, date_to: str, words: str
) -> None:
    done = _backfill(sim, db_env, tmp_path, "--from", date_from, "--to", date_to)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(words)
    engine = make_engine(db_env)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM kraken.sync_run")).scalar_one() == 0
    finally:
        engine.dispose()
