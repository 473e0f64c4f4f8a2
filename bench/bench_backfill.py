"""Big truth check: an export backfill of a 1,000,000-entry simulator account equals `/_sim/truth`.

    python bench/bench_backfill.py [--ledger-entries 1000000] [--seed 5]

Serves the simulator on loopback (building the account takes ~20-30 s), then in a child process (whose
peak RSS is reported) runs `kraken_etl.jobs.backfill.backfill` for ledgers and trades, via export, over the
whole history into a fresh database (TEST_DATABASE_URL or the embedded test cluster). Then every stored
row is compared with `/_sim/truth/ledgers` and `/_sim/truth/trades`, field by field with typed values:
exact Decimals, ids, vocabularies, the ledger list of each trade, and the time at the export's precision
(ledgers whole seconds, trades 4 digits: the truth cut to that precision). Results:
bench/results/backfill.json (rows, equal, seconds, peak RSS, first mismatches if any, and the time split:
waiting on Kraken — export processing and download — against our own work: planning, parsing, validation,
loading) and the database floor of the same rows (a plain INSERT … SELECT of each loaded table into an
empty copy with the same indexes: what storing them costs with no Python at all). Target: our own
work <= 30 s for 1,000,000 entries on the 2-core machine; the plan from the data asks for one ledgers
export and one trades export.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _waited(details: dict[str, Any]) -> Any:
    """Seconds one step waited on Kraken: export processing polls + download (seconds, not money)."""
    return (float(details.get("kraken_processing_wait_seconds", 0.0))  # float-ok: seconds
            + float(details.get("download_seconds", 0.0)))  # float-ok: seconds


def child_backfill(rest_url: str, url: str, home: str, start: str, end: str) -> None:
    """Run in a child process: the export backfill; prints seconds, per-stream counts and peak RSS."""
    from pydantic import SecretStr

    from kraken_etl.core.callcounter import TIERS
    from kraken_etl.core.clock import SystemClock
    from kraken_etl.core.tuning import relaxed_gc
    from kraken_etl.db.engine import make_engine
    from kraken_etl.jobs.backfill import BackfillRequest, backfill, plan
    from kraken_etl.jobs.exportcycle import ExportPolicy
    from kraken_etl.kraken.client import KrakenClient
    from kraken_etl.kraken.nonce import MemoryNonceSource
    from kraken_etl.kraken.ratelimit import SharedCounter

    clock = SystemClock()
    tier = TIERS["pro"]
    client = KrakenClient(rest_url, api_key=SecretStr(os.environ["SIM_KEY"]),
                          api_secret=SecretStr(os.environ["SIM_SECRET"]), tier=tier, clock=clock,
                          nonce=MemoryNonceSource(clock), counter=SharedCounter(tier), timeout=600.0)
    engine = make_engine(url)
    request = BackfillRequest("bench", datetime.fromisoformat(start), datetime.fromisoformat(end),
                              ("ledgers", "trades"), "export", chunk=None)
    policy = ExportPolicy(poll_initial=0.5, poll_max=2.0, timeout=1800.0)
    started = time.perf_counter()
    with client, relaxed_gc():  # as the `backfill` command runs it
        planned = plan(request, engine=engine, client=client)
        planning = time.perf_counter() - started
        results = backfill(request, engine=engine, client=client, clock=clock, home=Path(home), policy=policy,
                           planned=planned)
    seconds = time.perf_counter() - started
    engine.dispose()
    waiting = sum(_waited(r.details) for r in results)
    print(json.dumps({
        "seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "split": {"waiting_on_kraken_seconds": round(waiting, 2), "our_work_seconds": round(seconds - waiting, 2),
                  "planning_seconds": round(planning, 2),
                  "loading_seconds": round(sum(r.duration_seconds for r in results), 2),
                  "note": "waiting = export processing polls + download; our work = planning (count calls), "
                          "loading (verify, parse, validate, store: the load runs' own timers), the rest "
                          "(AddExport/RetrieveExport/RemoveExport calls, job bookkeeping)"},
        "plan": [f"{r.stream} {r.rows} rows via {r.via}" for r in planned.ranges],
        "steps": [{"stream": r.stream, "rows": r.fetched, "load_seconds": round(r.duration_seconds, 2),
                   "waiting_seconds": round(_waited(r.details), 2)} for r in results],
        "streams": {stream: {"steps": sum(1 for r in results if r.stream == stream),
                             "rows": sum(r.fetched for r in results if r.stream == stream),
                             "loaded": sum(r.loaded for r in results if r.stream == stream),
                             "quarantined": sum(r.quarantined for r in results if r.stream == stream)}
                    for stream in dict.fromkeys(r.stream for r in results)},
    }))


def _floor(value: Any, digits: int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_FLOOR)


def compare(url: str, ledger_truth: dict[str, Any], trade_truth: dict[str, Any]) -> tuple[int, list[str]]:
    """Compare every stored row with the truth; returns (mismatch count, the first few mismatches)."""
    import psycopg

    problems: list[str] = []
    count = 0

    def bad(message: str) -> None:
        nonlocal count
        count += 1
        if len(problems) < 20:
            problems.append(message)

    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        ledger = {r[0]: r for r in conn.execute(
            "SELECT ledger_id, refid, type, subtype, aclass, asset, wallet, amount, fee, balance, time_raw "
            "FROM kraken.ledger_entry WHERE account = 'bench'")}
        trades = {r[0]: r for r in conn.execute(
            "SELECT txid, ordertxid, pair, type, ordertype, misc, price, cost, fee, vol, margin, ledgers, "
            "time_raw FROM kraken.trade WHERE account = 'bench'")}
    for key in ledger_truth.keys() ^ ledger.keys():
        bad(f"ledger {key}: {'missing' if key in ledger_truth else 'extra'}")
    for key, want in ledger_truth.items():
        row = ledger.get(key)
        if row is None:
            continue
        expected = (want["refid"], want["type"], want["subtype"], want["aclass"], want["asset"], want["wallet"],
                    Decimal(want["amount"]), Decimal(want["fee"]), Decimal(want["balance"]),
                    _floor(want["time"], 0))
        if tuple(row[1:]) != expected:
            bad(f"ledger {key}: stored {row[1:]} != truth {expected}")
    for key in trade_truth.keys() ^ trades.keys():
        bad(f"trade {key}: {'missing' if key in trade_truth else 'extra'}")
    for key, want in trade_truth.items():
        row = trades.get(key)
        if row is None:
            continue
        margin = want.get("margin")
        expected_trade = (want["ordertxid"], want["pair"], want["type"], want["ordertype"], want["misc"],
                    Decimal(want["price"]), Decimal(want["cost"]), Decimal(want["fee"]), Decimal(want["vol"]),
                    None if margin is None else Decimal(margin), want["ledgers"], _floor(want["time"], 4))
        if tuple(row[1:]) != expected_trade:
            bad(f"trade {key}: stored {row[1:]} != truth {expected_trade}")
    return count, problems


def database_floor(url: str) -> dict[str, float]:
    """What the database alone needs to store the loaded rows again: a plain INSERT … SELECT of each
    table's rows (already typed, no Python) into an empty copy with the same indexes and constraints."""
    import psycopg

    out: dict[str, float] = {}
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        for table in ("ledger_entry", "trade"):
            conn.execute(f"CREATE TABLE kraken.floor_{table} (LIKE kraken.{table} INCLUDING ALL)")
            conn.commit()
            started = time.perf_counter()
            conn.execute(f"INSERT INTO kraken.floor_{table} SELECT * FROM kraken.{table} WHERE account = 'bench'")
            conn.commit()
            out[f"{table}_seconds"] = round(time.perf_counter() - started, 2)
            conn.execute(f"DROP TABLE kraken.floor_{table}")
            conn.commit()
    out["total_seconds"] = round(out["ledger_entry_seconds"] + out["trade_seconds"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ledger-entries", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        child_backfill(*args.child)
        return
    warnings.filterwarnings("ignore")
    import httpx

    from kraken_etl.core.money import loads
    from kraken_etl.simulator import SimConfig, serve_in_thread
    from tests import dbharness

    workdir = REPO / "bench" / "results"
    workdir.mkdir(parents=True, exist_ok=True)
    load_before = [round(x, 2) for x in os.getloadavg()]
    built = time.perf_counter()
    config = SimConfig(seed=args.seed, ledger_entries=args.ledger_entries, tier="pro", rate_limits=False,
                       export_queued_seconds=1.0, export_processing_seconds=2.0)
    admin = dbharness.admin_libpq_url()
    template = dbharness.create_template(admin)
    try:
        with serve_in_thread(config) as sim, dbharness.database_copy(admin, template) as url:
            build_seconds = time.perf_counter() - built
            home = workdir / "backfill-home"
            end = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
            env = {**os.environ, "SIM_KEY": sim.api_key, "SIM_SECRET": sim.api_secret}
            out = subprocess.run(
                [sys.executable, __file__, "--child", sim.rest_url, url, str(home), "2000-01-01T00:00:00+00:00",
                 end.isoformat()], capture_output=True, text=True, env=env, cwd=REPO, check=False)
            if out.returncode != 0:
                raise SystemExit(f"backfill failed:\n{out.stderr[-4000:]}")
            ours = json.loads(out.stdout.strip().splitlines()[-1])
            fetched = time.perf_counter()
            with httpx.Client(base_url=sim.rest_url, timeout=600) as http:
                ledger_truth = loads(http.get("/_sim/truth/ledgers").content)["ledger"]
                trade_truth = loads(http.get("/_sim/truth/trades").content)["trades"]
            mismatches, examples = compare(url, ledger_truth, trade_truth)
            compare_seconds = time.perf_counter() - fetched
            floor = database_floor(url)
    finally:
        dbharness.drop_database(admin, template)
    report = {
        "benchmark": "backfill", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(), "ledger_entries": args.ledger_entries, "seed": args.seed,
        "rows": {"ledgers": len(ledger_truth), "trades": len(trade_truth)},
        "equal": mismatches == 0, "mismatches": mismatches, "examples": examples,
        "seconds": round(ours["seconds"], 1), "peak_rss_mb": round(ours["peak_rss_mb"], 1),
        "split": ours["split"],
        "database_floor": {**floor, "our_work_over_floor": round(ours["split"]["our_work_seconds"]
                                                                 / floor["total_seconds"], 2)},
        "streams": ours["streams"], "simulator_build_seconds": round(build_seconds, 1),
        "compare_seconds": round(compare_seconds, 1), "plan": ours["plan"], "steps": ours["steps"],
        "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(report, indent=2))
    (workdir / "backfill.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
