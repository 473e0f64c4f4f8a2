"""One convention for dates on every command: `--from` and `--to` inclusive (a day runs through its end), and a
single cut-off (`reconcile --as-of`) read like `--to`; each command prints back the exact interval it resolved.
Real processes on a real (empty) PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kraken_etl.core.period import as_of_moment, bound_to, describe_as_of


def _cli(db_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "DATABASE_URL"))}
    env = dict(base, DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(home), COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def test_as_of_a_day_includes_the_whole_day_as_to_does() -> None:
    assert as_of_moment("2026-11-03") < bound_to("2026-11-03")  # the day's last moment, inside `--to`'s end
    assert describe_as_of(as_of_moment("2026-11-03")) == "t ≤ 2026-11-03T23:59:59.999999Z"
    assert describe_as_of(as_of_moment("2026-11-03T12:00:00Z")) == "t ≤ 2026-11-03T12:00:00Z"


def test_reconcile_prints_the_cut_off_it_resolved_to(db_url: str, tmp_path: Path) -> None:
    shown = _cli(db_url, tmp_path, "reconcile", "--as-of", "2026-11-03")
    assert shown.returncode == 0, shown.stderr
    assert "as of: t ≤ 2026-11-03T23:59:59.999999Z" in shown.stdout
    as_json = _cli(db_url, tmp_path, "reconcile", "--as-of", "2026-11-03", "--json")
    assert as_json.stdout.startswith("{") and "as of: t ≤ 2026-11-03T23:59:59.999999Z" in as_json.stderr
    bad = _cli(db_url, tmp_path, "reconcile", "--as-of", "soon")
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert bad.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: --as-of: "), bad.stderr
