"""Fixtures for the export tests: the simulator on loopback with a manual clock, and a client whose
`sleep` moves both our clock and the simulator's (so export processing time passes without real sleeps).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from kraken_etl.core.callcounter import TIERS
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.nonce import MemoryNonceSource
from kraken_etl.kraken.ratelimit import SharedCounter
from kraken_etl.simulator import ManualClock, RunningSimulator, SimConfig, serve_in_thread
from tests.kraken.conftest import FakeClock

SIM_END = datetime(2026, 11, 1, tzinfo=UTC)


class LinkedClock(FakeClock):
    """Our injected clock: `sleep` advances our `now` AND the simulator's ManualClock, instantly."""

    def __init__(self, sim_clock: ManualClock) -> None:
        super().__init__(sim_clock.now())
        self.sim_clock = sim_clock

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if seconds > 0:
            self.sim_clock.advance(seconds)


def sim_config(**changes: object) -> SimConfig:
    base = SimConfig(seed=11, ledger_entries=1_500, rate_limits=False, history_days=120,
                     clock=ManualClock(SIM_END.timestamp() + 3600), export_queued_seconds=5.0,
                     export_processing_seconds=20.0, nonce_window=10**15)
    return base.with_changes(**changes)


# One nonce source per simulated key, shared by every client of it (as one application shares its key's
# nonces): each test makes a new client on a module-wide simulator whose clock only moves when a test
# sleeps, so a fresh source per client could repeat the nonces the previous test's client had just used.
_NONCES: dict[int, MemoryNonceSource] = {}


def make_client(sim: RunningSimulator, clock: LinkedClock) -> KrakenClient:
    tier = TIERS["pro"]
    nonce = _NONCES.setdefault(id(sim.app), MemoryNonceSource(sim.ctx.clock))
    return KrakenClient(sim.rest_url, api_key=SecretStr(sim.api_key), api_secret=SecretStr(sim.api_secret),
                        tier=tier, clock=clock, nonce=nonce, counter=SharedCounter(tier))


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve_in_thread(sim_config()) as running:
        yield running


@pytest.fixture()
def clock(sim: RunningSimulator) -> LinkedClock:
    return LinkedClock(sim.ctx.clock)


@pytest.fixture()
def client(sim: RunningSimulator, clock: LinkedClock) -> Iterator[KrakenClient]:
    with make_client(sim, clock) as kraken:
        yield kraken


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"
