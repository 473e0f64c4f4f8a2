"""The full crash drills (`make drills`): kill -9 at 20+ seeded random moments of `sync`, `sync --stream
order_amends`, `backfill --via export` and `import` of a large file; rerun; check every invariant of
tests/drills/crash.py. Writes the figures to bench/results/drills.json.

Usage: ``python bench/drills/crash_drills.py [--moments N] [--seed S] [--rows R]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from kraken_etl.db.engine import make_engine  # noqa: E402
from kraken_etl.simulator import SimConfig, serve_in_thread  # noqa: E402
from tests import dbharness  # noqa: E402
from tests.drills import crash  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moments", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--ledger-entries", type=int, default=6_000)
    options = parser.parse_args()
    admin = dbharness.admin_libpq_url()
    template = dbharness.create_template(admin)
    reports: list[dict[str, object]] = []
    started = time.monotonic()
    config = SimConfig(seed=options.seed, ledger_entries=options.ledger_entries, tier="pro", rate_scale=200.0,
                       history_days=200, export_queued_seconds=0.5, export_processing_seconds=1.0)
    try:
        drills = [
            ("sync", lambda s, d, x, e, w: crash.drill_sync(s, d, x, e, w, seed=options.seed, count=options.moments,
                                                            reset=True)),
            ("amends", lambda s, d, x, e, w: crash.drill_amends(s, d, x, e, w, seed=options.seed + 1,
                                                                count=options.moments)),
            ("backfill", lambda s, d, x, e, w: crash.drill_backfill(s, d, x, e, w, seed=options.seed + 2,
                                                                    count=options.moments)),
        ]
        with serve_in_thread(config) as sim:
            for name, drill in drills:
                with dbharness.database_copy(admin, template) as db_url, \
                        dbharness.database_copy(admin, template) as scratch, \
                        tempfile.TemporaryDirectory(prefix=f"drill-{name}-") as work:
                    engine = make_engine(db_url)
                    try:
                        t0 = time.monotonic()
                        report = drill(sim, db_url, scratch, engine, Path(work))
                        seconds = round(time.monotonic() - t0, 1)
                        reports.append({**report.summary(), "ok": report.ok, "seconds": seconds})
                    finally:
                        engine.dispose()
                print(json.dumps(reports[-1], default=str), flush=True)
        with dbharness.database_copy(admin, template) as db_url, dbharness.database_copy(admin, template) as scratch, \
                tempfile.TemporaryDirectory(prefix="drill-import-") as work:
            engine = make_engine(db_url)
            try:
                t0 = time.monotonic()
                report = crash.drill_import(db_url, scratch, engine, Path(work), seed=options.seed + 3,
                                            count=options.moments, rows=options.rows, reset=True)
                reports.append({**report.summary(), "ok": report.ok, "seconds": round(time.monotonic() - t0, 1)})
            finally:
                engine.dispose()
            print(json.dumps(reports[-1], default=str), flush=True)
    finally:
        dbharness.drop_database(admin, template)
    figures = {
        "moments_per_command": options.moments,
        "kill_points_tried": sum(int(r["moments"]) for r in reports),  # type: ignore[call-overload]
        "processes_killed": sum(int(r["killed"]) for r in reports),  # type: ignore[call-overload]
        "rows_compared": sum(int(r["rows_compared"]) for r in reports),  # type: ignore[call-overload]
        "all_ok": all(r["ok"] for r in reports),
        "seconds": round(time.monotonic() - started, 1),
        "drills": reports,
    }
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "drills.json").write_text(json.dumps(figures, indent=2, default=str))
    print(json.dumps({k: v for k, v in figures.items() if k != "drills"}, indent=2))
    return 0 if figures["all_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
