"""The books over real PostgreSQL and the CLI as a process: hand-built ledger entries and prices in, stored
disposals, income, lots at a moment, unrealised gains, and `pnl` / `lots import` out. Figures worked by hand."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

from sqlalchemy import text

from kraken_etl.core.period import Period
from kraken_etl.db.engine import make_engine
from kraken_etl.jobs import books
from tests.books.handmade import insert_daily_closes, insert_entries, insert_identities

LEDGER = [  # (ledger id, refid, time, type, subtype, asset, amount, fee, balance)
    ("L1", "D1", "2024-01-10T10:00:00Z", "deposit", "", "ZUSD", "10000", "0", "10000"),
    ("L2", "T1", "2024-01-15T10:00:00Z", "trade", "tradespot", "ZUSD", "-4000", "10", "5990"),
    ("L3", "T1", "2024-01-15T10:00:00Z", "trade", "tradespot", "XXBT", "0.1", "0", "0.1"),
    ("L4", "T2", "2024-02-15T10:00:00Z", "trade", "tradespot", "ZUSD", "-2500", "5", "3485"),
    ("L5", "T2", "2024-02-15T10:00:00Z", "trade", "tradespot", "XXBT", "0.05", "0", "0.15"),
    ("L6", "T3", "2024-03-15T10:00:00Z", "trade", "tradespot", "XXBT", "-0.08", "0", "0.07"),
    ("L7", "T3", "2024-03-15T10:00:00Z", "trade", "tradespot", "ZUSD", "4800", "12", "8273"),
    ("L8", "R1", "2024-03-20T00:00:00Z", "staking", "", "DOT.S", "2", "0", "2"),
    ("L9", "W1", "2024-04-01T00:00:00Z", "withdrawal", "", "XXBT", "-0.01", "0.0001", "0.0599"),
]


def _load(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            insert_entries(conn, [("main", *row) for row in LEDGER])
            insert_identities(conn, [("ZUSD", "USD"), ("XXBT", "BTC"), ("DOT.S", "DOT"), ("DOT", "DOT"),
                                     ("BTC", "BTC")])
            insert_daily_closes(conn, [("DOT", "DOTUSD", "2024-03-20", "7.5"),
                                       ("BTC", "XBTUSD", "2024-06-30", "60000")])
    finally:
        engine.dispose()


def test_fifo_books_stored_and_read_back(db_url: str) -> None:
    _load(db_url)
    engine = make_engine(db_url)
    try:
        result = books.run(engine, entity="main", accounts=["main"], method="fifo", currency="USD")
        assert result.disposals == 1 and result.findings == []
        # Sell 0.08 on 15 March for 4,800 (fee 12): 0.08 of the first lot (0.1 for 4,010) = 3,208.
        report = books.read_report(engine, entity="main", method="fifo", currency="USD",
                                   period=Period.of_days(__import__("datetime").date(2024, 1, 1),
                                                         __import__("datetime").date(2024, 12, 31)))
        [sale] = report.disposals
        assert (sale["amount"], sale["proceeds"], sale["cost"], sale["fees"], sale["gain"], sale["rule"]) == (
            D("0.08"), D(4800), D("3208"), D(12), D("1580"), "fifo")
        assert sale["disposal_entries"] == ["L6", "L7"] and sale["acquisition_entries"] == ["L2", "L3"]
        assert [(i["asset"], i["amount"], i["value"]) for i in report.income] == [("DOT", D(2), D("15.0"))]
        with engine.connect() as conn:
            gains = conn.execute(text("SELECT asset, year, disposals, gain FROM reporting.realised_gains "
                                      "WHERE entity = 'main' AND method = 'fifo'")).all()
            assert [tuple(g) for g in gains] == [("BTC", 2024, 1, D("1580"))]
            # After the sale: 0.02 of the first lot (802) and 0.05 (2,505); the withdrawal of 0.0101 takes
            # 0.0101 of the first lot (405.01) out. Held on 30 June: 0.0599 BTC for 2,901.99 and 2 DOT for 15.
            lots = {r.asset: (r.quantity, r.cost) for r in conn.execute(text(
                "SELECT * FROM reporting.lots_at('2024-06-30T12:00:00Z', 'main', 'fifo', 'USD')"))}
            assert lots == {"BTC": (D("0.0599"), D("2901.99")), "DOT": (D(2), D("15.0"))}
            before = {r.asset: r.quantity for r in conn.execute(text(
                "SELECT * FROM reporting.lots_at('2024-02-01T00:00:00Z', 'main', 'fifo', 'USD')"))}
            assert before == {"BTC": D("0.1")}
            unrealised = {r.asset: (r.value, r.unrealised) for r in conn.execute(text(
                "SELECT * FROM reporting.unrealised_at('2024-06-30T12:00:00Z', 'main', 'fifo', 'USD')"))}
            assert unrealised["BTC"] == (D("3594.00"), D("692.01"))
            assert unrealised["DOT"] == (None, None)  # no DOT candle on 30 June: nothing invented
    finally:
        engine.dispose()


def _cli(db_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_")}
    env.update(DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(home), COLUMNS="200", NO_COLOR="1", KRAKEN_ACCOUNT="main")
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_pnl_cli_json_csv_and_the_year(db_url: str, tmp_path: Path) -> None:
    _load(db_url)
    out = _cli(db_url, tmp_path, "pnl", "--method", "fifo", "--year", "2024", "--json", "--csv",
               str(tmp_path / "gains.csv"))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["period"]["resolved"] == "2024-01-01T00:00:00Z ≤ t < 2025-01-01T00:00:00Z"
    assert D(data["totals"]["gain"]) == 1580 and D(data["totals"]["income"]) == 15
    assert [d["acquired_at"] for d in data["disposals"]] == ["2024-01-15T10:00:00+00:00"]
    rows = list(csv.DictReader((tmp_path / "gains.csv").open(encoding="utf-8")))
    assert [(r["date_acquired"], r["date_disposed"], r["asset"], D(r["gain"]), r["holding_days"]) for r in rows] == [
        ("2024-01-15", "2024-03-15", "BTC", D(1580), "60")]
    empty = _cli(db_url, tmp_path, "pnl", "--year", "2023", "--json")
    assert json.loads(empty.stdout)["totals"]["disposals"] == 0
    text_out = _cli(db_url, tmp_path, "pnl", "--method", "uk", "--from", "2024-03-01", "--to", "2024-03-31")
    assert text_out.returncode == 0, text_out.stderr
    assert "period: 2024-03-01T00:00:00Z ≤ t < 2024-04-01T00:00:00Z" in text_out.stdout
    # uk: the pool (0.15 BTC for 6,515) gives 0.08 its average cost, 3,474.67: 4,800 - 3,474.67 - 12
    assert "gain 1,313.33" in text_out.stdout
    bad = _cli(db_url, tmp_path, "pnl", "--method", "lofo")
    assert bad.returncode == 2 and "--method" in bad.stderr


def test_lots_import_is_idempotent_and_refuses_a_bad_file_whole(db_url: str, tmp_path: Path) -> None:
    good = tmp_path / "lots.csv"
    good.write_text("asset,amount,cost,currency,acquired_at\nXBT,0.5,4000,USD,2019-05-01\n"
                    "ETH,2,300.50,usd,2018-01-02T10:00:00Z\n", encoding="utf-8")
    first = _cli(db_url, tmp_path, "lots", "import", str(good))
    assert first.returncode == 0, first.stderr
    assert "2 lot(s) read, 2 new" in first.stdout
    again = _cli(db_url, tmp_path, "lots", "import", str(good))
    assert "0 new, 2 already imported" in again.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("asset,amount,cost,currency,acquired_at\nXBT,1e3,4000,USD,2019-05-01\nDOT,5,10,USD,yesterday\n"
                   "SOL,1,2,USD,2020-01-01\n", encoding="utf-8")
    refused = _cli(db_url, tmp_path, "lots", "import", str(bad))
    assert refused.returncode == 2
    assert "line 2: amount '1e3'" in refused.stdout and "line 3: acquired_at 'yesterday'" in refused.stdout
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            held = conn.execute(text("SELECT asset, amount, currency FROM kraken.opening_lot ORDER BY asset")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in held] == [("BTC", D("0.5"), "USD"), ("ETH", D(2), "USD")]
