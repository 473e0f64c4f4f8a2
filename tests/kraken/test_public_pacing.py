"""Public calls are paced by their own per-IP counter model, so the simulator's public limit never refuses one."""

from __future__ import annotations

from kraken_etl.core.callcounter import Tier
from kraken_etl.core.clock import ManualClock
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.market import MarketData
from kraken_etl.kraken.ratelimit import SharedCounter
from kraken_etl.simulator import SimConfig, serve_in_thread


def test_a_burst_of_public_calls_waits_for_the_counter_instead_of_being_refused() -> None:
    clock = ManualClock(1_790_000_000.0)
    sim = serve_in_thread(SimConfig(seed=3, ledger_entries=100, public_rate_limit=4, public_decay_per_second=0.5,
                                    clock=clock))
    try:
        client = KrakenClient(sim.rest_url, api_key=None, api_secret=None, clock=clock,
                              public_counter=SharedCounter(Tier("public", 4, 0.5)))
        with client:
            market = MarketData(client)
            pairs = [market.asset_pairs() for _ in range(10)]
        assert all(p == pairs[0] for p in pairs)
        assert sim.ctx.public_limiter.refused == 0
        assert market.calls == 10
        assert clock.now() - 1_790_000_000.0 >= (10 - 4) / 0.5  # it waited for the counter to drain
    finally:
        sim.stop()


def test_without_pacing_the_same_burst_is_refused() -> None:
    clock = ManualClock(1_790_000_000.0)
    sim = serve_in_thread(SimConfig(seed=3, ledger_entries=100, public_rate_limit=4, public_decay_per_second=0.5,
                                    clock=clock))
    try:
        with KrakenClient(sim.rest_url, api_key=None, api_secret=None, clock=clock) as client:
            for _ in range(6):
                client.public("AssetPairs")  # refused ones are retried after a backoff (EGeneral:Too many requests)
            assert client.stats.errors.get("EGeneral:Too many requests", 0) > 0
        assert sim.ctx.public_limiter.refused > 0
    finally:
        sim.stop()
