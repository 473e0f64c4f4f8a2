"""The simulator verifies requests signed with the secret of Kraken's official signature vector."""

from __future__ import annotations

import base64

from kraken_etl.core.clock import ManualClock
from kraken_etl.simulator import ApiKey, SimConfig, create_app
from tests.core.test_signature import SECRET  # Kraken's official vector (checked in tests/core)
from tests.simulator.conftest import Kraken, TestClient


def test_simulator_accepts_a_key_with_the_official_secret() -> None:
    key = ApiKey(key="vector-key", secret=SECRET)
    app = create_app(SimConfig(ledger_entries=50, keys=(key,), clock=ManualClock(1_800_000_000.0)))
    kraken = Kraken(TestClient(app), key.key, key.secret)
    envelope = kraken.call("Balance")
    assert envelope["error"] == []
    assert "ZUSD" in envelope["result"]


def test_default_key_is_deterministic_base64_of_64_bytes() -> None:
    a, b = SimConfig(seed=3).default_key, SimConfig(seed=3).default_key
    assert a == b
    assert SimConfig(seed=4).default_key.secret != a.secret
    assert len(base64.b64decode(a.secret, validate=True)) == 64
    assert a.secret not in repr(a)
