"""A load into days the reporting schema already summed shows at once (the load refreshes); `kraken-etl
refresh` refreshes on demand. Real processes, real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from kraken_etl.db.engine import make_engine
from kraken_etl.db.reporting import refresh_reporting
from tests.exports.test_duplicates import HEADER, _row


def _cli(db_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_")}
    env.update(DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(home), COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def test_an_import_of_old_days_shows_in_the_report_at_once(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    try:
        refresh_reporting(engine)  # as the nightly flow (or a demo) leaves it: today's midnight summed before
    finally:
        engine.dispose()
    path = tmp_path / "books.csv"  # deposits of 2021 whose balances chain from 100 (a partial history)
    path.write_text(HEADER + _row(1, "1.0000") + _row(2, "1.0000"))
    loaded = _cli(db_url, tmp_path, "import", str(path), "--account", "books")
    assert loaded.returncode == 0, loaded.stderr
    assert "reporting refreshed in" in loaded.stdout and "2 loaded row(s) fell in days" in loaded.stdout

    out = tmp_path / "report.html"
    report = _cli(db_url, tmp_path, "report", "--account", "books", "--out", str(out))
    assert report.returncode == 0, report.stderr
    html = out.read_text()
    holdings = html[html.index('<section id="holdings"'):]
    assert 'data-empty="holdings"' not in holdings
    assert "102.0000" in holdings  # Kraken's balance of the last entry (the chain opens at 100)

    again = _cli(db_url, tmp_path, "import", str(path), "--account", "books")
    assert again.returncode == 0 and "reporting refreshed" not in again.stdout  # nothing new: nothing due


def test_refresh_command_moves_the_boundary(db_url: str, tmp_path: Path) -> None:
    done = _cli(db_url, tmp_path, "refresh")
    assert done.returncode == 0, done.stderr
    assert "reporting refreshed in" in done.stdout
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT covered_before IS NOT NULL AND refreshed_at IS NOT NULL "
                                     "FROM reporting.refresh_state")).scalar_one()
    finally:
        engine.dispose()
