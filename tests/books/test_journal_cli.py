"""`kraken-etl journal` as a real process: a partial history (an import of a later range) opens at Kraken's
balance, a period opens with the balances as of its start, and the command prints the resolved interval."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kraken_etl.db.engine import make_engine
from kraken_etl.jobs import books as pnl
from tests.books.conftest import bean_check

HEADER = '"txid","refid","time","type","subtype","aclass","subclass","asset","wallet","amount","fee","balance"\n'
ROWS = [  # balances chain from 100 EUR: entries before these are not loaded
    ("L1", "2021-01-01 09:00:00", "deposit", "EUR", "10.0000", "0.0000", "110.0000"),
    ("L2", "2021-01-01 10:00:00", "withdrawal", "EUR", "-5.0000", "0.5000", "104.5000"),
    ("L3", "2021-01-03 10:00:00", "deposit", "EUR", "1.2500", "0.0000", "105.7500"),
    ("L4", "2021-01-03 11:00:00", "deposit", "BTC", "0.0100000000", "0.0000000000", "0.0100000000"),
]


def _cli(db_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_")}
    env.update(DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(home), COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def test_journal_command_partial_history_and_period(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "ledgers.csv"
    path.write_text(HEADER + "".join(
        f'"{lid}-AAAAA-BBBBBB","R{lid}-CCCCC","{time}","{typ}","","currency","fiat","{asset}","spot / main",'
        f"{amount},{fee},{balance}\n" for lid, time, typ, asset, amount, fee, balance in ROWS))
    loaded = _cli(db_url, tmp_path, "import", str(path), "--account", "books")
    assert loaded.returncode == 0, loaded.stderr

    whole = tmp_path / "all.beancount"
    run = _cli(db_url, tmp_path, "journal", "--format", "beancount", "--out", str(whole))
    assert run.returncode == 0, run.stderr
    assert "period: the whole stored history" in run.stdout
    body = whole.read_text()
    assert "Equity:Opening-Balances  -100.0000 EUR" in body  # Kraken's balance before the first stored entry
    assert "2021-01-02 balance Assets:Kraken:Books:Spot:EUR  104.5000 ~ 0 EUR" in body
    assert "2021-01-04 balance Assets:Kraken:Books:Spot:EUR  105.7500 ~ 0 EUR" in body
    checked = bean_check(whole)
    assert checked.code == 0, checked.output

    year = tmp_path / "jan.beancount"
    run = _cli(db_url, tmp_path, "journal", "--format", "beancount", "--account", "books", "--from", "2021-01-02",
               "--to", "2021-01-31", "--out", str(year))
    assert run.returncode == 0, run.stderr
    assert "period: 2021-01-02T00:00:00Z ≤ t < 2021-02-01T00:00:00Z" in run.stdout
    body = year.read_text()
    assert "Assets:Kraken:Books:Spot:EUR  104.5000 EUR" in body  # the opening as of --from
    assert "L1-AAAAA" not in body and "L3-AAAAA" in body
    checked = bean_check(year)
    assert checked.code == 0, checked.output



def test_journal_method_needs_stored_books_and_a_known_method(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "ledgers.csv"
    path.write_text(HEADER + "".join(
        f'"{lid}-AAAAA-BBBBBB","R{lid}-CCCCC","{time}","{typ}","","currency","fiat","{asset}","spot / main",'
        f"{amount},{fee},{balance}\n" for lid, time, typ, asset, amount, fee, balance in ROWS))
    assert _cli(db_url, tmp_path, "import", str(path), "--account", "gains").returncode == 0
    out = tmp_path / "gains.beancount"
    bogus = _cli(db_url, tmp_path, "journal", "--format", "beancount", "--method", "fofi", "--out", str(out))
    assert bogus.returncode == 2 and "--method: 'fofi' is not one of fifo" in bogus.stderr
    missing = _cli(db_url, tmp_path, "journal", "--format", "beancount", "--account", "gains", "--method", "fifo",
                   "--out", str(out))
    assert missing.returncode != 0
    assert "no stored fifo books in USD cover account 'gains'" in missing.stderr
    assert "kraken-etl pnl --method fifo --currency USD" in missing.stderr
    assert not out.exists()


def test_journal_with_lots_of_a_partial_history_and_a_period(db_url: str, tmp_path: Path) -> None:
    """Fifo books in Beancount: the partial history's opening balance and a period's start open with lots at
    cost, a withdrawal is a `{}` reduction; bean-check accepts both files, balance assertions included."""
    path = tmp_path / "ledgers.csv"
    path.write_text(HEADER + "".join(
        f'"{lid}-AAAAA-BBBBBB","R{lid}-CCCCC","{time}","{typ}","","currency","fiat","{asset}","spot / main",'
        f"{amount},{fee},{balance}\n" for lid, time, typ, asset, amount, fee, balance in ROWS))
    assert _cli(db_url, tmp_path, "import", str(path), "--account", "lotted").returncode == 0
    engine = make_engine(db_url)
    try:
        pnl.run(engine, entity="lotted", accounts=["lotted"], method="fifo", currency="USD")
    finally:
        engine.dispose()
    whole, jan = tmp_path / "lots.beancount", tmp_path / "jan.beancount"
    run = _cli(db_url, tmp_path, "journal", "--format", "beancount", "--account", "lotted", "--method", "fifo",
               "--out", str(whole))
    assert run.returncode == 0, run.stderr
    assert "lots: 3 acquisitions at cost, 1 reductions booked by Beancount" in run.stdout
    body = whole.read_text()
    assert 'option "booking_method" "FIFO"' in body
    assert '2021-01-01 * "Kraken" "Opening lots"' in body  # the partial history's 100 EUR, as a lot
    assert "Assets:Kraken:Lotted:EUR  -5.5000 EUR {}" in body  # the withdrawal and its fee leave the lots
    assert "2021-01-02 balance Assets:Kraken:Lotted:EUR  104.5000 ~ 0 EUR" in body
    assert bean_check(whole).code == 0, bean_check(whole).output
    run = _cli(db_url, tmp_path, "journal", "--format", "beancount", "--account", "lotted", "--method", "fifo",
               "--from", "2021-01-02", "--to", "2021-01-31", "--out", str(jan))
    assert run.returncode == 0, run.stderr
    body = jan.read_text()
    assert '2021-01-02 * "Kraken" "Opening lots"' in body and "Assets:Kraken:Lotted:EUR  94.5000 EUR {{" in body
    assert bean_check(jan).code == 0, bean_check(jan).output
    plain = _cli(db_url, tmp_path, "journal", "--format", "beancount", "--account", "lotted", "--method", "fifo",
                 "--no-lots", "--out", str(whole))
    assert plain.returncode == 0 and "realised gains: 0 disposals posted" in plain.stdout, plain.stderr
