"""REST efficiency: achieved calls per second ÷ the tier's theoretical ceiling, with zero rate-limit errors.

The simulator enforces the call counter of a tier with its decay accelerated (`--scale`, default x30), and
the client models the same accelerated tier. For `T` seconds of Ledgers paging (cost 2 each) the most a
perfect client can make is ``(limit + decay·T) / cost`` calls (the initial burst, then the decay rate);
efficiency = achieved ÷ that ceiling. Target: >= 0.95 over >= 30 s with no ``EAPI:Rate limit exceeded``.

    python bench/bench_rest_efficiency.py [--tier starter] [--scale 30] [--seconds 35]

Writes bench/results/rest_efficiency.json and prints the figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402

from kraken_etl.core.callcounter import TIERS  # noqa: E402
from kraken_etl.core.clock import SystemClock  # noqa: E402
from kraken_etl.jobs.streams import LEDGERS  # noqa: E402
from kraken_etl.kraken.client import KrakenClient  # noqa: E402
from kraken_etl.kraken.nonce import MemoryNonceSource  # noqa: E402
from kraken_etl.kraken.ratelimit import SharedCounter  # noqa: E402
from kraken_etl.simulator import SimConfig, serve_in_thread  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", default="starter", choices=sorted(TIERS))
    parser.add_argument("--scale", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=35.0)
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()

    sim = serve_in_thread(SimConfig(seed=3, ledger_entries=args.entries, tier=args.tier, rate_scale=args.scale))
    tier = TIERS[args.tier].scaled(args.scale)
    clock = SystemClock()
    client = KrakenClient(sim.rest_url, api_key=SecretStr(sim.api_key), api_secret=SecretStr(sim.api_secret),
                          tier=tier, clock=clock, nonce=MemoryNonceSource(clock), counter=SharedCounter(tier))
    cost = LEDGERS.cost
    pages = max(1, args.entries // 50)
    calls = 0
    end_param = int(time.time())
    started = time.monotonic()
    try:
        while time.monotonic() - started < args.seconds:
            client.private(LEDGERS.call, {"end": end_param, "ofs": (calls % pages) * 50})
            calls += 1
        elapsed = time.monotonic() - started
    finally:
        violations = sum(len(s.violations) + (s.locked_until > 0) for s in sim.ctx.auth.keys.values())
        client.close()
        sim.stop()
    ceiling_calls = (tier.limit + tier.decay_per_second * elapsed) / cost
    efficiency = calls / ceiling_calls
    result = {
        "tier": args.tier,
        "rate_scale": args.scale,
        "limit": tier.limit,
        "decay_per_second": tier.decay_per_second,
        "method": "Ledgers",
        "cost": cost,
        "seconds": round(elapsed, 3),
        "calls": calls,
        "achieved_calls_per_second": round(calls / elapsed, 4),
        "ceiling_calls": round(ceiling_calls, 2),
        "ceiling_calls_per_second": round(ceiling_calls / elapsed, 4),
        "efficiency": round(efficiency, 4),
        "rate_limit_errors_client": client.stats.rate_limited,
        "rate_limit_violations_server": violations,
        "counter_wait_seconds": round(client.stats.counter_wait, 3),
        "target": ">= 0.95 with zero rate-limit errors",
        "pass": efficiency >= 0.95 and client.stats.rate_limited == 0 and violations == 0,
    }
    out = REPO / "bench" / "results" / "rest_efficiency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"REST efficiency {efficiency:.3f} ({calls} calls in {elapsed:.1f}s, ceiling {ceiling_calls:.1f}); "
          f"rate-limit errors: client {client.stats.rate_limited}, server {violations}")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
