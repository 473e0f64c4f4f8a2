"""A simulator serving several accounts: each key reaches its own history, counter, nonces and truth; one
account is the simulator it always was."""

from __future__ import annotations

from typing import Any

import pytest

from kraken_etl.core.money import loads
from kraken_etl.simulator import ManualClock, SimConfig, create_app, derive_key
from kraken_etl.simulator.server import connection_line
from tests.simulator.conftest import Kraken, TestClient

NOW = 1_800_000_000.0


def _fleet(accounts: int, **changes: object) -> tuple[TestClient, list[Kraken], ManualClock]:
    clock = ManualClock(NOW)
    config = SimConfig(seed=11, accounts=accounts, ledger_entries=150, clock=clock).with_changes(**changes)
    client = TestClient(create_app(config))
    keys = [config.account_config(i).default_key for i in range(accounts)]
    return client, [Kraken(client, k.key, k.secret) for k in keys], clock


def _truth(client: TestClient, kind: str, account: int | None = None) -> Any:
    query = "" if account is None else f"?account={account}"
    response = client.get(f"/_sim/truth/{kind}{query}")
    assert response.status_code == 200, response.text
    return loads(response.content)


def test_one_account_is_the_simulator_it_always_was() -> None:
    config = SimConfig(seed=11, ledger_entries=150)
    assert config.accounts == 1
    assert config.account_config(0) is config
    assert config.default_key == derive_key(11)
    assert "accounts" not in connection_line(config, "127.0.0.1", 1)
    client = TestClient(create_app(config))
    assert _truth(client, "ledgers") == _truth(client, "ledgers", 0)
    assert client.get("/_sim/truth/ledgers?account=1").status_code == 400


def test_each_key_reaches_its_own_history() -> None:
    client, krakens, _ = _fleet(3)
    keys = {k.key for k in krakens}
    assert len(keys) == 3
    for index, kraken in enumerate(krakens):
        served = kraken.call("Ledgers")
        assert served["error"] == []
        truth = _truth(client, "ledgers", index)
        assert served["result"]["count"] == truth["count"]
        assert set(served["result"]["ledger"]) <= set(truth["ledger"])
    histories = [set(_truth(client, "ledgers", i)["ledger"]) for i in range(3)]
    assert not histories[0] & histories[1] and not histories[1] & histories[2]
    assert _truth(client, "ledgers", 0) == _truth(client, "ledgers")  # no account named: the first


def test_accounts_are_built_when_first_reached() -> None:
    client, krakens, _ = _fleet(4)
    assert client.get("/_sim/stats").json()["accounts_built"] == [0]
    assert krakens[2].call("Balance")["error"] == []
    stats = client.get("/_sim/stats").json()
    assert stats["accounts"] == 4 and stats["accounts_built"] == [0, 2]


def test_call_counters_are_per_key() -> None:
    _, krakens, _ = _fleet(2, tier="starter")
    for _ in range(7):  # Ledgers costs 2: seven calls fill a starter counter (15) to 14
        assert krakens[0].call("Ledgers")["error"] == []
    assert krakens[0].call("Ledgers")["error"] == ["EAPI:Rate limit exceeded"]
    assert krakens[1].call("Ledgers")["error"] == []  # the other key's counter is its own


def test_nonces_are_per_key() -> None:
    _, krakens, _ = _fleet(2)
    assert krakens[0].raw("Balance", nonce=2**63).json()["error"] == []
    assert krakens[1].raw("Balance", nonce=5).json()["error"] == []  # account 1 never saw 2**63
    assert krakens[0].raw("Balance", nonce=6).json()["error"] == ["EAPI:Invalid nonce"]


def test_advance_and_faults_name_an_account() -> None:
    client, krakens, _ = _fleet(2)
    before = [_truth(client, "ledgers", i)["count"] for i in range(2)]
    added = client.post("/_sim/advance?account=1", json={"ledger_entries": 5})
    assert added.status_code == 200
    after = [_truth(client, "ledgers", i)["count"] for i in range(2)]
    assert after[0] == before[0] and after[1] >= before[1] + 5
    assert set(added.json()["ledger_ids"]) <= set(_truth(client, "ledgers", 1)["ledger"])
    assert client.post("/_sim/faults?account=1", json={"spec": "http_5xx=1"}).status_code == 200
    assert krakens[0].call("Balance")["error"] == []  # account 0 has no fault
    assert krakens[1].raw("Balance").status_code >= 500
    assert client.get("/_sim/faults?account=x").status_code == 400


def test_the_market_is_one_for_every_account() -> None:
    client, krakens, _ = _fleet(2)
    valued = [k.call("TradeBalance", asset="ZUSD") for k in krakens]
    assert all(v["error"] == [] for v in valued)
    app = client.app
    fleet = app.state.fleet  # type: ignore[attr-defined]
    assert fleet.for_index(1).market is fleet.primary.market


@pytest.mark.parametrize("bad", [0, 10_001])
def test_accounts_out_of_range_are_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="accounts must be"):
        SimConfig(accounts=bad)


def test_the_connection_line_lists_every_key_pair() -> None:
    config = SimConfig(seed=3, accounts=3)
    line = connection_line(config, "127.0.0.1", 9)
    assert line["api_key"] == config.default_key.key
    assert [a["api_key"] for a in line["accounts"]] == [config.account_config(i).default_key.key for i in range(3)]
    assert line["accounts"][0]["api_key"] == line["api_key"]
