"""REST paging against the ground truth: ofs walks inside a fixed end, boundaries, filters, lookups."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from tests.simulator.conftest import Kraken

PAGED = [("Ledgers", "ledgers", "ledger"), ("TradesHistory", "trades", "trades"),
         ("ClosedOrders", "closed_orders", "closed")]


def _rest_shape(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    rec = dict(record)
    if kind == "ledgers":
        rec.pop("wallet")
    if kind == "trades":
        rec.pop("ledgers")
    if kind == "closed_orders":
        rec.pop("trades")
    return rec


def walk(kraken: Kraken, method: str, key: str, **params: Any) -> tuple[list[str], dict[str, Any], set[int]]:
    """Page with ofs until the count is reached; returns ids in order, records, counts seen."""
    ids: list[str] = []
    records: dict[str, Any] = {}
    counts: set[int] = set()
    ofs = 0
    while True:
        result = kraken.result(method, ofs=ofs, **params)
        counts.add(result["count"])
        page = result[key]
        if not page:
            break
        assert len(page) <= 50
        ids.extend(page)
        records.update(page)
        ofs += len(page)
        if ofs >= result["count"]:
            break
    return ids, records, counts


@pytest.mark.parametrize(("method", "kind", "key"), PAGED)
def test_ofs_walk_inside_fixed_end_returns_exactly_the_truth(kraken: Kraken, method: str, kind: str,
                                                             key: str) -> None:
    truth = kraken.truth(kind)
    end = max(Decimal(str(r["closetm" if kind == "closed_orders" else "time"])) for r in truth[key].values())
    ids, records, counts = walk(kraken, method, key, end=str(end))
    assert counts == {truth["count"]}
    assert ids == list(truth[key])  # same newest-first order, ties by id
    assert len(ids) == len(set(ids))
    assert records == {i: _rest_shape(kind, r) for i, r in truth[key].items()}


def test_trades_with_ledgers_and_orders_with_trades_match_truth(kraken: Kraken) -> None:
    trades = kraken.truth("trades")["trades"]
    page = kraken.result("TradesHistory", ledgers="true")["trades"]
    assert page == {t: trades[t] for t in page}
    closed = kraken.truth("closed_orders")["closed"]
    page = kraken.result("ClosedOrders", trades="true")["closed"]
    assert page == {o: closed[o] for o in page}


def test_ties_are_ordered_by_id_newest_first(kraken: Kraken) -> None:
    ids = list(kraken.truth("ledgers")["ledger"].items())
    tied = 0
    for (id_a, a), (id_b, b) in itertools.pairwise(ids):
        if a["time"] == b["time"]:
            tied += 1
            assert id_a > id_b
    assert tied > 100


def test_ledger_start_exclusive_end_inclusive_with_times_and_ids(kraken: Kraken) -> None:
    truth = list(kraken.truth("ledgers")["ledger"].items())  # newest first
    distinct = sorted({Decimal(str(r["time"])) for _, r in truth})
    lo, hi = distinct[100], distinct[130]
    expected = [i for i, r in truth if lo < Decimal(str(r["time"])) <= hi]
    got = kraken.result("Ledgers", start=str(lo), end=str(hi))
    assert got["count"] == len(expected)
    assert list(got["ledger"]) == expected[:50]
    # the same window given by ids: an id stands for its record's time
    lo_id = next(i for i, r in truth if Decimal(str(r["time"])) == lo)
    hi_id = next(i for i, r in truth if Decimal(str(r["time"])) == hi)
    by_id = kraken.result("Ledgers", start=lo_id, end=hi_id)
    assert by_id == got
    assert lo_id not in by_id["ledger"] and hi_id in by_id["ledger"]
    # integer seconds around a record: end=floor(t) excludes it, start=floor(t) includes it
    t = distinct[200]
    at_t = [i for i, r in truth if Decimal(str(r["time"])) == t]
    floor = int(t)
    assert not set(at_t) & set(kraken.result("Ledgers", end=str(floor), start=str(floor - 1))["ledger"])
    assert set(at_t) <= set(kraken.result("Ledgers", start=str(floor), end=str(t))["ledger"])


def test_trades_and_orders_bounds_by_id(kraken: Kraken) -> None:
    trades = list(kraken.truth("trades")["trades"].items())
    t_id, _ = trades[60]
    page = kraken.result("TradesHistory", end=t_id)
    assert next(iter(page["trades"])) == t_id and page["count"] == len(trades) - 60
    page = kraken.result("TradesHistory", start=t_id)
    assert t_id not in page["trades"] and page["count"] == 60
    orders = list(kraken.truth("closed_orders")["closed"].items())
    o_id, o_rec = orders[40]
    opentm = Decimal(str(o_rec["opentm"]))
    page = kraken.result("ClosedOrders", end=o_id, closetime="open")
    expected = [i for i, r in orders if Decimal(str(r["opentm"])) <= opentm]
    assert page["count"] == len(expected) and list(page["closed"]) == expected[:50]
    page = kraken.result("ClosedOrders", start=o_id, closetime="close")
    assert page["count"] == sum(1 for _, r in orders if Decimal(str(r["closetm"])) > opentm)


def test_filters_without_count_and_empty_tail(kraken: Kraken) -> None:
    truth = kraken.truth("ledgers")["ledger"]
    usd = [i for i, r in truth.items() if r["asset"] in ("ZUSD", "XXBT")]
    ids, _, counts = walk(kraken, "Ledgers", "ledger", asset="ZUSD,XXBT")
    assert ids == usd and counts == {len(usd)}
    deposits = [i for i, r in truth.items() if r["type"] == "deposit"]
    ids, _, _ = walk(kraken, "Ledgers", "ledger", type="deposit")
    assert ids == deposits
    assert kraken.result("Ledgers", type="rollover") == {"ledger": {}, "count": 0}
    result = kraken.result("Ledgers", without_count="true")
    assert "count" not in result and len(result["ledger"]) == 50
    assert kraken.result("Ledgers", ofs=len(truth) + 5)["ledger"] == {}
    assert kraken.call("Ledgers", type="bogus")["error"] == ["EGeneral:Invalid arguments:type"]
    assert kraken.call("Ledgers", start="not-an-id")["error"] == ["EGeneral:Invalid arguments:start"]
    assert kraken.call("Ledgers", ofs="-1")["error"] == ["EGeneral:Invalid arguments:ofs"]


def test_query_endpoints(kraken: Kraken) -> None:
    ledger = kraken.truth("ledgers")["ledger"]
    some = list(ledger)[:20]
    got = kraken.result("QueryLedgers", id=",".join(some))
    assert got == {i: _rest_shape("ledgers", ledger[i]) for i in some}
    assert kraken.call("QueryLedgers", id=",".join(list(ledger)[:21]))["error"] == [
        "EGeneral:Invalid arguments:id"]
    trades = kraken.truth("trades")["trades"]
    tids = list(trades)[:5]
    assert kraken.result("QueryTrades", txid=",".join(tids)) == {
        t: _rest_shape("trades", trades[t]) for t in tids}
    closed = kraken.truth("closed_orders")["closed"]
    oids = list(closed)[:7]
    assert kraken.result("QueryOrders", txid=",".join(oids), trades="true") == {o: closed[o] for o in oids}
    amends = kraken.truth("order_amends")["amends"]
    oid, trail = next(iter(amends.items()))
    assert kraken.result("OrderAmends", order_id=oid) == {"amends": trail, "count": len(trail)}
    plain = next(o for o in closed if o not in amends)
    assert kraken.result("OrderAmends", order_id=plain) == {"amends": [], "count": 0}


def test_formats(kraken: Kraken) -> None:
    response = kraken.raw("Ledgers")
    text = response.text
    assert '"time":17' in text  # a JSON number, not a string
    row = next(iter(kraken.result("Ledgers")["ledger"].values()))
    assert isinstance(row["time"], Decimal)
    assert len(row["amount"].split(".")[1]) in (2, 4, 8, 10)
    trade = next(iter(kraken.result("TradesHistory")["trades"].values()))
    assert trade["postxid"] == "TKH2SE-M7IF5-CFI7LT" and isinstance(trade["maker"], bool)
    assert len(trade["vol"].split(".")[1]) == 8
    public = kraken.client.get("/0/public/AssetPairs", params={"pair": "XBTUSD"}).json()
    assert public["error"] == [] and public["result"]["XXBTZUSD"]["altname"] == "XBTUSD"
    assets = kraken.client.get("/0/public/Assets").json()["result"]
    assert assets["XXBT"]["decimals"] == 10 and assets["KFEE"]["altname"] == "FEE"
    assert kraken.client.get("/0/public/Time").json()["result"]["unixtime"] > 1_700_000_000
    assert kraken.client.get("/0/public/Nope").json() == {"error": ["EGeneral:Unknown method"]}
    balance = kraken.result("Balance")
    assert balance["XXBT"].count(".") == 1 and len(balance["XXBT"].split(".")[1]) == 10
    trade_balance = kraken.result("TradeBalance")
    assert Decimal(trade_balance["eb"]) > 0
