"""Benchmark: `kraken-etl pnl`'s job over PostgreSQL, full and incremental (not a test).

    python bench/bench_books_db.py [--entries 1000000] [--new 1000] [--methods fifo,uk]

Loads the reporting benchmark's account (bench/bench_reporting.py: N ledger entries over two years, a dozen
assets; amounts are arbitrary, so many disposals fall short of the lots and are findings) with the valuation
benchmark's asset identities and hourly candles (bench/bench_valuation.py), then per method times
`kraken_etl.jobs.books.run` after the reporting schema is refreshed, as every load leaves it (so fair values come
from the hourly price grid; `refresh_seconds` is reported apart): the full run (read every entry with its fair
value, treatments, lots, store the rows and checkpoints), then, after `--new` entries are written after the
last one, the incremental run (find what changed, read the entries from each changed asset's checkpoint on, run,
replace those rows), then a run with nothing new. Wall seconds (the database's work is in another process),
with the machine's load. Results: bench/results/books_db.json. Target for the incremental run after 1,000 new
entries: 0.5 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

NEW = """
INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, subtype, asset, amount, fee,
                                 balance, source, raw)
SELECT 'bench', 'N' || lpad(to_hex(i), 8, '0'), 'M' || lpad(to_hex(i / 2), 8, '0'),
       now() + i * interval '1 second', extract(epoch FROM now() + i * interval '1 second'),
       (ARRAY['trade', 'trade', 'trade', 'staking', 'trade'])[1 + i % 5], '',
       (ARRAY['XXBT', 'ZUSD', 'XETH', 'ZUSD', 'DOT.S', 'SOL'])[1 + i % 6],
       round(((i * 7919) % 20001 - 10000)::numeric / 1000, 4), 0, 0, 'rest', '{}'::jsonb
FROM generate_series(1::bigint, :n) AS i
"""


def _module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--methods", default="fifo,uk")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from sqlalchemy import text

    from kraken_etl.db.engine import make_engine
    from kraken_etl.db.reporting import refresh_reporting
    from kraken_etl.jobs import books
    from tests import dbharness

    reporting, valuation = _module("bench_reporting"), _module("bench_valuation")
    admin = dbharness.admin_libpq_url()
    template = dbharness.create_template(admin)
    out: dict[str, Any] = {"entries": args.entries, "new_entries": args.new,
                           "load_average_1m_at_start": round(os.getloadavg()[0], 2), "methods": {}}
    with dbharness.database_copy(admin, template) as url:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text(reporting.LOAD), {"n": args.entries})
                conn.execute(text(valuation.IDENTITIES))
                conn.execute(text(valuation.CANDLES))
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in ("ledger_entry", "price", "asset_identity"):
                    conn.execute(text(f"VACUUM ANALYZE kraken.{table}"))
            t = time.perf_counter()
            refresh_reporting(engine)  # as every load does: the books then read fair values from the hourly grid
            out["refresh_seconds"] = round(time.perf_counter() - t, 2)
            for method in args.methods.split(","):
                t0 = time.perf_counter()
                full = books.run(engine, entity="bench", accounts=["bench"], method=method, currency="USD")
                t1 = time.perf_counter()
                with engine.begin() as conn:
                    conn.execute(text(NEW), {"n": args.new})
                t2 = time.perf_counter()
                incremental = books.run(engine, entity="bench", accounts=["bench"], method=method, currency="USD")
                t3 = time.perf_counter()
                again = books.run(engine, entity="bench", accounts=["bench"], method=method, currency="USD")
                t4 = time.perf_counter()
                assert incremental.incremental and again.unchanged and not full.incremental
                out["methods"][method] = {
                    "full_seconds": round(t1 - t0, 2), "full_disposal_rows": full.disposals,
                    "incremental_seconds": round(t3 - t2, 3), "incremental_assets": list(incremental.assets),
                    "incremental_disposal_rows": incremental.disposals, "nothing_new_seconds": round(t4 - t3, 3),
                }
                print(method, out["methods"][method], flush=True)
                with engine.begin() as conn:  # the next method starts from the same ledger
                    conn.execute(text("DELETE FROM kraken.ledger_entry WHERE ledger_id LIKE 'N%'"))
        finally:
            engine.dispose()
    out["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    out["cpus"] = os.cpu_count()
    (REPO / "bench" / "results" / "books_db.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
