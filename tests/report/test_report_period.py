"""`kraken-etl report --from/--to` reads the range as every command does (both inclusive) and prints it back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.report.conftest import ACCOUNT, Loaded


def _report(loaded: Loaded, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": loaded.url, "KRAKEN_ETL_HOME": str(tmp_path), "COLUMNS": "200",
           "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "kraken_etl", "report", "--account", ACCOUNT, *args,
                           "--out", str(tmp_path / "r.html")], env=env, capture_output=True, text=True, timeout=240,
                          check=False)


def test_the_report_prints_the_interval_it_covers(loaded: Loaded, tmp_path: Path) -> None:
    done = _report(loaded, tmp_path, "--from", "2025-01-01", "--to", "2025-06-30")
    assert done.returncode == 0, done.stderr
    assert "period: 2025-01-01T00:00:00Z ≤ t < 2025-07-01T00:00:00Z" in done.stdout


def test_a_reversed_or_future_range_is_one_usage_line(loaded: Loaded, tmp_path: Path) -> None:
    reversed_range = ("--from", "2025-02-01", "--to", "2025-01-31")
    for args, words in ((reversed_range, "error: --to: the range ends before it starts"),
                        (("--from", "2099-01-01"), "error: --from: the range starts in the future")):
        done = _report(loaded, tmp_path, *args)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith(words)
        assert not (tmp_path / "r.html").exists()
