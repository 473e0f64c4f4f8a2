"""Fault injection: spec parsing, transport faults, storms, drift, accounting discrepancies, admin."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from kraken_etl.simulator import FaultSpec, SimConfig, create_app, parse_fault_spec
from kraken_etl.simulator.faults import FaultSpecError
from tests.simulator.conftest import Kraken, TestClient, make_kraken


def _kraken(spec: str) -> Kraken:
    return make_kraken(create_app(SimConfig(seed=4, ledger_entries=1_500, rate_limits=False,
                                            faults=parse_fault_spec(spec))))


def test_spec_syntax() -> None:
    spec = parse_fault_spec("http_5xx=0.05, service_unavailable=0.05,rate_limit_storm=3,count_drift=1,seed=7")
    assert spec == FaultSpec(seed=7, http_5xx=0.05, service_unavailable=0.05, rate_limit_storm=3,
                             count_drift=1)
    assert parse_fault_spec("") == FaultSpec()
    for bad in ("nope=1", "http_5xx=2", "http_5xx", "rate_limit_storm=x"):
        with pytest.raises(FaultSpecError):
            parse_fault_spec(bad)


def test_transport_faults_at_rate_one() -> None:
    assert _kraken("http_5xx=1").raw("Balance").status_code in (500, 502, 503, 504, 520)
    assert _kraken("service_unavailable=1").call("Balance")["error"] == ["EService:Unavailable"]
    assert _kraken("service_busy=1").call("Balance")["error"] == ["EService:Busy"]
    response = _kraken("truncated_json=1").raw("Ledgers")
    assert response.status_code == 200 and response.text.startswith('{"error":[]')
    with pytest.raises(ValueError):
        response.json()
    public = _kraken("http_5xx=1").client.get("/0/public/Time")
    assert public.status_code >= 500 and "<html>" in public.text
    hung = _kraken("hang=1,hang_seconds=0.05").raw("Balance")
    assert hung.status_code == 504


def test_rate_faults_are_deterministic_per_seed() -> None:
    def pattern(seed: int) -> list[int]:
        kraken = _kraken(f"http_5xx=0.3,seed={seed}")
        return [kraken.client.get("/0/public/Time").status_code for _ in range(40)]

    first = pattern(3)
    assert first == pattern(3)
    assert 200 in first and any(code >= 500 for code in first)
    assert first != pattern(4)


def test_rate_limit_storm_refuses_the_next_n_calls() -> None:
    kraken = _kraken("rate_limit_storm=2")
    assert [kraken.call("Balance")["error"] for _ in range(3)] == [
        ["EAPI:Rate limit exceeded"], ["EAPI:Rate limit exceeded"], []]


def test_count_drift_adds_entries_while_paging() -> None:
    kraken = _kraken("count_drift=1,drift_entries=5")
    first = kraken.result("Ledgers")
    second = kraken.result("Ledgers", ofs=50)
    assert second["count"] > first["count"]
    assert set(first["ledger"]) & set(second["ledger"])  # rows pushed to higher offsets reappear
    # pinning end before page 1 makes the window immune
    kraken = _kraken("count_drift=1")
    top = next(iter(kraken.result("Ledgers")["ledger"].values()))["time"]
    a = kraken.result("Ledgers", end=str(top))
    b = kraken.result("Ledgers", end=str(top), ofs=50)
    assert a["count"] == b["count"] and not set(a["ledger"]) & set(b["ledger"])


def test_accounting_discrepancies_rest_versus_truth() -> None:
    kraken = _kraken("hide_ledger=2,missing_leg=1,balance_drift=1,vol_exec_mismatch=1,seed=5")
    described = kraken.client.get("/_sim/faults").json()
    hidden = set(described["hidden_ledger_ids"])
    (trade_id, leg_id), = described["missing_legs"].items()
    assert len(hidden) == 2
    truth = kraken.truth("ledgers")["ledger"]
    served = {}
    ofs = 0
    while True:
        page = kraken.result("Ledgers", ofs=ofs)
        if not page["ledger"]:
            break
        served.update(page["ledger"])
        ofs += len(page["ledger"])
    assert set(truth) - set(served) == hidden | {leg_id}
    assert page["count"] == len(truth) - 3
    assert kraken.call("QueryLedgers", id=leg_id)["error"] == ["EGeneral:Invalid arguments:id"]
    assert leg_id in kraken.result("TradesHistory", ledgers="true", end=trade_id)["trades"][trade_id]["ledgers"]
    trade = kraken.truth("trades")["trades"][trade_id]
    assert leg_id in trade["ledgers"]
    # the served balance chain breaks where a row is missing
    running: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    breaks = 0
    for lid, row in sorted(served.items(), key=lambda kv: (Decimal(str(kv[1]["time"])), kv[0])):
        wallet = truth[lid]["wallet"]
        running[(row["asset"], wallet)] += Decimal(row["amount"]) - Decimal(row["fee"])
        if running[(row["asset"], wallet)] != Decimal(row["balance"]):
            breaks += 1
            running[(row["asset"], wallet)] = Decimal(row["balance"])
    assert breaks >= 1
    (asset, drift), = described["balance_drift"].items()
    served_balance = kraken.result("Balance")
    true_balance = kraken.truth("balances")["balance"]
    assert Decimal(served_balance[asset]) - Decimal(true_balance[asset]) == Decimal(drift)
    assert kraken.result("BalanceEx")[asset]["balance"] == served_balance[asset]
    (order_id,) = described["vol_exec_mismatch"]
    rest = kraken.result("QueryOrders", txid=order_id, trades="true")[order_id]
    real = kraken.truth("closed_orders")["closed"][order_id]
    assert rest["vol_exec"] != real["vol_exec"]
    trades = kraken.truth("trades")["trades"]
    assert sum(Decimal(trades[t]["vol"]) for t in real["trades"]) == Decimal(real["vol_exec"])


def test_post_faults_replaces_spec_and_admin_is_loopback_only() -> None:
    kraken = _kraken("")
    response = kraken.client.post("/_sim/faults", json={"service_busy": 1})
    assert response.status_code == 200 and response.json()["spec"]["service_busy"] == 1
    assert kraken.call("Balance")["error"] == ["EService:Busy"]
    assert kraken.client.post("/_sim/faults", json={"spec": ""}).status_code == 200
    assert kraken.call("Balance")["error"] == []
    assert kraken.client.post("/_sim/faults", json={"bogus": 1}).status_code == 400
    outsider = TestClient(kraken.client.app, client=("10.1.2.3", 4242))
    assert outsider.get("/_sim/truth/ledgers").status_code == 403
    assert outsider.post("/_sim/advance", json={"ledger_entries": 5}).status_code == 403
    assert outsider.post("/_sim/faults", json={}).status_code == 403


def test_advance_appends_after_the_latest_entry() -> None:
    kraken = _kraken("")
    before = kraken.truth("ledgers")
    last = max(Decimal(str(r["time"])) for r in before["ledger"].values())
    added = kraken.client.post("/_sim/advance", json={"ledger_entries": 30}).json()
    assert len(added["ledger_ids"]) >= 30 and added["ledger_count"] == before["count"] + len(added["ledger_ids"])
    after = kraken.truth("ledgers")["ledger"]
    assert list(after)[: len(added["ledger_ids"])] == list(reversed(added["ledger_ids"]))
    assert all(Decimal(str(after[i]["time"])) > last for i in added["ledger_ids"])
    assert set(before["ledger"]) < set(after)
    for txid, legs in added["trade_ledgers"].items():
        assert all(after[leg]["refid"] == txid for leg in legs)
