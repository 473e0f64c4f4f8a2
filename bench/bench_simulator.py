"""Benchmark: the simulator with a 2,000,000-entry account (not a test).

Reports the build time, the process RSS, and p50/p95 latency per Ledgers page (full request path:
signature check, query, rendering, JSON) for an ``ofs`` walk inside a fixed ``end`` and for random
offsets, plus TradesHistory/ClosedOrders pages and a filtered walk. Optionally times a 1,000,000-row
ledgers export (zip streamed to disk) and the RSS it costs. Writes bench/results/simulator.json.

Target: p95 < 20 ms per page; memory reasonable (compact columns, no per-row dicts).

    .venv/bin/python bench/bench_simulator.py [--entries 2000000] [--pages 300] [--no-export]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from kraken_etl.core.signature import sign
from kraken_etl.simulator import SimConfig, create_app
from kraken_etl.simulator.generator import TICKS

RESULTS = Path(__file__).parent / "results" / "simulator.json"


def rss_mb() -> float:
    """Current resident set size in MiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


class Caller:
    def __init__(self, client: httpx.AsyncClient, key: str, secret: str) -> None:
        self.client, self.key, self.secret = client, key, secret
        self.nonce = time.time_ns()

    async def call(self, method: str, **params: Any) -> tuple[float, dict[str, Any]]:
        self.nonce += 1
        body = urlencode({"nonce": self.nonce, **params})
        path = f"/0/private/{method}"
        headers = {"API-Key": self.key, "API-Sign": sign(path, self.nonce, body, self.secret),
                   "Content-Type": "application/x-www-form-urlencoded"}
        started = time.perf_counter()
        response = await self.client.post(path, content=body, headers=headers)
        elapsed = time.perf_counter() - started
        payload: dict[str, Any] = response.json()
        assert payload["error"] == [], payload["error"]
        return elapsed, payload["result"]


async def pages(caller: Caller, n_pages: int, count: int, end: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    walk = []
    for i in range(n_pages):
        elapsed, result = await caller.call("Ledgers", end=end, ofs=i * 50)
        assert len(result["ledger"]) == 50 and result["count"] == count
        walk.append(elapsed)
    out["ledgers_ofs_walk"] = summary(walk)
    rng = random.Random(1)
    rand = []
    for _ in range(n_pages):
        elapsed, result = await caller.call("Ledgers", end=end, ofs=rng.randrange(0, count - 50))
        assert len(result["ledger"]) == 50
        rand.append(elapsed)
    out["ledgers_random_ofs"] = summary(rand)
    first, _ = await caller.call("Ledgers", asset="XXBT", end=end)
    filtered = []
    for i in range(1, n_pages // 3):
        elapsed, _ = await caller.call("Ledgers", asset="XXBT", end=end, ofs=i * 50)
        filtered.append(elapsed)
    out["ledgers_asset_filter"] = {"first_call_ms": round(first * 1000, 3), **summary(filtered)}
    for method in ("TradesHistory", "ClosedOrders"):
        samples = []
        for i in range(n_pages // 3):
            elapsed, _ = await caller.call(method, end=end, ofs=i * 50)
            samples.append(elapsed)
        out[method] = summary(samples)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=2_000_000)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--no-export", action="store_true")
    args = parser.parse_args()

    base_rss = rss_mb()
    started = time.perf_counter()
    app = create_app(SimConfig(seed=1, ledger_entries=args.entries, rate_limits=False,
                               export_queued_seconds=0, export_processing_seconds=0))
    build_s = time.perf_counter() - started
    gc.freeze()  # as `serve` does: the long-lived account is never rescanned by the cyclic GC
    ctx = app.state.sim
    store = ctx.store
    key = ctx.config.default_key
    built_rss = rss_mb()
    report: dict[str, Any] = {
        "entries": store.ledger.n, "trades": store.trades.n, "orders": store.orders.n,
        "build_seconds": round(build_s, 2),
        "rss_mb_before": round(base_rss, 1), "rss_mb_after_build": round(built_rss, 1),
        "column_bytes_mb": round((store.ledger.nbytes() + store.trades.nbytes() + store.orders.nbytes())
                                 / 2**20, 1),
    }
    end = str(int(store.ledger.col("time")[-1]) // TICKS + 1)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            caller = Caller(client, key.key, key.secret)
            for _ in range(20):  # warm-up
                await caller.call("Ledgers", end=end)
            report["latency"] = await pages(caller, args.pages, store.ledger.n, end)
            if not args.no_export:
                times = store.ledger.col("time")
                start_tm = int(times[max(0, store.ledger.n - 1_000_000)]) // TICKS
                before = rss_mb()
                t0 = time.perf_counter()
                _, added = await caller.call("AddExport", report="ledgers", description="bench",
                                             starttm=start_tm, endtm=end)
                caller.nonce += 1
                body = urlencode({"nonce": caller.nonce, "id": added["id"]})
                path = "/0/private/RetrieveExport"
                headers = {"API-Key": key.key, "API-Sign": sign(path, caller.nonce, body, key.secret),
                           "Content-Type": "application/x-www-form-urlencoded"}
                size = 0
                async with client.stream("POST", path, content=body, headers=headers) as response:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                job = ctx.exports.jobs[added["id"]]
                report["export"] = {
                    "rows_requested_from": start_tm, "zip_bytes": size,
                    "seconds": round(time.perf_counter() - t0, 2),
                    "rss_mb_before": round(before, 1), "rss_mb_after": round(rss_mb(), 1),
                    "file": os.path.basename(job.path or ""),
                }

    asyncio.run(run())
    report["rss_mb_final"] = round(rss_mb(), 1)
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    lat = report["latency"]
    report["target_p95_ms"] = 20
    report["meets_target"] = all(v["p95_ms"] < 20 for k, v in lat.items() if k.startswith("ledgers_"))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
