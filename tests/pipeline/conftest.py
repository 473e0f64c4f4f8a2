"""The simulator in-process behind a synchronous httpx transport, sharing a FakeClock with the client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from starlette.testclient import TestClient

from kraken_etl.core.callcounter import TIERS
from kraken_etl.core.money import loads
from kraken_etl.db.engine import make_engine
from kraken_etl.kraken.client import KrakenClient, RetryPolicy
from kraken_etl.kraken.nonce import MemoryNonceSource
from kraken_etl.kraken.ratelimit import SharedCounter
from kraken_etl.simulator import SimConfig, create_app
from tests.kraken.conftest import FakeClock

SIM_START = datetime(2026, 11, 2, tzinfo=UTC).timestamp()


@dataclass
class InProcessSim:
    app: Any
    clock: FakeClock
    http: TestClient
    config: SimConfig

    @property
    def transport(self) -> httpx.BaseTransport:
        return self.http._transport  # starlette's sync ASGI transport

    def truth(self, kind: str) -> dict[str, Any]:
        return loads(self.http.get(f"/_sim/truth/{kind}").content)  # type: ignore[no-any-return]

    def truths(self) -> dict[str, dict[str, Any]]:
        return {k: self.truth(k) for k in ("ledgers", "trades", "closed_orders", "order_amends", "balances")}

    def advance(self, entries: int) -> dict[str, Any]:
        return loads(self.http.post("/_sim/advance", json={"ledger_entries": entries}).content)  # type: ignore[no-any-return]

    def faults(self, spec: str) -> None:
        self.http.post("/_sim/faults", json={"spec": spec}).raise_for_status()

    def client(self, *, key: str | None = None, secret: str | None = None,
               retry: RetryPolicy | None = None) -> KrakenClient:
        import random

        k = self.config.default_key
        tier = TIERS[self.config.tier]
        return KrakenClient(
            "http://testserver", api_key=SecretStr(key or k.key), api_secret=SecretStr(secret or k.secret),
            tier=tier, clock=self.clock, nonce=MemoryNonceSource(self.clock), counter=SharedCounter(tier),
            transport=self.transport, retry=retry, rng=random.Random(3),
        )


def make_sim(**config: Any) -> InProcessSim:
    clock = FakeClock(SIM_START)
    cfg = SimConfig(**{"seed": 11, "ledger_entries": 1_500, "tier": "pro", "clock": clock, **config})
    app = create_app(cfg)
    return InProcessSim(app, clock, TestClient(app, raise_server_exceptions=True), cfg)


@pytest.fixture()
def sim() -> Iterator[InProcessSim]:
    made = make_sim()
    yield made
    made.http.close()


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    yield made
    made.dispose()


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()
