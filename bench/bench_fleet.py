"""Many accounts, one database: the first nightly of a fleet, then a nightly with new activity on every account.

    python bench/bench_fleet.py [--accounts 100] [--entries 5000] [--new 100] [--workers 2] [--batch-size 32]
                                [--scale 1000] [--charts]

The simulator serves `--accounts` accounts of `--entries` ledger entries each from a child process (its CPU is
not ours), pro tier, its call counter enforced with the decay accelerated `--scale` times (the client models
the same counter through KRAKEN_RATE_SCALE; the counter is never switched off). The history spans
`--history-days` (default 30: the nightly's prices step reads public market data over the history's span,
once for the whole fleet, and two years of it is minutes of Kraken's public Trades pages that say nothing
about the cost per account). The accounts are cut into batches of
`--batch-size` (KRAKEN_FLEET_BATCH_SIZE), and each batch runs in a fresh process, as a Prefect process worker
runs each `nightly/nightly-account` flow run of the fan-out: it imports the nightly flow (Prefect and ours)
first, then runs the job of each of its accounts, one after the other or `--threads` at a time as the flow's
task runner does (`jobs.nightly.run_nightly(...,
refresh="when_stale", charts=False)`: sync every stream and the balances, prices, reconcile, the reporting
refresh only when the account's own load fell in days already summed, the report of tables only; `--charts`
draws the charts as before), with its own KRAKEN_ETL_HOME; `--workers` such processes at once, all against one
fresh database; after all accounts, the parent's one reporting refresh (`jobs.refresh.refresh_once_for_fleet`),
as the `nightly-fleet` flow does. Measured, for the first nightly (every account's whole history) and for a second one
after ``/_sim/advance`` added `--new` entries to every account:

- wall time of the whole fleet, and of the parent's refresh after it;
- our CPU seconds per account, mean, p50, p95 and max: the batch process's user + system time while it ran
  that account plus its children's (with `--charts`, the report's chart engine runs in a child process of its
  own), and each part alone (time spent waiting on the call counter or on Kraken's answers is not CPU);
- our CPU per account-night with the imports: every batch process's whole CPU (its imports, its accounts, its
  children) summed over the fleet, divided by the accounts (`cpu_seconds_per_account_night_with_imports`);
- the database's size per million ledger entries (the database after the first nightly, less the empty
  migrated one, over the ledger entries stored: trades, orders, balances, findings, the reporting schema's
  materialised parts and the market's candles are in it too, so small fleets overstate it).

Measured beside them: the imports of a flow run's process (``flow_run_process_imports``: a fresh Python
importing the nightly flow and what its job imports on first use; paid once per batch). Not measured: Prefect's
own work in a flow run (its API calls, task and state bookkeeping, the worker's process start), and
PostgreSQL's own CPU (on a shared machine it cannot be told apart from other clusters').

Target: <= 1 s of our own CPU per account-night (the second nightly, imports included). Results go to
bench/results/fleet.json with the machine's load average before and after (the machine is shared).
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
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _worker_init(env: dict[str, str], homes: str) -> None:
    os.environ.update(env)
    os.environ["KRAKEN_ETL_HOME"] = str(Path(homes) / f"worker-{os.getpid()}")
    warnings.filterwarnings("ignore")


_RAN: list[str] = []  # the accounts this batch process ran (the first pays the job's imports on first use)


def _cpu(times: os.times_result) -> float:
    return times.user + times.system + times.children_user + times.children_system


def _run_batch(labels: list[str], now: str, charts: bool, threads: int) -> dict[str, Any]:
    """One batch in this fresh process, as a flow run of `nightly-account`: import the nightly flow, then each
    account's job (`threads` at a time, as the flow's task runner does: each account's own CPU is then not
    told apart); the process's whole CPU (imports and children included) and each account's."""
    from concurrent.futures import ThreadPoolExecutor

    import flows.nightly  # noqa: F401  (what a flow run's process imports first: Prefect, the flow, the job)

    imports = _cpu(os.times())
    with ThreadPoolExecutor(max_workers=threads) as pool:
        accounts = list(pool.map(lambda label: _run_account(label, now, charts), labels))
    return {"accounts": accounts, "imports_cpu_seconds": imports, "process_cpu_seconds": _cpu(os.times())}


def _run_account(label: str, now: str, charts: bool) -> dict[str, Any]:
    """One account's nightly in this batch process: our CPU for it (the process's and its children's: the
    chart engine when it draws), its wall time, its outcome."""
    from kraken_etl.jobs.nightly import run_nightly

    cpu = os.times()
    started = time.perf_counter()
    outcome = run_nightly(label, now=now, refresh="when_stale", charts=charts)
    wall = time.perf_counter() - started
    after = os.times()
    own = (after.user - cpu.user) + (after.system - cpu.system)
    children = (after.children_user - cpu.children_user) + (after.children_system - cpu.children_system)
    first = not _RAN
    _RAN.append(label)
    refresh = next((s.detail for s in outcome.steps if s.name == "refresh_reporting"), "")
    return {"account": label, "status": outcome.status, "error": outcome.error, "first_in_process": first,
            "cpu_seconds": own + children, "own_cpu_seconds": own, "children_cpu_seconds": children,
            "wall_seconds": wall, "counter_wait_seconds": sum(r.wait_seconds for r in outcome.sync),
            "inserted": sum(r.inserted for r in outcome.sync), "refreshed": not refresh.startswith("not needed")}


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {"mean": round(statistics.fmean(ordered), 3), "p50": round(statistics.median(ordered), 3),
            "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3), "max": round(ordered[-1], 3)}


def _flow_run_imports(repeats: int = 3) -> dict[str, Any]:
    """The CPU of a fresh process importing what a nightly-account flow run imports (its flow module, then on
    first use validation's pandera, the report and the reconciliation): the median of `repeats`."""
    import resource
    import subprocess

    code = ("import warnings; warnings.simplefilter('ignore'); import flows.nightly, pandera.pandas, "
            "kraken_etl.report.build, kraken_etl.recon")
    seconds = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return {"cpu_seconds_median": round(statistics.median(seconds), 3), "runs": [round(x, 3) for x in seconds],
            "imports": code.split("; ", 2)[2]}


def _night(labels: list[str], args: argparse.Namespace, env: dict[str, str], homes: str) -> dict[str, Any]:
    from kraken_etl.jobs.fleet import batches
    from kraken_etl.jobs.refresh import refresh_once_for_fleet
    from kraken_etl.settings import load_settings

    now = datetime.now(UTC).isoformat()
    started = time.perf_counter()
    cut = batches(labels, args.batch_size)
    # a fresh (spawned) process per batch, as a process worker starts one per flow run
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_worker_init, initargs=(env, homes),
                             max_tasks_per_child=1) as pool:
        done = list(pool.map(_run_batch, cut, [now] * len(cut), [args.charts] * len(cut),
                             [args.threads] * len(cut)))
    accounts_wall = time.perf_counter() - started
    runs = [run for batch in done for run in batch["accounts"]]
    processes_cpu = sum(batch["process_cpu_seconds"] for batch in done)
    cpu_before = time.process_time()
    refreshed = refresh_once_for_fleet(load_settings())  # the parent's one refresh after every account
    refresh_cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - started
    failed = [r for r in runs if r["status"] != "ok"]
    return {"wall_seconds": round(wall, 1), "accounts_wall_seconds": round(accounts_wall, 1), "accounts": len(runs),
            "failed": [(r["account"], r["error"]) for r in failed],
            "batches": len(done), "batch_size": args.batch_size,
            "cpu_seconds_per_account_night_with_imports": round(processes_cpu / len(runs), 3),
            "batch_process_imports_cpu_seconds": _stats([batch["imports_cpu_seconds"] for batch in done]),
            "cpu_seconds_per_account": _stats([r["cpu_seconds"] for r in runs]),
            "cpu_seconds_per_account_not_first_in_process":
                _stats([r["cpu_seconds"] for r in runs if not r["first_in_process"]]),
            "own_process_cpu_seconds_per_account": _stats([r["own_cpu_seconds"] for r in runs]),
            "chart_engine_child_cpu_seconds_per_account": _stats([r["children_cpu_seconds"] for r in runs]),
            "accounts_that_refreshed_reporting": sum(r["refreshed"] for r in runs),
            "parent_refresh": {"wall_seconds": round(refreshed.seconds, 2), "our_cpu_seconds": round(refresh_cpu, 3)},
            "wall_seconds_per_account_mean": round(statistics.fmean(r["wall_seconds"] for r in runs), 3),
            "counter_wait_seconds_per_account_mean":
                round(statistics.fmean(r["counter_wait_seconds"] for r in runs), 3),
            "rows_inserted": sum(r["inserted"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--entries", type=int, default=5_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=4, help="accounts of a batch at once (as the flow: 4); above 1 "
                        "the per-account CPU figures mix the accounts running together")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "fleet.json"))
    parser.add_argument("--charts", action="store_true", help="the nightly report draws its charts (as before)")
    parser.add_argument("--scale", type=float, default=1000.0)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--history-days", type=int, default=30)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import httpx
    from sqlalchemy import create_engine, text

    from kraken_etl.db.migrate import upgrade
    from kraken_etl.simulator import SimConfig
    from kraken_etl.simulator.server import serving_process
    from tests import dbharness

    load_before = [round(x, 2) for x in os.getloadavg()]
    labels = [f"acct-{i:03d}" for i in range(args.accounts)]
    config = SimConfig(seed=args.seed, accounts=args.accounts, ledger_entries=args.entries, tier="pro",
                       rate_scale=args.scale, history_days=args.history_days)
    admin = dbharness.admin_libpq_url()
    template = dbharness.create_template(admin)
    try:
        with serving_process(config, timeout=1800) as sim, dbharness.database_copy(admin, template) as url, \
                tempfile.TemporaryDirectory(prefix="bench-fleet-") as homes:
            accounts_file = Path(homes) / "accounts.toml"
            accounts_file.write_text("".join(
                f'[[accounts]]\nlabel = "{label}"\ntier = "pro"\napi_key_env = "SIM_KEY_{i}"\n'
                f'api_secret_env = "SIM_SECRET_{i}"\n\n' for i, label in enumerate(labels)))
            env = {"DATABASE_URL": url, "KRAKEN_API_URL": sim.rest_url, "KRAKEN_RATE_SCALE": str(args.scale),
                   "KRAKEN_ETL_CONFIG": str(accounts_file)}
            for i, (key, secret) in enumerate(sim.accounts):
                env[f"SIM_KEY_{i}"], env[f"SIM_SECRET_{i}"] = key, secret
            for name in [k for k in os.environ if k.startswith("KRAKEN_")]:
                del os.environ[name]
            os.environ.update(env)
            upgrade(url)
            engine = create_engine(url)
            with engine.connect() as conn:
                empty_bytes = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()

            first = _night(labels, args, env, homes)
            with engine.connect() as conn:
                full_bytes = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
                ledger_rows = conn.execute(text("SELECT count(*) FROM kraken.ledger_entry")).scalar_one()
            with httpx.Client(base_url=sim.rest_url, timeout=120) as http:
                for i in range(args.accounts):
                    http.post("/_sim/advance", params={"account": i}, json={"ledger_entries": args.new}
                              ).raise_for_status()
            second = _night(labels, args, env, homes)
            engine.dispose()
        imports = _flow_run_imports()
    finally:
        dbharness.drop_database(admin, template)
    per_million = (full_bytes - empty_bytes) / ledger_rows * 1_000_000 if ledger_rows else None
    result = {
        "benchmark": "fleet", "accounts": args.accounts, "entries_per_account": args.entries,
        "new_entries_per_account": args.new, "history_days": args.history_days, "workers": args.workers,
        "batch_size": args.batch_size, "threads_per_batch": args.threads, "charts": args.charts,
        "tier": "pro", "rate_scale": args.scale,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "cpu_count": os.cpu_count(),
        "first_nightly": first, "second_nightly": second,
        "flow_run_process_imports": imports,
        "ledger_entries_stored": ledger_rows,
        "database_mb_per_million_ledger_entries": round(per_million / 1e6, 1) if per_million else None,
        "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "not_measured": "Prefect's own work in a flow run (API calls, task and state bookkeeping, the worker "
                        "starting the process); PostgreSQL's CPU",
        "target": "<= 1 s of our own CPU per account-night (second nightly, the batch processes' CPU with their "
                  "imports, over the accounts)",
        "pass": not first["failed"] and not second["failed"]
                and second["cpu_seconds_per_account_night_with_imports"] <= 1.0,
    }
    print(json.dumps(result, indent=2))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
