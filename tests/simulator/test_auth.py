"""Authentication, permissions, nonces, lockouts and the call counter, as Kraken answers them."""

from __future__ import annotations

import base64

from kraken_etl.simulator import ApiKey, ManualClock, SimConfig, create_app, derive_key
from kraken_etl.simulator.config import QUERY_FUNDS
from tests.simulator.conftest import Kraken, TestClient, make_kraken

NOW = 1_800_000_000.0


def _app(**changes: object) -> tuple[Kraken, ManualClock]:
    clock = ManualClock(NOW)
    config = SimConfig(seed=5, ledger_entries=200, clock=clock).with_changes(**changes)
    return make_kraken(create_app(config)), clock


def test_wrong_signature_unknown_key_and_http_200() -> None:
    kraken, _ = _app()
    other = base64.b64encode(b"x" * 64).decode()
    response = kraken.raw("Balance", secret=other)
    assert response.status_code == 200
    assert response.json() == {"error": ["EAPI:Invalid signature"]}
    stranger = Kraken(kraken.client, "no-such-key", kraken.secret)
    assert stranger.call("Balance")["error"] == ["EAPI:Invalid key"]
    assert kraken.raw("Balance", {"x": "1"}).json()["error"] == []


def test_reused_and_lower_nonce_are_refused() -> None:
    kraken, _ = _app()
    assert kraken.raw("Balance", nonce=1_000).json()["error"] == []
    assert kraken.raw("Balance", nonce=1_000).json()["error"] == ["EAPI:Invalid nonce"]
    assert kraken.raw("Balance", nonce=999).json()["error"] == ["EAPI:Invalid nonce"]
    assert kraken.raw("Balance", nonce=1_001).json()["error"] == []


def test_nonce_window_tolerates_out_of_order_once() -> None:
    kraken, _ = _app(nonce_window=100)
    assert kraken.raw("Balance", nonce=5_000).json()["error"] == []
    assert kraken.raw("Balance", nonce=4_950).json()["error"] == []  # late, inside the window
    assert kraken.raw("Balance", nonce=4_950).json()["error"] == ["EAPI:Invalid nonce"]  # duplicate
    assert kraken.raw("Balance", nonce=4_800).json()["error"] == ["EAPI:Invalid nonce"]  # outside


def test_permission_denied_for_a_key_without_the_permission() -> None:
    full = derive_key(5)
    funds_only = derive_key(5, "funds", frozenset({QUERY_FUNDS}))
    nothing = ApiKey(key="bare", secret=derive_key(5, "bare").secret, permissions=frozenset(), name="bare")
    app = create_app(SimConfig(seed=5, ledger_entries=100, keys=(full, funds_only, nothing)))
    client = TestClient(app)
    limited = Kraken(client, funds_only.key, funds_only.secret)
    assert limited.call("Balance")["error"] == []
    assert limited.call("Ledgers")["error"] == ["EGeneral:Permission denied"]
    assert limited.call("GetWebSocketsToken")["error"] == ["EGeneral:Permission denied"]
    bare = Kraken(client, nothing.key, nothing.secret)
    for method in ("Balance", "TradesHistory", "ClosedOrders", "AddExport"):
        assert bare.call(method)["error"] == ["EGeneral:Permission denied"]
    assert Kraken(client, full.key, full.secret).call("Ledgers")["error"] == []


def test_json_body_is_signed_as_sent() -> None:
    kraken, _ = _app()
    response = kraken.raw("Ledgers", {"ofs": 0, "without_count": True}, json_body=True)
    body = response.json()
    assert body["error"] == [] and "count" not in body["result"]


def test_repeated_auth_failures_lock_the_key_out_for_a_while() -> None:
    kraken, clock = _app(lockout_after=3, lockout_seconds=60.0)
    assert kraken.raw("Balance", nonce=1).json()["error"] == []
    for _ in range(3):  # the third failure starts the lockout
        assert kraken.raw("Balance", nonce=1).json()["error"] == ["EAPI:Invalid nonce"]
    assert kraken.call("Balance")["error"] == ["EGeneral:Temporary lockout"]
    clock.advance(61)
    assert kraken.call("Balance")["error"] == []


def test_call_counter_starter_tier_history_calls_cost_two() -> None:
    kraken, clock = _app(tier="starter")
    errors = [kraken.call("Ledgers")["error"] for _ in range(8)]
    assert errors[:7] == [[]] * 7  # 7 x 2 = 14 <= 15
    assert errors[7] == ["EAPI:Rate limit exceeded"]
    assert kraken.call("Balance")["error"] == []  # cost 1 still fits (15)
    assert kraken.call("Balance")["error"] == ["EAPI:Rate limit exceeded"]
    clock.advance(2 / 0.33 + 0.01)  # decay 0.33/s frees 2
    assert kraken.call("TradesHistory")["error"] == []


def test_rate_scale_and_disabled_limits() -> None:
    kraken, clock = _app(tier="pro", rate_scale=10.0)
    for _ in range(10):
        assert kraken.call("Ledgers")["error"] == []
    assert kraken.call("Ledgers")["error"] == ["EAPI:Rate limit exceeded"]
    clock.advance(0.2)  # pro decays 1/s, scaled x10: 2 units in 0.2 s
    assert kraken.call("Ledgers")["error"] == []
    unlimited, _ = _app(rate_limits=False)
    assert all(unlimited.call("Ledgers")["error"] == [] for _ in range(40))


def test_repeated_rate_limit_violations_lock_out() -> None:
    kraken, clock = _app(rate_lockout_after=3, lockout_seconds=30.0)
    for _ in range(7):
        assert kraken.call("Ledgers")["error"] == []
    for _ in range(3):
        assert kraken.call("Ledgers")["error"] == ["EAPI:Rate limit exceeded"]
    clock.advance(20)  # the counter has drained, but the lockout holds
    assert kraken.call("Balance")["error"] == ["EGeneral:Temporary lockout"]
    clock.advance(11)
    assert kraken.call("Balance")["error"] == []
