"""The simulator on loopback (real HTTP and WebSocket), a real PostgreSQL, and a listener in a thread."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from kraken_etl.core.callcounter import TIERS
from kraken_etl.core.clock import SystemClock
from kraken_etl.core.money import loads
from kraken_etl.core.wsgaps import Backoff
from kraken_etl.db.engine import make_engine
from kraken_etl.kraken.client import KrakenClient, RetryPolicy
from kraken_etl.kraken.nonce import MemoryNonceSource
from kraken_etl.kraken.ratelimit import SharedCounter
from kraken_etl.listen.config import ListenerConfig
from kraken_etl.listen.loop import Listener, ListenStats
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread

FAST = ListenerConfig(silence_seconds=3.0, fill_delay=0.3, backoff=Backoff(base=0.1, cap=0.5, floor=0.02))


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll `predicate` until true (a deadline, not a sleep that hides a race)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def sim_client(sim: RunningSimulator) -> KrakenClient:
    tier = TIERS["pro"]
    clock = SystemClock()
    return KrakenClient(sim.rest_url, api_key=SecretStr(sim.api_key), api_secret=SecretStr(sim.api_secret),
                        tier=tier, clock=clock, nonce=MemoryNonceSource(clock), counter=SharedCounter(tier),
                        rng=random.Random(5), retry=RetryPolicy(max_attempts=3, max_backoff_total=2.0))


def advance(sim: RunningSimulator, entries: int) -> dict[str, Any]:
    return loads(httpx.post(sim.rest_url + "/_sim/advance", json={"ledger_entries": entries}).content)  # type: ignore[no-any-return]


def set_faults(sim: RunningSimulator, faults: dict[str, int]) -> None:
    httpx.post(sim.rest_url + "/_sim/faults", json=faults).raise_for_status()


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def ids(engine: Engine, sql: str, **params: Any) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(text(sql), params)}


@dataclass
class Running:
    listener: Listener
    thread: threading.Thread
    stop: threading.Event
    result: list[ListenStats] = field(default_factory=list)
    error: list[BaseException] = field(default_factory=list)

    def halt(self, timeout: float = 30) -> ListenStats:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "listener did not stop"
        if self.error:
            raise self.error[0]
        return self.result[0]


def start_listener(sim: RunningSimulator, engine: Engine, account: str = "main",
                   config: ListenerConfig = FAST) -> Running:
    stop = threading.Event()
    client = sim_client(sim)
    listener = Listener(account=account, ws_url=sim.ws_url, client=client, engine=engine, clock=SystemClock(),
                        stop=stop, config=config, rng=random.Random(1))
    running = Running(listener, threading.Thread(target=lambda: None), stop)

    def body() -> None:
        try:
            running.result.append(listener.run())
        except BaseException as exc:
            running.error.append(exc)
        finally:
            client.close()

    running.thread = threading.Thread(target=body, daemon=True)
    running.thread.start()
    wait_for(lambda: listener.stats.connects >= 1 or bool(running.error), what="first subscription")
    if running.error:
        raise running.error[0]
    return running


def sync_rest(sim: RunningSimulator, engine: Engine) -> None:
    """The nightly sync's ledgers and trades streams (the same code path), up to a moment from now."""
    from datetime import timedelta

    from kraken_etl.core.clock import utcnow
    from kraken_etl.jobs.sync import sync_account

    with sim_client(sim) as client:
        now = utcnow(client.clock) + timedelta(seconds=2)
        sync_account(["ledgers", "trades"], client=client, engine=engine, account="main", now=now)


@pytest.fixture()
def sim() -> Iterator[RunningSimulator]:
    with serve_in_thread(SimConfig(seed=21, ledger_entries=400, rate_limits=False, ws_exponents=True)) as running:
        yield running


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url, pool_size=4)
    yield made
    made.dispose()
