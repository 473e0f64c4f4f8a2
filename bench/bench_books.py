"""Benchmark: the lot engine over a 1,000,000-entry account (not a test).

Builds 1,000,000 ledger entries in memory (spot trades of BTC, ETH, SOL, DOT against USD and some against
each other, staking rewards, crypto deposits and withdrawals; seeded), then times, per method, the pure
part of `kraken-etl pnl`: ledger entries → lot events (treatments) → lots, disposals and income, with the
weekly checkpoints a stored run keeps (the full run). Then 1,000 more entries arrive after them and the
incremental run is timed: each changed asset resumes from its latest checkpoint at or before its first new
entry's day (uk: 30 days before), its checkpoint state decoded from the JSON it is stored as, and only the
entries from there on converted and run. Reading the ledger from PostgreSQL and storing the results are NOT
included in either. Reports wall-clock seconds and CPU seconds of this process (on a machine others load, the
CPU seconds are the steadier figure: wall time also counts the waits for a core), and peak RSS. Before the
incremental run the objects the benchmark itself holds (the million entries, the full run's rows) are frozen
out of the garbage collector's reach, as they would not exist in the process of a real incremental run.
Writes bench/results/books.json. Targets: full ≤ 10 s for fifo and for uk; incremental after 1,000 new
entries ≤ 0.5 s.

    .venv/bin/python bench/bench_books.py [--entries 1000000] [--new 1000] [--methods fifo,uk]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import time
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson

from kraken_etl.books.event_lines import LedgerLine
from kraken_etl.books.lots import compute
from kraken_etl.books.lots_checkpoint import decode, encode, resume_target
from kraken_etl.books.lots_model import Books, Checkpoint, Method
from kraken_etl.books.treatments_events import ledger_to_events

RESULTS = Path(__file__).parent / "results" / "books.json"
ASSETS = {"BTC": Decimal("40000"), "ETH": Decimal("2500"), "SOL": Decimal("100"), "DOT": Decimal("7")}


def build(entries: int, seed: int = 7) -> list[LedgerLine]:
    rng = random.Random(seed)
    at = datetime(2021, 1, 1, tzinfo=UTC)
    held = dict.fromkeys(ASSETS, Decimal(0))
    lines: list[LedgerLine] = []
    n = 0
    while len(lines) < entries:
        n += 1
        at += timedelta(seconds=rng.randint(20, 200))
        asset = rng.choice(list(ASSETS))
        price = (ASSETS[asset] * Decimal(rng.randint(800, 1200)) / 1000).quantize(Decimal("0.01"))
        roll = rng.random()
        quantity = (Decimal(rng.randint(1, 5000)) / 1000).quantize(Decimal("0.001"))
        if roll < 0.02:
            lines.append(LedgerLine(f"D{n}", f"D{n}", at, "deposit", "", asset, quantity, Decimal(0), price))
            held[asset] += quantity
        elif roll < 0.06:
            reward = (quantity / 100).quantize(Decimal("0.00001"))
            lines.append(LedgerLine(f"R{n}", f"R{n}", at, "staking", "", asset, reward, Decimal(0), price))
            held[asset] += reward
        elif roll < 0.07 and held[asset] > quantity:
            lines.append(LedgerLine(f"W{n}", f"W{n}", at, "withdrawal", "", asset, -quantity, Decimal("0.001"),
                                    price))
            held[asset] -= quantity + Decimal("0.001")
        elif roll < 0.55 or held[asset] < quantity:  # buy for USD
            cost = (quantity * price).quantize(Decimal("0.01"))
            lines.append(LedgerLine(f"U{n}", f"T{n}", at, "trade", "tradespot", "USD", -cost,
                                    (cost / 400).quantize(Decimal("0.0001")), Decimal(1)))
            lines.append(LedgerLine(f"A{n}", f"T{n}", at, "trade", "tradespot", asset, quantity, Decimal(0), price))
            held[asset] += quantity
        else:  # sell for USD
            proceeds = (quantity * price).quantize(Decimal("0.01"))
            lines.append(LedgerLine(f"A{n}", f"T{n}", at, "trade", "tradespot", asset, -quantity, Decimal(0), price))
            lines.append(LedgerLine(f"U{n}", f"T{n}", at, "trade", "tradespot", "USD", proceeds,
                                    (proceeds / 400).quantize(Decimal("0.0001")), Decimal(1)))
            held[asset] -= quantity
    return lines[:entries]


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _took(start: tuple[float, float], end: tuple[float, float]) -> tuple[float, float]:
    return round(end[0] - start[0], 3), round(end[1] - start[1], 3)


def incremental(books: Books, lines: list[LedgerLine], new: int, method: str) -> dict[str, object]:
    """The run after the last `new` lines arrived, from the checkpoints of the run without them."""
    gc.collect()
    gc.freeze()
    t0 = _clock()
    changed: dict[str, datetime] = {}
    for line in lines[-new:]:
        changed[line.asset] = min(changed.get(line.asset, line.at), line.at)
    start = {}
    for asset, first in changed.items():
        target = resume_target(method, first)
        usable = [c for c in books.checkpoints if c.asset == asset and c.at <= target]
        if usable:  # stored as JSON: decoded as the job does
            state = decode(method, orjson.loads(orjson.dumps(encode(method, usable[-1].state))))
            start[asset] = Checkpoint(asset, usable[-1].at, state)
        else:
            start[asset] = Checkpoint(asset, target, decode(method, {}))
    since = {asset: c.at for asset, c in start.items()}
    first_line = bisect_left(lines, min(since.values()), key=lambda line: line.at)  # the database's range read
    part = lines[first_line:]
    t1 = _clock()
    converted = ledger_to_events(part, currency="USD", since=since)
    t2 = _clock()
    resumed = compute(converted.events, method, resume=start, checkpoints=True)
    t3 = _clock()
    gc.unfreeze()
    return {"new_entries": new, "entries_read": len(part), "events": len(converted.events),
            "resume_seconds": _took(t0, t1)[0], "treatments_seconds": _took(t1, t2)[0],
            "lots_seconds": _took(t2, t3)[0], "total_seconds": _took(t0, t3)[0],
            "total_cpu_seconds": _took(t0, t3)[1], "disposal_rows": len(resumed.disposals), "target_seconds": 0.5}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--methods", default="fifo,uk")
    args = parser.parse_args()
    load_at_start = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    everything = build(args.entries + args.new)
    lines = everything[:args.entries]
    built = time.perf_counter() - started
    results: dict[str, object] = {"entries": len(lines), "build_seconds": round(built, 2),
                                  "scope": "pure engine: treatments + lots; no database read or write",
                                  "target_seconds": 10, "methods": {}}
    for method in args.methods.split(","):
        t0 = _clock()
        converted = ledger_to_events(lines, currency="USD")
        t1 = _clock()
        books = compute(converted.events, method, checkpoints=True)
        t2 = _clock()
        events = len(converted.events)
        del converted
        results["methods"][method] = {  # type: ignore[index]
            "events": events, "treatments_seconds": _took(t0, t1)[0], "treatments_cpu_seconds": _took(t0, t1)[1],
            "lots_seconds": _took(t1, t2)[0], "lots_cpu_seconds": _took(t1, t2)[1],
            "total_seconds": _took(t0, t2)[0], "total_cpu_seconds": _took(t0, t2)[1],
            "disposal_rows": len(books.disposals), "shortfalls": len(books.shortfalls),
            "checkpoints": len(books.checkpoints),
            "incremental": incremental(books, everything, args.new, Method(method).value),
        }
        del books
        print(method, results["methods"][method], flush=True)  # type: ignore[index]
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["load_average_1m_at_start"] = load_at_start
    results["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)  # the machine's load: timings depend on it
    results["cpus"] = os.cpu_count()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
