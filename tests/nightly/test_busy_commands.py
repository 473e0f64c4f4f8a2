"""`kraken-etl backfill` and `kraken-etl import` on a busy account: one line naming it, exit code 3, nothing
touched (the CLI as a real process; the lock held by this test's process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kraken_etl.db.engine import make_engine
from kraken_etl.db.locks import account_lock
from models import ExportJobRow, SyncRunRow


@pytest.mark.parametrize("args", [
    ["backfill", "--from", "2024-01-01", "--to", "2024-02-01", "--account", "main"],
    ["import", "ledgers.csv", "--account", "main"],
], ids=["backfill", "import"])
def test_a_busy_account_stops_the_command_with_one_line(args: list[str], db_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_")}
    env.update(DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(tmp_path), KRAKEN_ACCOUNT="main", COLUMNS="200",
               NO_COLOR="1", KRAKEN_API_URL="http://127.0.0.1:9")
    (tmp_path / "ledgers.csv").write_text('"txid","refid","time","type"\n')
    engine = make_engine(db_url)
    try:
        with account_lock(engine, "main", purpose="nightly"):
            proc = subprocess.run([sys.executable, "-m", "kraken_etl", *args], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 3, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "account 'main' is busy" in lines[0] and "kraken-etl nightly main" in lines[0]
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(SyncRunRow)).scalar_one() == 0
            assert conn.execute(select(func.count()).select_from(ExportJobRow)).scalar_one() == 0
    finally:
        engine.dispose()
