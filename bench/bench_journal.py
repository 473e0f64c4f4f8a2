"""Benchmark: the Beancount export of a 1,000,000-entry account (`kraken-etl journal --format beancount`).

    python bench/bench_journal.py [--entries 1000000] [--bean-check] [--keep-database NAME | --reuse-database NAME]

The simulator generates the account (seed 7); its ledgers export (zip, with wallets) is loaded through the
import fast path into a fresh migrated database (TEST_DATABASE_URL, or the embedded test cluster), the
reporting schema is refreshed, then `export_journal(..., "beancount")` runs once, whole history: seconds, file
size, transactions, postings, balance assertions, this process's CPU time, the embedded test server's CPU
time (the export's queries; wall seconds minus both is waiting for a CPU on a shared machine) and the load
average around the export. Then the export's read alone (no file): seconds and CPU (this process's, the
server's) until PostgreSQL sends the first row, and for the rest of the rows. With `--bean-check`,
Beancount's own check of the file is timed too (it must report no error).

Building the account takes far longer than the export (minutes at 1,000,000 entries): `--keep-database NAME`
keeps the loaded database on the test server and `--reuse-database NAME` exports from it again (after
migrating it to head), so a change to the export can be measured alone; the result then names the reused
database and has no simulate or load figures.

Target: the export in <= 30 s. Results: bench/results/journal.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _server_cpu() -> float | None:
    """CPU seconds used so far by the embedded test server's processes (None with TEST_DATABASE_URL: another
    server). A figure the load of other processes on the machine hardly changes, unlike wall seconds."""
    if os.environ.get("TEST_DATABASE_URL"):
        return None
    from tests import dbharness

    pid_file = dbharness.TEST_HOME / "pgdata" / "postmaster.pid"
    postmaster = int(pid_file.read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(proc.name) == postmaster or int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / tick


def _export(engine: Any, out: dict[str, Any], bean_check: bool) -> None:
    from kraken_etl.jobs.journal import export_journal

    with tempfile.TemporaryDirectory() as tmp:
        load = os.getloadavg()
        cpu, server = time.process_time(), _server_cpu()
        result = export_journal(engine, Path(tmp) / "bench.beancount", "beancount", accounts=["bench"])
        server_after = _server_cpu()
        stats = result.stats
        out["export"] = {
            "seconds": round(result.seconds, 2), "size_bytes": result.size_bytes,
            # this process's CPU (reading the rows, rendering, writing); the rest of `seconds` is the
            # database's work and waiting for a CPU on a shared machine
            "client_cpu_seconds": round(time.process_time() - cpu, 2),
            # the test server's CPU meanwhile (the export's queries; anything else run on that server too)
            "server_cpu_seconds": None if server is None or server_after is None else round(server_after - server, 2),
            "load_average_at_start": load, "load_average_at_end": os.getloadavg(),
            "transactions": stats.transactions, "postings": stats.postings,
            "assertions": stats.assertions, "unasserted": stats.unasserted,
            "first_day": str(stats.first_day), "last_day": str(stats.last_day),
        }
        print(f"export: {result.seconds:.1f} s, {result.size_bytes / 1e6:.1f} MB", flush=True)
        if bean_check:
            started = time.perf_counter()
            proc = subprocess.run([str(Path(sys.executable).with_name("bean-check")), str(result.path)],
                                  capture_output=True, text=True, check=False)
            out["bean_check"] = {"seconds": round(time.perf_counter() - started, 1),
                                 "exit_code": proc.returncode, "errors": proc.stdout.count("\n")}


def _read_alone(engine: Any, out: dict[str, Any]) -> None:
    """The export's read of the entries alone (no file written): how long PostgreSQL works before it sends the
    first row (the view's windows and sort), then the rest of the read; this process's and the server's CPU
    in each part."""
    from kraken_etl.db.journal import journal_entries

    with engine.connect() as conn, conn.begin():
        load = os.getloadavg()
        started, cpu, server = time.perf_counter(), time.process_time(), _server_cpu()
        rows = journal_entries(conn, accounts=None, start=None, end=None, numbers_as_text=True)
        count = 1 if next(rows, None) is not None else 0
        first, first_cpu, first_server = time.perf_counter(), time.process_time(), _server_cpu()
        count += sum(1 for _ in rows)
        done, done_cpu, done_server = time.perf_counter(), time.process_time(), _server_cpu()

    def spent(after: float | None, before: float | None) -> float | None:
        return None if after is None or before is None else round(after - before, 2)

    out["read_alone"] = {
        "rows": count, "load_average_at_start": load, "load_average_at_end": os.getloadavg(),
        "first_row_seconds": round(first - started, 2), "server_cpu_to_first_row": spent(first_server, server),
        "rest_seconds": round(done - first, 2), "client_cpu_rest": round(done_cpu - first_cpu, 2),
        "server_cpu_rest": spent(done_server, first_server), "client_cpu_total": round(done_cpu - cpu, 2),
    }
    print(f"read alone: first row after {first - started:.1f} s, all after {done - started:.1f} s", flush=True)


def _build(entries: int, url: str, out: dict[str, Any]) -> None:
    """Simulate the account, export its ledgers and load them into the (migrated, empty) database `url`."""
    from sqlalchemy import text

    from kraken_etl.db.engine import make_engine
    from kraken_etl.db.reporting import refresh_reporting
    from kraken_etl.jobs.fileload import import_files
    from kraken_etl.simulator import SimConfig, create_app

    started = time.perf_counter()
    app = create_app(SimConfig(seed=7, ledger_entries=entries, rate_limits=False, export_prebuild=False))
    ctx = app.state.sim
    now = time.time()
    job_id = ctx.exports.add({"report": "ledgers", "description": "bench", "starttm": "1", "endtm": str(int(now))},
                             now, False)
    zip_path = Path(ctx.exports.zip_path(ctx.exports.jobs[job_id], corrupt=False))
    out["simulate_and_export_seconds"] = round(time.perf_counter() - started, 1)
    print(f"export zip: {zip_path} ({zip_path.stat().st_size / 1e6:.1f} MB)", flush=True)
    engine = make_engine(url)
    started = time.perf_counter()
    import_files(engine, [zip_path], account="bench")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE kraken.ledger_entry"))
    refresh_reporting(engine)
    out["load_seconds"] = round(time.perf_counter() - started, 1)
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--bean-check", action="store_true")
    parser.add_argument("--keep-database", metavar="NAME",
                        help="build into a database of this name on the test server and keep it")
    parser.add_argument("--reuse-database", metavar="NAME",
                        help="export from a database an earlier --keep-database run built (migrated to head "
                        "first); --entries is then not used")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from sqlalchemy import text

    from kraken_etl.db import embedded, migrate
    from kraken_etl.db.engine import make_engine
    from tests import dbharness

    out: dict[str, Any] = {"entries_asked": None if args.reuse_database else args.entries,
                           "load_average_before": os.getloadavg()}
    admin = dbharness.admin_libpq_url()
    name = args.reuse_database or args.keep_database or dbharness.unique_name("kt_bench")
    url = dbharness.url_for(admin, name)
    if args.reuse_database:
        out["database_reused"] = name  # built by an earlier run: no simulate or load figures in this one
    else:
        embedded.create_database(admin, name)
    try:
        migrate.upgrade(url)
        if not args.reuse_database:
            _build(args.entries, url, out)
        engine = make_engine(url)
        with engine.connect() as conn:
            out["entries"] = conn.execute(text("SELECT count(*) FROM kraken.ledger_entry")).scalar_one()
        print(f"{out['entries']} entries", flush=True)
        _export(engine, out, args.bean_check)
        _read_alone(engine, out)
        engine.dispose()
    finally:
        if not (args.keep_database or args.reuse_database):
            dbharness.drop_database(admin, name)
    out["load_average_after"] = os.getloadavg()  # the machine is shared: say how busy it was
    out["targets_met"] = {"export_seconds": out["export"]["seconds"] <= 30.0}
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "journal.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0 if all(out["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
