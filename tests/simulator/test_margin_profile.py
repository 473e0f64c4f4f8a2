"""The margin-trader profile, checked on the ground truth and the REST answers with the standard library only:
positions open, roll over every 4 hours, close or settle; no base asset moves through the spot ledger for a
trade on margin; OpenPositions and TradeBalance agree with the positions' trades and rollovers."""

from __future__ import annotations

import itertools
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from kraken_etl.simulator import SimConfig, create_app
from kraken_etl.simulator.config import ALL_PERMISSIONS, QUERY_OPEN, derive_key
from tests.simulator.conftest import Kraken, make_kraken

FOUR_HOURS = Decimal(4 * 3600)


def _kraken(seed: int, **config: Any) -> Kraken:
    return make_kraken(create_app(SimConfig(seed=seed, ledger_entries=2_000, rate_limits=False,
                                            profile="margin-trader", **config)))


@pytest.fixture(scope="module", params=[1, 10, 13])  # seeds whose account ends with a position open
def account(request: pytest.FixtureRequest) -> dict[str, Any]:
    kraken = _kraken(request.param)
    out = {k: kraken.truth(k) for k in ("ledgers", "trades", "closed_orders", "positions")}
    out["open_positions"] = kraken.result("OpenPositions", docalcs="true")
    out["trade_balance"] = kraken.result("TradeBalance", asset="ZUSD")
    return out


def _t(value: Any) -> Decimal:
    return Decimal(str(value))


def _positions(account: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Opening trades by txid, and the closing trades of each."""
    trades = account["trades"]["trades"]
    opening = {txid: t for txid, t in trades.items() if "posstatus" in t}
    closing: dict[str, list[str]] = defaultdict(list)
    for txid, t in trades.items():
        if t.get("misc") == "closing":
            closing[t["postxid"]].append(txid)
    return opening, closing


def test_the_profile_has_every_margin_shape(account: dict[str, Any]) -> None:
    ledger = account["ledgers"]["ledger"]
    kinds = {r["type"] for r in ledger.values()}
    assert {"margin", "rollover", "settled", "trade", "deposit"} <= kinds
    opening, closing = _positions(account)
    statuses = {t["posstatus"] for t in opening.values()}
    assert "closed" in statuses and statuses & {"open", "partial"} and statuses <= {"open", "partial", "closed"}
    assert set(closing) <= set(opening)
    assert any(len(c) == 2 for c in closing.values())  # a position closed in two parts
    types = {account["trades"]["trades"][c[0]]["ordertype"] for c in closing.values()}
    assert {"market", "settle-position"} <= types


def test_a_trade_on_margin_moves_no_base_asset(account: dict[str, Any]) -> None:
    ledger = account["ledgers"]["ledger"]
    for txid, t in account["trades"]["trades"].items():
        if Decimal(t["margin"]) == 0:
            assert all(ledger[i]["type"] == "trade" for i in t["ledgers"])
            continue
        legs = [ledger[i] for i in t["ledgers"]]
        if t["ordertype"] == "settle-position":
            assert sorted(leg["type"] for leg in legs) == ["settled", "settled"], txid
            assert sorted(abs(Decimal(leg["amount"])) for leg in legs) == sorted(
                (Decimal(t["vol"]), Decimal(t["cost"])))
            continue
        (leg,) = legs
        assert leg["type"] == "margin" and leg["refid"] == txid
        assert Decimal(leg["fee"]) == Decimal(t["fee"])
        quote = t["pair"][-3:]
        assert leg["asset"].endswith(quote)  # the quote currency (ZUSD, ZEUR, USD)
        if "posstatus" in t:
            assert Decimal(leg["amount"]) == 0


def test_a_closed_position_realises_its_net_through_its_closing_margin_entries(account: dict[str, Any]) -> None:
    ledger = account["ledgers"]["ledger"]
    trades = account["trades"]["trades"]
    opening, closing = _positions(account)
    for pid, t in opening.items():
        if t["posstatus"] == "open":
            assert pid not in closing
            continue
        cids = sorted(closing[pid], key=lambda c: _t(trades[c]["time"]))
        assert t["trades"] == cids
        closed = sum(Decimal(trades[c]["vol"]) for c in cids)
        assert closed == Decimal(t["cvol"]) and (closed == Decimal(t["vol"])) == (t["posstatus"] == "closed")
        assert sum(Decimal(trades[c]["cost"]) for c in cids) == Decimal(t["ccost"])
        assert sum(Decimal(trades[c]["fee"]) for c in cids) == Decimal(t["cfee"])
        if len(cids) == 1:
            assert trades[cids[0]]["price"] == t["cprice"]
        else:  # the closed part's average price, by volume
            prices = [Decimal(trades[c]["price"]) for c in cids]
            assert min(prices) <= Decimal(t["cprice"]) <= max(prices)
        margin = [ledger[i] for c in cids for i in trades[c]["ledgers"] if ledger[i]["type"] == "margin"]
        assert Decimal(t["net"]) == sum(Decimal(leg["amount"]) for leg in margin)
        if t["posstatus"] == "closed" and len(cids) == 1 and trades[cids[0]]["ordertype"] != "settle-position":
            long = t["type"] == "buy"
            assert Decimal(t["net"]) == (Decimal(t["ccost"]) - Decimal(t["cost"])) * (1 if long else -1)


def test_rollovers_come_every_four_hours_while_a_position_is_open(account: dict[str, Any]) -> None:
    ledger = account["ledgers"]["ledger"]
    trades = account["trades"]["trades"]
    opening, closing = _positions(account)
    rolls: dict[str, list[Decimal]] = defaultdict(list)
    for row in ledger.values():
        if row["type"] == "rollover":
            assert Decimal(row["amount"]) == 0 and Decimal(row["fee"]) > 0
            rolls[row["refid"]].append(_t(row["time"]))
    assert set(rolls) <= set(opening) and rolls
    for pid, times in rolls.items():
        times.sort()
        opened = _t(opening[pid]["time"])
        assert times[0] - opened >= FOUR_HOURS
        assert all(b - a >= FOUR_HOURS for a, b in itertools.pairwise(times))
        if opening[pid]["posstatus"] == "closed":
            assert times[-1] <= max(_t(trades[c]["time"]) for c in closing[pid])


def test_open_positions_agree_with_their_trades_and_rollovers(account: dict[str, Any]) -> None:
    ledger = account["ledgers"]["ledger"]
    opening, _ = _positions(account)
    listed = account["open_positions"]
    assert listed.keys() == {pid for pid, t in opening.items() if t["posstatus"] in ("open", "partial")}
    assert listed.keys() == account["positions"]["positions"].keys()
    for pid, p in listed.items():
        t = opening[pid]
        assert (p["vol"], p["cost"], p["margin"], p["pair"], p["type"]) == (
            t["vol"], t["cost"], t["margin"], t["pair"], t["type"])
        assert Decimal(p["vol_closed"]) == Decimal(t.get("cvol", "0"))
        rollovers = sum(Decimal(r["fee"]) for r in ledger.values() if r["type"] == "rollover" and r["refid"] == pid)
        assert Decimal(p["fee"]) == Decimal(t["fee"]) + rollovers
        net = Decimal(p["net"].lstrip("+"))
        assert p["net"].startswith("+") == (net >= 0)
        value, cost = Decimal(p["value"]), Decimal(p["cost"])
        if Decimal(p["vol_closed"]) == 0:
            assert net == (value - cost if p["type"] == "buy" else cost - value)
        else:  # value and net are the open volume's: its share of the opening cost, to a unit of the quote
            share = cost * (Decimal(p["vol"]) - Decimal(p["vol_closed"])) / Decimal(p["vol"])
            left = value - net if p["type"] == "buy" else value + net
            assert abs(left - share) <= Decimal("0.0001")


def test_trade_balance_shows_the_margin_in_use(account: dict[str, Any]) -> None:
    tb = account["trade_balance"]
    listed = account["open_positions"]
    m, e, eb, n = (Decimal(tb[k]) for k in ("m", "e", "eb", "n"))
    assert (m > 0) == bool(listed)
    assert e == eb + n and Decimal(tb["mf"]) == e - m
    if listed and all(p["pair"].endswith("USD") for p in listed.values()):
        total = sum(Decimal(p["margin"]) for p in listed.values())
        assert abs(m - total) <= Decimal("0.0001") * len(listed)
        assert abs(n - sum(Decimal(p["net"].lstrip("+")) for p in listed.values())) <= Decimal("0.0001") * len(listed)


def test_margin_orders_say_so() -> None:
    kraken = _kraken(4)
    trades = kraken.truth("trades")["trades"]
    orders = kraken.truth("closed_orders")["closed"]
    margin_orders = {t["ordertxid"] for t in trades.values() if Decimal(t["margin"]) > 0}
    assert margin_orders
    for txid, order in orders.items():
        on_margin = txid in margin_orders
        assert order.get("margin", False) is on_margin
        assert (order["descr"]["leverage"] != "none") is on_margin


def test_open_positions_needs_the_open_orders_permission() -> None:
    spotless = derive_key(4, "no-open", ALL_PERMISSIONS - {QUERY_OPEN})
    kraken = _kraken(4, keys=(spotless,))
    assert kraken.call("OpenPositions")["error"] == ["EGeneral:Permission denied"]
