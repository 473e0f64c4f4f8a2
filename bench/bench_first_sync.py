"""A big account's first REST sync: peak memory, wall time, and calls over the minimum the page size allows.

    python bench/bench_first_sync.py [--ledger-entries 1000000] [--window-rows 50000] [--scale 1000]

Serves the simulator on loopback (pro tier, its call counter enforced with the decay accelerated `--scale`
times; the client models the same counter through KRAKEN_RATE_SCALE), then runs the real command
``kraken-etl sync --stream ledgers --stream trades --stream closed_orders`` as a child process into a fresh
database with no bookmark and no stored row: every stream is walked from the beginning of the history in
sub-windows of about `--window-rows` rows, each committed with its bookmark. Measured:

- the child's peak RSS (``wait4``), and its RSS sampled every half second (flat: the same after the first
  sub-window as at the end, and the same at 1M and 2M entries). Target <= 500 MB;
- wall time, and the time the accelerated counter alone needs for the calls made (the pace floor);
- calls per stream (counted by a middleware in front of the simulator) ÷ ceil(rows / 50), the fewest pages
  that can carry the rows; the overhead is the count page, one probe page per sub-window and the partly
  filled last page of each sub-window;
- the stored row counts against the simulator's truth.

Results are merged into bench/results/first_sync.json under the entry count (so the 1M and 2M runs sit
side by side).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STREAMS = {"ledgers": ("Ledgers", "ledger", "ledger_entry", 2), "trades": ("TradesHistory", "trades", "trade", 2),
           "closed_orders": ("ClosedOrders", "closed", "closed_order", 1)}


class CountCalls:
    """ASGI middleware: counts requests per path (the simulator itself is not changed)."""

    def __init__(self, app: Any, counts: Counter[str]) -> None:
        self.app, self.counts = app, counts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.counts[scope["path"]] += 1
        await self.app(scope, receive, send)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ledger-entries", type=int, default=1_000_000)
    parser.add_argument("--window-rows", type=int, default=50_000)
    parser.add_argument("--scale", type=float, default=1000.0)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import httpx
    from sqlalchemy import create_engine, text

    from kraken_etl.core.callcounter import TIERS
    from kraken_etl.core.money import loads
    from kraken_etl.simulator import SimConfig, create_app, serve_in_thread
    from tests import dbharness

    load_before = [round(x, 2) for x in os.getloadavg()]
    config = SimConfig(seed=args.seed, ledger_entries=args.ledger_entries, tier="pro", rate_scale=args.scale)
    built = time.perf_counter()
    app = create_app(config)
    counts: Counter[str] = Counter()
    app.add_middleware(CountCalls, counts=counts)
    admin = dbharness.admin_libpq_url()
    template = dbharness.create_template(admin)
    try:
        with serve_in_thread(config, app=app) as sim, dbharness.database_copy(admin, template) as url, \
                tempfile.TemporaryDirectory(prefix="bench-first-sync-") as home:
            build_seconds = time.perf_counter() - built
            env = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "DATABASE_URL"))}
            env.update({"DATABASE_URL": url, "KRAKEN_ETL_HOME": home, "KRAKEN_API_URL": sim.rest_url,
                        "KRAKEN_API_KEY": sim.api_key, "KRAKEN_API_SECRET": sim.api_secret, "KRAKEN_TIER": "pro",
                        "KRAKEN_ACCOUNT": "main", "KRAKEN_RATE_SCALE": str(args.scale), "COLUMNS": "200",
                        "NO_COLOR": "1"})
            command = [sys.executable, "-m", "kraken_etl", "sync", "--window-rows", str(args.window_rows)]
            for stream in STREAMS:
                command += ["--stream", stream]
            # migrate first, so the timed run is the sync alone
            subprocess.run([sys.executable, "-m", "kraken_etl", "db", "upgrade"], env=env, cwd=REPO, check=True,
                           capture_output=True)
            counts.clear()
            started = time.perf_counter()
            log = Path(home) / "sync.log"
            with log.open("w") as sink:
                proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
                samples: list[tuple[float, float]] = []
                stop = threading.Event()

                def sample() -> None:
                    while not stop.is_set():
                        value = rss_mb(proc.pid)
                        if value is not None:
                            samples.append((round(time.perf_counter() - started, 1), round(value, 1)))
                        stop.wait(0.5)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                _, status, usage = os.wait4(proc.pid, 0)
                stop.set()
                sampler.join()
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            output = log.read_text()
            if proc.returncode != 0:
                raise SystemExit(f"sync failed ({proc.returncode}):\n{output[-4000:]}")
            with httpx.Client(base_url=sim.rest_url, timeout=600) as http:
                truth_rows = {s: len(loads(http.get(f"/_sim/truth/{s}").content)[key])
                              for s, (_, key, _, _) in STREAMS.items()}
            engine = create_engine(url)
            with engine.connect() as conn:
                stored = {s: conn.execute(text(f"SELECT count(*) FROM kraken.{table}")).scalar_one()
                          for s, (_, _, table, _) in STREAMS.items()}
                parts = dict(conn.execute(text("SELECT stream, count(*) FROM kraken.sync_run GROUP BY stream")).all())
            engine.dispose()
    finally:
        dbharness.drop_database(admin, template)
    tier = TIERS["pro"].scaled(args.scale)
    streams = {}
    for stream, (method, _, _, cost) in STREAMS.items():
        calls = counts[f"/0/private/{method}"]
        minimum = max(1, math.ceil(truth_rows[stream] / 50))
        streams[stream] = {"rows": truth_rows[stream], "stored": stored[stream], "calls": calls,
                           "min_calls": minimum, "calls_over_min": round(calls / minimum, 4),
                           "sub_windows": parts.get(stream, 0), "cost": cost}
    calls = sum(s["calls"] for s in streams.values())
    minimum = sum(s["min_calls"] for s in streams.values())
    pace_floor = sum(s["calls"] * s["cost"] for s in streams.values()) / tier.decay_per_second
    peak = usage.ru_maxrss / 1024
    after_first = [mb for t, mb in samples if t >= seconds * 0.1]
    quarter = [samples[min(len(samples) - 1, int(len(samples) * q))][1] for q in (0.25, 0.5, 0.75)] if samples else []
    result = {
        "ledger_entries": args.ledger_entries, "window_rows": args.window_rows, "tier": "pro",
        "rate_scale": args.scale, "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(), "wall_seconds": round(seconds, 1),
        "pace_floor_seconds": round(pace_floor, 1),
        "peak_rss_mb": round(peak, 1), "rss_mb_at_25_50_75_percent": quarter,
        "rss_mb_min_max_after_first_tenth": [min(after_first), max(after_first)] if after_first else [],
        "rss_timeline_s_mb": samples[:: max(1, len(samples) // 40)],
        "calls": calls, "min_calls": minimum, "calls_over_min": round(calls / minimum, 4),
        "equal_counts": all(s["rows"] == s["stored"] for s in streams.values()), "streams": streams,
        "simulator_build_seconds": round(build_seconds, 1), "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "target": "peak RSS flat and <= 500 MB at 1M and 2M entries",
        "pass": peak <= 500 and all(s["rows"] == s["stored"] for s in streams.values()),
    }
    print(json.dumps(result, indent=2))
    out = REPO / "bench" / "results" / "first_sync.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    merged = json.loads(out.read_text()) if out.exists() else {"benchmark": "first_sync", "runs": {}}
    merged["runs"][str(args.ledger_entries)] = result
    out.write_text(json.dumps(merged, indent=2) + "\n")


if __name__ == "__main__":
    main()
