"""`kraken-etl assets seed|set|list`: identities as data the user can edit; an unknown code is listed, never a
zero. Real processes, real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from kraken_etl.db.engine import make_engine


def _cli(db_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_")}
    env.update(DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(home), COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def test_seed_set_and_list(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO kraken.ledger_entry (account, ledger_id, time, time_raw, type, asset, amount, fee, "
                "balance, source, raw) VALUES ('main', 'L1', '2024-01-01', 0, 'deposit', 'NEWCOIN\x1b[31m', 1, 0, 1, "
                "'rest', '{}'), ('main', 'L2', '2024-01-02', 0, 'deposit', 'DOT28.S', 1, 0, 1, 'rest', '{}')"))
        seeded = _cli(db_url, tmp_path, "assets", "seed")
        assert seeded.returncode == 0, seeded.stderr
        assert _cli(db_url, tmp_path, "assets", "seed").stdout.startswith("assets: 0 default identities added, 0")
        mine = _cli(db_url, tmp_path, "assets", "set", "DOT28.S", "--canonical", "dot", "--fixed-price", "4.5",
                    "--currency", "usd", "--note", "my valuation")
        assert mine.returncode == 0, mine.stderr
        assert _cli(db_url, tmp_path, "assets", "seed").returncode == 0
        listed = _cli(db_url, tmp_path, "assets", "list")
        assert listed.returncode == 0, listed.stderr
        with engine.connect() as conn:
            row = conn.execute(text("SELECT canonical, price_asset, fixed_price, fixed_currency, origin "
                                    "FROM kraken.asset_identity WHERE code = 'DOT28.S'")).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("DOT", None, 4.5, "USD", "user")
    assert "unknown asset code NEWCOIN" in listed.stdout and "\x1b" not in listed.stdout
    assert "1 entries (main), 2024-01-01 to 2024-01-01: unpriced" in listed.stdout
    assert "XXBT" in listed.stdout and "0.01 USD" in listed.stdout
