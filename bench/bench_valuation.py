"""Benchmark: valuation in the reporting schema on a 1,000,000-entry account, beside the unvalued queries.

    python bench/bench_valuation.py [--entries 1000000]

Loads the reporting benchmark's account (bench/bench_reporting.py: N ledger entries over two years, a dozen
assets, N/4 trades), the identities of its assets and two years of hourly candles for six USD pairs (one
INSERT … SELECT each), refreshes the reporting schema (the hourly price series included), then times,
median of 3 after a warm-up run, each beside the unvalued query of the same rows in the same run:

- valued `reporting.ledger` over the last year vs the ledger view as it was before valuation (migration
  0006's definition), every column streamed to the client with COPY (no Python conversion per value);
- `reporting.portfolio_daily` over two years vs the same end-of-day balances from `balance_daily`;
- `write_report` for the whole range (with the valuation sections).

Targets: valued ledger <= 1.5 x unvalued; portfolio_daily <= 1 s; report <= 10 s.
Results: bench/results/valuation.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

IDENTITIES = """
INSERT INTO kraken.asset_identity (code, canonical, price_asset, fixed_price, fixed_currency) VALUES
    ('XXBT', 'BTC', 'BTC', NULL, NULL), ('XBT.M', 'BTC', 'BTC', NULL, NULL), ('ZUSD', 'USD', 'USD', NULL, NULL),
    ('USD.HOLD', 'USD', 'USD', NULL, NULL), ('ZEUR', 'EUR', 'EUR', NULL, NULL), ('XETH', 'ETH', 'ETH', NULL, NULL),
    ('ETH2.S', 'ETH', 'ETH', NULL, NULL), ('USDT', 'USDT', 'USDT', NULL, NULL), ('DOT', 'DOT', 'DOT', NULL, NULL),
    ('DOT.S', 'DOT', 'DOT', NULL, NULL), ('SOL', 'SOL', 'SOL', NULL, NULL), ('KFEE', 'KFEE', NULL, 0.01, 'USD')
"""
CANDLES = """
INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, volume, trades, source, complete)
SELECT p.pair, 60, h, p.base, 'USD', p.level, p.level * 1.01, p.level * 0.99,
       round(p.level * (1 + (extract(epoch FROM h)::bigint % 97 - 48) / 10000.0), 6), 10, 5, 'file', true
FROM (VALUES ('XBTUSD', 'BTC', 60000.0), ('ETHUSD', 'ETH', 3000.0), ('EURUSD', 'EUR', 1.1),
             ('USDTUSD', 'USDT', 1.0), ('DOTUSD', 'DOT', 7.0), ('SOLUSD', 'SOL', 150.0)) AS p(pair, base, level),
     generate_series(date_trunc('hour', now(), 'UTC') - interval '731 days', date_trunc('hour', now(), 'UTC'),
                     interval '1 hour') AS h
"""


def _bench_reporting() -> Any:
    spec = importlib.util.spec_from_file_location("bench_reporting", REPO / "bench" / "bench_reporting.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ledger_0006() -> str:
    spec = importlib.util.spec_from_file_location(
        "r0006", next((REPO / "migrations" / "versions").glob("*_0006_*.py")))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.LEDGER).replace("CREATE VIEW reporting.ledger AS", "")


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, list[float], Any]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), [round(t, 3) for t in times], result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import psycopg
    from sqlalchemy import text

    from kraken_etl.db.engine import make_engine
    from kraken_etl.db.reporting import refresh_reporting
    from kraken_etl.report import write_report
    from tests import dbharness

    reporting = _bench_reporting()
    n = args.entries
    admin = dbharness.admin_libpq_url()
    template = dbharness.create_template(admin)
    out: dict[str, Any] = {"entries": n, "trades": n // 4, "load_average_before": os.getloadavg()}
    try:
        with dbharness.database_copy(admin, template) as url:
            engine = make_engine(url)
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text(reporting.LOAD), {"n": n})
                conn.execute(text(reporting.TRADES), {"n": n // 4})
                conn.execute(text(IDENTITIES))
                out["candles"] = conn.execute(text(CANDLES)).rowcount
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in ("ledger_entry", "trade", "price", "asset_identity"):
                    conn.execute(text(f"VACUUM ANALYZE kraken.{table}"))
            out["load_seconds"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            refresh_reporting(engine, {"bench": "USD"}, "USD")
            out["refresh_seconds"] = round(time.perf_counter() - started, 3)
            with engine.connect() as conn:
                out["price_hourly_rows"] = conn.execute(text("SELECT count(*) FROM reporting.price_hourly")).scalar()
            libpq = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

            def copy(sql: str) -> Callable[[], tuple[int, int]]:
                def run() -> tuple[int, int]:
                    size = rows = 0
                    with psycopg.connect(libpq) as conn, conn.cursor() as cur, \
                            cur.copy(f"COPY ({sql}) TO STDOUT") as stream:
                        for block in stream:
                            size += len(block)
                            rows += bytes(block).count(b"\n")
                    return rows, size
                return run

            year = "time >= now() - interval '365 days'"
            cases = {
                "ledger_year_unvalued": f"SELECT * FROM ({_ledger_0006()}) l WHERE account = 'bench' AND {year}",
                "ledger_year_valued": f"SELECT * FROM reporting.ledger WHERE account = 'bench' AND {year}",
                "balances_two_years_unvalued": "SELECT account, day, asset, sum(balance) FROM reporting.balance_daily "
                                               "WHERE account = 'bench' GROUP BY 1, 2, 3",
                "portfolio_daily_two_years": "SELECT * FROM reporting.portfolio_daily WHERE account = 'bench'",
            }
            for name, sql in cases.items():
                seconds, runs, (rows, size) = timed(copy(sql))
                out[name] = {"seconds": round(seconds, 3), "runs": runs, "rows": rows, "bytes": size}
                print(f"{name}: {seconds:.3f} s ({rows} rows)", flush=True)
            with engine.connect() as conn:
                out["ledger_year_unpriced_rows"] = conn.execute(text(
                    f"SELECT count(*) FROM reporting.ledger WHERE account = 'bench' AND {year} AND price IS NULL"
                )).scalar()
            with tempfile.TemporaryDirectory() as tmp:
                info = write_report(engine, Path(tmp) / "report.html", account="bench")
                out["report"] = {"seconds": round(info.seconds, 2), "size_bytes": info.size_bytes,
                                 "charts": info.charts}
            engine.dispose()
    finally:
        dbharness.drop_database(admin, template)
    out["load_average_after"] = os.getloadavg()  # the machine is shared: say how busy it was
    ratio = out["ledger_year_valued"]["seconds"] / out["ledger_year_unvalued"]["seconds"]
    out["ledger_valued_over_unvalued"] = round(ratio, 3)
    out["targets_met"] = {
        "ledger_ratio_le_1_5": ratio <= 1.5,
        "portfolio_daily_le_1_s": out["portfolio_daily_two_years"]["seconds"] <= 1.0,
        "report_le_10_s": out["report"]["seconds"] <= 10.0,
    }
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "valuation.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0 if all(out["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
