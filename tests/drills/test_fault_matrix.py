"""Fault drills against the simulator (the faults of the Kraken ring).

Each sync under a fault ends exactly equal to the simulator's truth, or fails with one typed error and a
state the next run resumes from. Defects found here once: a storm of 20 consecutive
`EAPI:Rate limit exceeded` aborted the account after 8 attempts in 2 s.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from kraken_etl.kraken.errors import RetriesExhausted
from tests.pipeline.conftest import make_sim
from tests.pipeline.truth import compare_all

pytestmark = pytest.mark.timeout(300)

FAULTS = {
    "rate-limit storm of 20": "rate_limit_storm=20,seed=1",
    "HTTP 5xx pages": "http_5xx=0.15,seed=3",
    "EService:Unavailable": "service_unavailable=0.15,seed=4",
    "EService:Busy": "service_busy=0.15,seed=5",
    "truncated JSON": "truncated_json=0.1,seed=6",
    "count drift": "count_drift=2,seed=7",
    "mixed": "http_5xx=0.05,service_unavailable=0.05,truncated_json=0.05,rate_limit_storm=12,count_drift=1,seed=8",
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_sync_under_a_fault_equals_the_truth(engine: Engine, fault: str) -> None:
    sim = make_sim(ledger_entries=400, seed=21)
    try:
        sim.faults(FAULTS[fault])
        client = sim.client()
        sync_account(SYNC_ORDER, client=client, engine=engine, account="main")
        sim.faults("")
        if "count_drift" in FAULTS[fault]:
            # drift adds entries after the frozen window's end: the next run picks them up
            sim.clock.advance(60)
            sync_account(SYNC_ORDER, client=client, engine=engine, account="main")
        assert compare_all(engine, "main", sim.truths()) == []
        if "storm" in fault:
            assert client.stats.rate_limited >= int(FAULTS[fault].split("=")[1].split(",")[0])
    finally:
        sim.http.close()


def test_a_storm_longer_than_the_budget_fails_in_one_typed_error_and_the_next_run_resumes(engine: Engine) -> None:
    """A key kept saturated by someone else: after `rate_limit_drains` full drains of the modelled counter
    (pro: 4 x 20 s) the request gives up with RetriesExhausted; nothing is half-written, the rerun is exact."""
    sim = make_sim(ledger_entries=400, seed=22)
    try:
        sim.faults("rate_limit_storm=200,seed=9")
        client = sim.client()
        start = sim.clock.now()
        with pytest.raises(RetriesExhausted) as info:
            sync_account(SYNC_ORDER, client=client, engine=engine, account="main")
        assert "rate limited" in str(info.value) and "\n" not in str(info.value)
        assert 80 <= sim.clock.now() - start <= 100
        sim.faults("")
        sim.clock.advance(60)
        sync_account(SYNC_ORDER, client=sim.client(), engine=engine, account="main")
        assert compare_all(engine, "main", sim.truths()) == []
    finally:
        sim.http.close()
