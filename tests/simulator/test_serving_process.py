"""`serving_process`: the simulator in a child process (the demo's host), reachable while the block runs,
gone after it, and a clear error when the child cannot start."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from kraken_etl.simulator import SimConfig, create_app
from kraken_etl.simulator.server import serving_process


def test_the_child_serves_the_configured_account_and_stops_with_the_block() -> None:
    config = SimConfig(seed=7, ledger_entries=50)
    with serving_process(config) as sim:
        assert sim.rest_url.startswith("http://127.0.0.1:")
        assert sim.api_key == config.default_key.key
        served = httpx.get(f"{sim.rest_url}/_sim/truth/ledgers", timeout=30).json()
    with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
        assert served == client.get("/_sim/truth/ledgers").json()  # the same seeded account
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sim.rest_url}/0/public/Time", timeout=5)


def test_a_child_that_dies_before_it_is_ready_is_one_clear_error() -> None:
    broken = SimConfig(seed=7, ledger_entries=50)
    object.__setattr__(broken, "tier", "no-such-tier")  # invalid only where the child builds its app
    with pytest.raises(RuntimeError, match="simulator exited before it was ready"):
        with serving_process(broken):
            pass
