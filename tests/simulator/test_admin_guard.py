"""The simulator's admin endpoints refuse what a web page in the user's browser could send: a Host that is
not loopback (DNS rebinding) and a cross-origin write (a simple POST); over real HTTP on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from kraken_etl.simulator.admin import warn_if_exposed


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    running = serve_in_thread(SimConfig(seed=3, ledger_entries=50, rate_limits=False))
    yield running
    running.stop()


def _faults(sim: RunningSimulator, **headers: str) -> httpx.Response:
    with httpx.Client(base_url=sim.rest_url, timeout=10) as client:
        return client.post("/_sim/faults", content=b'{"spec": "http_5xx=1"}', headers=headers)


def _active(sim: RunningSimulator) -> object:
    with httpx.Client(base_url=sim.rest_url, timeout=10) as client:
        return client.get("/_sim/faults").json()


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://localhost"])
def test_a_cross_origin_simple_post_is_refused_and_changes_nothing(sim: RunningSimulator, origin: str) -> None:
    before = _active(sim)
    response = _faults(sim, **{"Origin": origin, "Content-Type": "text/plain"})
    assert response.status_code == 403 and "cross-origin" in response.json()["error"]
    assert _active(sim) == before


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.nip.io", "10.0.0.1", "", "a b"])
def test_a_host_header_that_is_not_loopback_is_refused(sim: RunningSimulator, host: str) -> None:
    with httpx.Client(base_url=sim.rest_url, timeout=10) as client:
        read = client.get("/_sim/truth/balances", headers={"Host": host})
        write = client.post("/_sim/advance", json={"ledger_entries": 1}, headers={"Host": host})
    assert read.status_code == 403 and write.status_code == 403
    assert "loopback Host" in read.json()["error"]


def test_the_simulators_own_clients_still_work(sim: RunningSimulator) -> None:
    own = sim.rest_url  # http://127.0.0.1:PORT: a same-origin write is allowed, as is one with no Origin
    port = own.rsplit(":", 1)[1]
    with httpx.Client(base_url=own, timeout=10) as client:
        assert client.post("/_sim/faults", json={}, headers={"Origin": own}).status_code == 200
        assert client.post("/_sim/faults", json={}).status_code == 200
        assert client.get("/_sim/truth/balances", headers={"Host": f"localhost:{port}"}).status_code == 200
        assert client.post("/_sim/advance", json={"ledger_entries": 1},
                           headers={"Host": f"[::1]:{port}"}).status_code == 200


def test_serving_beyond_loopback_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kraken_etl.simulator.admin"):
        assert [warn_if_exposed(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "192.168.1.5", "::")] == [
            False, False, False, True, True, True]
    assert sum("beyond loopback" in r.getMessage() for r in caplog.records) == 3
