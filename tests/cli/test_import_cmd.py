"""`kraken-etl import FILE --account LABEL` for an account nobody configured (a file import needs no key)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.exports.test_duplicates import HEADER, _row


def _run(db_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_")}
    env.update(DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(home), COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "kraken_etl", "import", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_new_label_imports_and_a_near_miss_of_it_is_refused(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "client.csv"
    path.write_text(HEADER + _row(1) + _row(2) + _row(1))
    first = _run(db_url, tmp_path, str(path), "--account", "client-zeta")
    assert first.returncode == 0, first.stderr
    assert "new account 'client-zeta'" in first.stderr
    assert "1 identical repeats ignored" in first.stdout
    typo = _run(db_url, tmp_path, str(path), "--account", "Client-Zeta")
    assert typo.returncode == 2 and "did you mean 'client-zeta'" in typo.stderr
    assert "Traceback" not in typo.stderr
    again = _run(db_url, tmp_path, str(path), "--account", "client-zeta")
    assert again.returncode == 0 and "new account" not in again.stderr
