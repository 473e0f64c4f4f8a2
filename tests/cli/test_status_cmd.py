"""`kraken-etl status` shows bookmarks, the last runs and row counts of the database it is pointed at."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from kraken_etl.core.results import JobResult
from kraken_etl.db.engine import make_engine
from kraken_etl.db.runs import insert_run
from kraken_etl.db.state import set_bookmark


def test_status_lists_bookmarks_and_runs(db_url: str, tmp_path: Path) -> None:
    moment = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            set_bookmark(conn, "treasury", "ledgers", moment)
            insert_run(conn, JobResult("treasury", "ledgers", "incremental", window_end=moment, started_at=moment,
                                       finished_at=moment, fetched=1234, inserted=1200))
    finally:
        engine.dispose()
    env = dict(os.environ, DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(tmp_path), COLUMNS="200")
    result = subprocess.run([sys.executable, "-m", "kraken_etl", "status"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "treasury" in result.stdout
    assert "2026-11-01 12:30:00+00:00" in result.stdout
    assert "1234" in result.stdout
    assert "unresolved quarantine: 0" in result.stdout


def test_next_sync_starts_lists_the_configured_accounts_only(db_url: str, tmp_path: Path) -> None:
    """Accounts from a TOML file: the `default` label an earlier run left bookmarks under is not one a sync runs,
    so it is not listed where the next sync starts (its bookmark still is, in the bookmarks table)."""
    moment = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            set_bookmark(conn, "default", "ledgers", moment)
    finally:
        engine.dispose()
    config = tmp_path / "accounts.toml"
    config.write_text('[[accounts]]\nlabel = "treasury"\ntier = "pro"\napi_key_env = "K"\napi_secret_env = "S"\n')
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "DATABASE_URL"))}
    env = dict(base, DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(tmp_path), KRAKEN_ETL_CONFIG=str(config), K="a2V5",
               S="c2VjcmV0", COLUMNS="200", NO_COLOR="1")
    result = subprocess.run([sys.executable, "-m", "kraken_etl", "status"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    marks, starts = result.stdout.split("next sync starts from")[0], result.stdout.split("next sync starts from")[1]
    starts = starts.split("last runs")[0]
    assert "default" in marks and "2026-11-01 12:30:00+00:00" in marks
    rows = [line for line in starts.splitlines() if "│" in line]
    assert {line.split("│")[1].strip() for line in rows} == {"treasury"}, starts
    assert len(rows) == 3  # ledgers, trades, closed orders
