"""Nonces stay increasing when one key is used from two machines one after the other.

Two "machines" are two KRAKEN_ETL_HOME directories (each its own nonce file) and two clocks: machine B's
runs an hour behind machine A's, the worst case for millisecond nonces. The simulator checks every nonce
like Kraken (per key, strictly increasing).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from kraken_etl.core.callcounter import TIERS
from kraken_etl.core.clock import Clock, ManualClock
from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.exclusive import exclusive
from kraken_etl.kraken.calls import BALANCE
from kraken_etl.kraken.client import KrakenClient, RetryPolicy
from kraken_etl.kraken.errors import InvalidNonce
from kraken_etl.kraken.nonce import FileNonceSource, key_id
from kraken_etl.kraken.ratelimit import SharedCounter
from kraken_etl.settings import Account
from tests.pipeline.conftest import InProcessSim, make_sim


@pytest.fixture()
def sim() -> Iterator[InProcessSim]:
    made = make_sim(ledger_entries=50)
    yield made
    made.http.close()


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    yield made
    made.dispose()


def _machine(sim: InProcessSim, home: Path, clock: Clock) -> KrakenClient:
    key = sim.config.default_key
    tier = TIERS[sim.config.tier]
    return KrakenClient(
        "http://testserver", api_key=SecretStr(key.key), api_secret=SecretStr(key.secret), tier=tier,
        clock=clock, nonce=FileNonceSource(home / "nonce", key_id(key.key), clock), counter=SharedCounter(tier),
        transport=sim.transport, retry=RetryPolicy(max_attempts=2), rng=random.Random(1),
    )


def _account(sim: InProcessSim) -> Account:
    key = sim.config.default_key
    return Account("main", SecretStr(key.key), SecretStr(key.secret), sim.config.tier)


def test_without_the_hand_over_the_lagging_machine_is_refused(sim: InProcessSim, tmp_path: Path) -> None:
    """The control: what the hand-over prevents (so the test below can fail)."""
    with _machine(sim, tmp_path / "a", sim.clock) as a:
        a.private(BALANCE)
    behind = ManualClock(sim.clock.now() - 3600)
    with _machine(sim, tmp_path / "b", behind) as b, pytest.raises(InvalidNonce):
        b.private(BALANCE)


def test_the_next_machine_starts_above_the_last_one(sim: InProcessSim, engine: Engine, tmp_path: Path) -> None:
    account = _account(sim)
    with exclusive(engine, account, tmp_path / "a", purpose="sync", clock=sim.clock), \
            _machine(sim, tmp_path / "a", sim.clock) as a:
        for _ in range(3):
            a.private(BALANCE)
    behind = ManualClock(sim.clock.now() - 3600)
    with exclusive(engine, account, tmp_path / "b", purpose="sync", clock=behind), \
            _machine(sim, tmp_path / "b", behind) as b:
        for _ in range(3):
            b.private(BALANCE)  # no InvalidNonce
        assert b.stats.errors == {}
    with exclusive(engine, account, tmp_path / "a", purpose="sync", clock=sim.clock), \
            _machine(sim, tmp_path / "a", sim.clock) as a:
        a.private(BALANCE)  # and back to A, whose own file is older than B's last nonce
        assert a.stats.errors == {}
