"""The simulator's WebSocket additions: exponent-form numbers and activity at a chosen rate."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from kraken_etl.simulator import SimConfig, serve_in_thread
from kraken_etl.simulator.jsontext import Num, dumps
from kraken_etl.simulator.wsmessages import exponent_form
from tests.listen.conftest import wait_for


@pytest.mark.parametrize(("text", "written"), [
    ("0.000015", "1.5e-05"), ("-0.0001234", "-1.234e-04"), ("0.00000001", "1e-08"),
    ("0.001", "0.001"), ("132.9995", "132.9995"), ("0", "0"),
])
def test_small_numbers_in_exponent_form(text: str, written: str) -> None:
    out = exponent_form({"data": [{"amount": Num(text), "asset": "BTC"}]})
    assert dumps(out) == f'{{"data":[{{"amount":{written},"asset":"BTC"}}]}}'
    assert Decimal(written) == Decimal(text)


def test_activity_at_a_chosen_rate() -> None:
    with serve_in_thread(SimConfig(seed=3, ledger_entries=200, rate_limits=False)) as sim:
        def count() -> int:
            return int(httpx.get(sim.rest_url + "/_sim/truth/ledgers").json()["count"])

        start = count()
        reply = httpx.post(sim.rest_url + "/_sim/activity", json={"entries_per_second": 200}).json()
        assert reply["entries_per_second"] == 200.0
        wait_for(lambda: count() >= start + 100, timeout=20, what="activity")
        httpx.post(sim.rest_url + "/_sim/activity", json={"entries_per_second": 0})
        wait_for(lambda: not sim.ctx.activity._thread.is_alive(), what="activity stopped")
        assert sim.ctx.activity.generated >= 100
        assert httpx.post(sim.rest_url + "/_sim/activity", json={"entries_per_second": -1}).status_code == 400
        assert httpx.post(sim.rest_url + "/_sim/activity", json={"entries_per_second": "x"}).status_code == 400
