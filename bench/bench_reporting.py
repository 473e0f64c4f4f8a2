"""Benchmark: the reporting schema and the HTML report on a 1,000,000-entry account.

    python bench/bench_reporting.py [--entries 1000000]

Loads N ledger entries (two years, a dozen assets, three wallets, ~40 % trade legs) and N/4 trades into a
fresh migrated database (TEST_DATABASE_URL, or the embedded test cluster) with one INSERT … SELECT, then
times, median of 3 after a warm-up run:

- `refresh_reporting` (rebuild of the materialised daily sums);
- `reporting.balance_daily` for the account (every day x asset x wallet), and one year-end day of it;
- `reporting.balances_at(year end)` and `balances_at(now())`;
- the same two answers as plain queries over the ledger (what a non-materialised view would cost);
- `write_report` for the whole range: seconds and file size.

Targets: balance_daily and balances_at <= 1 s; report <= 10 s and <= 5 MB.
Results: bench/results/reporting.json.
"""

from __future__ import annotations

import argparse
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

LOAD = """
INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, subtype, asset, wallet_resolved,
                                 wallet_source, amount, fee, balance, source, raw)
SELECT 'bench', 'L' || lpad(to_hex(i), 8, '0'), 'T' || lpad(to_hex(i / 2), 8, '0'),
       now() - interval '730 days' + (i::numeric / :n) * interval '730 days',
       extract(epoch FROM now() - interval '730 days' + (i::numeric / :n) * interval '730 days'),
       (ARRAY['trade', 'trade', 'trade', 'trade', 'deposit', 'withdrawal', 'staking', 'earn', 'transfer', 'trade'])
           [1 + i % 10],
       CASE WHEN i % 10 = 7 THEN 'reward' ELSE '' END,
       (ARRAY['XXBT', 'ZUSD', 'ZEUR', 'XETH', 'USDT', 'DOT', 'DOT.S', 'SOL', 'ETH2.S', 'KFEE', 'USD.HOLD', 'XBT.M'])
           [1 + (i * 7) % 12],
       (ARRAY['spot / main', 'spot / main', 'earn / flexible', NULL])[1 + (i * 13) % 4],
       CASE WHEN (i * 13) % 4 = 3 THEN NULL ELSE 'suffix' END,
       round(((i * 7919) % 200001 - 100000)::numeric / 1000, 4), round(((i * 31) % 50)::numeric / 10000, 4),
       0, 'rest', '{}'::jsonb
FROM generate_series(1::bigint, :n) AS i
"""
TRADES = """
INSERT INTO kraken.trade (account, txid, ordertxid, pair, time, time_raw, type, ordertype, price, cost, fee, vol,
                          source, raw)
SELECT 'bench', 'T' || lpad(to_hex(i), 8, '0'), 'O' || lpad(to_hex(i / 3), 8, '0'),
       (ARRAY['XXBTZUSD', 'XETHZUSD', 'XXBTZEUR', 'DOTUSD', 'SOLUSD', 'XETHXXBT'])[1 + i % 6],
       now() - interval '730 days' + (i::numeric / :n) * interval '730 days', 0,
       (ARRAY['buy', 'sell'])[1 + i % 2], 'limit', 100 + i % 1000, (100 + i % 1000) * 0.5, 0.26, 0.5,
       'rest', '{}'::jsonb
FROM generate_series(1::bigint, :n) AS i
"""


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from sqlalchemy import text

    from kraken_etl.db.engine import make_engine
    from kraken_etl.db.reporting import refresh_reporting
    from kraken_etl.report import write_report
    from tests import dbharness

    n = args.entries
    admin = dbharness.admin_libpq_url()
    template = dbharness.create_template(admin)
    out: dict[str, Any] = {"entries": n, "trades": n // 4, "load_average_before": os.getloadavg()}
    try:
        with dbharness.database_copy(admin, template) as url:
            engine = make_engine(url)
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text(LOAD), {"n": n})
                conn.execute(text(TRADES), {"n": n // 4})
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE kraken.ledger_entry"))
                conn.execute(text("VACUUM ANALYZE kraken.trade"))
            out["load_seconds"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            refresh_reporting(engine)
            out["refresh_seconds"] = round(time.perf_counter() - started, 3)

            def query(sql: str) -> Callable[[], int]:
                def run() -> int:
                    with engine.connect() as conn:
                        return len(conn.execute(text(sql)).all())
                return run

            year_end = "(date_trunc('year', now(), 'UTC') - interval '1 microsecond')"
            cases = {
                "balance_daily_all": "SELECT * FROM reporting.balance_daily WHERE account = 'bench'",
                "balance_daily_year_end": "SELECT * FROM reporting.balance_daily WHERE account = 'bench' "
                                          f"AND day = ({year_end} AT TIME ZONE 'UTC')::date",
                "balances_at_year_end": f"SELECT * FROM reporting.balances_at({year_end}, 'bench')",
                "balances_at_now": "SELECT * FROM reporting.balances_at(now(), 'bench')",
                "plain_balances_at_year_end": "SELECT asset, coalesce(wallet_resolved, wallet), sum(amount - fee) "
                                              "FROM kraken.ledger_entry WHERE account = 'bench' "
                                              f"AND time <= {year_end} GROUP BY 1, 2",
                "plain_balance_daily_sums": "SELECT asset, coalesce(wallet_resolved, wallet), "
                                            "(time AT TIME ZONE 'UTC')::date, sum(amount - fee) "
                                            "FROM kraken.ledger_entry WHERE account = 'bench' GROUP BY 1, 2, 3",
            }
            for name, sql in cases.items():
                seconds, rows = timed(query(sql))
                out[name] = {"seconds": round(seconds, 3), "rows": rows}
                print(f"{name}: {seconds:.3f} s ({rows} rows)", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                info = write_report(engine, Path(tmp) / "report.html", account="bench")
                out["report"] = {"seconds": round(info.seconds, 2), "size_bytes": info.size_bytes,
                                 "charts": info.charts}
            engine.dispose()
    finally:
        dbharness.drop_database(admin, template)
    out["load_average_after"] = os.getloadavg()  # the machine is shared: say how busy it was
    targets = {
        "balance_daily_all": out["balance_daily_all"]["seconds"] <= 1.0,
        "balances_at_year_end": out["balances_at_year_end"]["seconds"] <= 1.0,
        "balances_at_now": out["balances_at_now"]["seconds"] <= 1.0,
        "report_seconds": out["report"]["seconds"] <= 10.0,
        "report_size": out["report"]["size_bytes"] <= 5_000_000,
    }
    out["targets_met"] = targets
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "reporting.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
