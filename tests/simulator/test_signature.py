"""Kraken's official signature test vector, through the simulator's verification path."""

from __future__ import annotations

import base64

from kraken_etl.core.signature import sign, verify
from kraken_etl.simulator import ApiKey, SimConfig, create_app
from kraken_etl.simulator.clock import ManualClock
from tests.simulator.conftest import Kraken, TestClient

SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
NONCE = 1616492376594
PATH = "/0/private/AddOrder"
POSTDATA = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
EXPECTED = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="


def test_official_vector_verifies() -> None:
    assert sign(PATH, NONCE, POSTDATA, SECRET) == EXPECTED
    assert verify(PATH, NONCE, POSTDATA.encode(), SECRET, EXPECTED)
    assert not verify(PATH, NONCE, POSTDATA.encode() + b"&x=1", SECRET, EXPECTED)


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
