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
