"""Generator invariants over a few seeds, checked on the ground truth (the REST shapes)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from kraken_etl.simulator import SimConfig, create_app
from kraken_etl.simulator.ids import IdCodec
from tests.simulator.conftest import make_kraken


def _truth(seed: int, entries: int = 2_000) -> dict[str, Any]:
    kraken = make_kraken(create_app(SimConfig(seed=seed, ledger_entries=entries, rate_limits=False)))
    return {k: kraken.truth(k) for k in ("ledgers", "trades", "closed_orders", "order_amends", "balances")}


@pytest.fixture(scope="module", params=[1, 2, 3])
def truth(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _truth(request.param)


def _chronological(ledger: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(ledger.items(), key=lambda kv: (Decimal(str(kv[1]["time"])), kv[0]))


def test_size_and_truth_is_newest_first(truth: dict[str, Any]) -> None:
    ledger = truth["ledgers"]["ledger"]
    assert truth["ledgers"]["count"] == len(ledger) >= 2_000
    keys = [(Decimal(str(r["time"])), i) for i, r in ledger.items()]
    assert keys == sorted(keys, reverse=True)


def test_balance_chain_per_asset_and_wallet(truth: dict[str, Any]) -> None:
    running: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for _, row in _chronological(truth["ledgers"]["ledger"]):
        key = (row["asset"], row["wallet"])
        running[key] += Decimal(row["amount"]) - Decimal(row["fee"])
        assert running[key] == Decimal(row["balance"]), row
        assert Decimal(row["balance"]) >= 0


def test_balance_endpoints_agree_with_the_ledger(truth: dict[str, Any]) -> None:
    last: dict[tuple[str, str], Decimal] = {}
    for _, row in _chronological(truth["ledgers"]["ledger"]):
        last[(row["asset"], row["wallet"])] = Decimal(row["balance"])
    per_asset: dict[str, Decimal] = defaultdict(Decimal)
    for (asset, _), value in last.items():
        per_asset[asset] += value
    balance = truth["balances"]["balance"]
    assert {a: Decimal(v) for a, v in balance.items()} == dict(per_asset)
    assert {a: v["balance"] for a, v in truth["balances"]["balance_ex"].items()} == balance


def test_trades_link_to_their_ledger_legs(truth: dict[str, Any]) -> None:
    ledger = truth["ledgers"]["ledger"]
    by_ref: dict[str, set[str]] = defaultdict(set)
    for lid, row in ledger.items():
        if row["type"] == "trade":
            by_ref[row["refid"]].add(lid)
    assert set(by_ref) == set(truth["trades"]["trades"])
    kfee_legs = 0
    for txid, trade in truth["trades"]["trades"].items():
        assert set(trade["ledgers"]) == by_ref[txid]
        legs = [ledger[lid] for lid in trade["ledgers"]]
        assert all(leg["time"] == trade["time"] for leg in legs)
        signs = {leg["asset"]: Decimal(leg["amount"]) for leg in legs if leg["asset"] != "KFEE"}
        assert len(signs) == 2
        vol = Decimal(trade["vol"])
        base = next(v for v in signs.values() if abs(v) == vol)
        assert (base > 0) == (trade["type"] == "buy")
        for leg in legs:
            if leg["asset"] == "KFEE":
                kfee_legs += 1
                assert Decimal(leg["amount"]) == 0 and Decimal(leg["fee"]) > 0
    assert kfee_legs > 0


def test_orders_link_to_trades_and_vol_exec_sums(truth: dict[str, Any]) -> None:
    trades = truth["trades"]["trades"]
    seen: set[str] = set()
    statuses = set()
    for otxid, order in truth["closed_orders"]["closed"].items():
        statuses.add(order["status"])
        total = sum((Decimal(trades[t]["vol"]) for t in order["trades"]), Decimal(0))
        assert total == Decimal(order["vol_exec"])
        assert all(trades[t]["ordertxid"] == otxid for t in order["trades"])
        if order["status"] == "closed":
            assert order["vol_exec"] == order["vol"]
        seen.update(order["trades"])
    assert seen == set(trades)
    assert {"closed", "canceled"} <= statuses
    assert any(len(o["trades"]) > 1 for o in truth["closed_orders"]["closed"].values())
    assert any(o["status"] == "canceled" and o["trades"] for o in truth["closed_orders"]["closed"].values())


def test_amended_orders_have_trails(truth: dict[str, Any]) -> None:
    closed = truth["closed_orders"]["closed"]
    amends = truth["order_amends"]["amends"]
    assert amends
    for otxid, trail in amends.items():
        assert closed[otxid]["amended"] is True and "amended" in closed[otxid]["misc"]
        assert trail[0]["amend_type"] == "original" and len(trail) >= 2
        stamps = [a["timestamp"] for a in trail]
        assert stamps == sorted(stamps) and all(isinstance(s, int) and s > 10**18 for s in stamps)
        assert trail[-1]["limit_price"] == closed[otxid]["descr"]["price"]
    assert {o for o, r in closed.items() if r["amended"]} == set(amends)


def test_vocabulary_is_rich(truth: dict[str, Any]) -> None:
    rows = list(truth["ledgers"]["ledger"].values())
    assets = {r["asset"] for r in rows}
    assert {"XXBT", "ZUSD", "XETH", "DOT.S", "ETH2.S", "USD.HOLD", "KFEE", "USDT"} <= assets
    assert {"spot / main", "earn / flexible", "earn / bonded"} <= {r["wallet"] for r in rows}
    assert {"trade", "deposit", "withdrawal", "transfer", "staking", "earn"} <= {r["type"] for r in rows}
    assert any(r["refid"].startswith("FT") and r["refid"] != r["refid"].upper() for r in rows)
    times = [r["time"] for r in rows]
    non_trade_ties = defaultdict(set)
    for r in rows:
        non_trade_ties[r["time"]].add(r["refid"])
    assert any(len(refs) > 1 for refs in non_trade_ties.values())  # unrelated entries share a time
    assert any(len(str(t).split(".")[1]) == 7 for t in times)
    assert any(len(str(t).split(".")[1]) == 4 for t in times)
    assert any(Decimal(r["fee"]) > 0 for r in rows if r["asset"] != "KFEE" and r["type"] == "trade")


def test_deterministic_per_seed() -> None:
    assert _truth(11, 300) == _truth(11, 300)
    assert _truth(11, 300)["ledgers"] != _truth(12, 300)["ledgers"]


def test_ids_roundtrip_and_order_like_their_text() -> None:
    codec = IdCodec(5, "L")
    ids = [codec.encode(i) for i in range(500)]
    assert [codec.decode(x) for x in ids] == list(range(500))
    assert codec.decode("L4UESK-KG3EQ-UFO4T5") is None
    assert codec.decode("TJKLXF-PGMUI-4NTLXU") is None
    by_text = sorted(range(500), key=lambda i: ids[i])
    numbers = codec.numbers(np.arange(500, dtype=np.int64))
    assert by_text == sorted(range(500), key=lambda i: int(numbers[i]))


def test_an_unknown_profile_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="profile must be one of default, retail-2019-2025, margin-trader"):
        SimConfig(profile="whale")
