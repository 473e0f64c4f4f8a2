"""The lot engine on hand-made cases whose answers are worked out by hand or published.

Sources:
- HMRC Cryptoassets Manual CRYPTO22251 (pooling example 1: basic section 104 pool disposal) and CRYPTO22255
  (pooling example 5: the 30-day rule and a part disposal of the section 104 pool), figures as published.
- The same-day rule: TCGA92/S105(1) as summarised in HMRC's Cryptoassets Manual CRYPTO22200 ("same day",
  then "30 days", then the pool); the case is built from the rule, its figures worked by hand below.
- FIFO, LIFO, HIFO and average cost: the three-lot textbook case, worked by hand below.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from kraken_etl.books.lots import compute, split
from kraken_etl.books.lots_model import Event, Kind, Method


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def buy(asset: str, day: str, amount: str, cost: str, eid: str, hour: int = 12) -> Event:
    return Event(Kind.ACQUIRE, asset, at(day, hour), D(amount), D(cost), entries=(eid,))


def sell(asset: str, day: str, amount: str, proceeds: str, eid: str, fees: str = "0", hour: int = 12) -> Event:
    return Event(Kind.DISPOSE, asset, at(day, hour), D(amount), D(proceeds), D(fees), entries=(eid,))


THREE_LOTS = [
    buy("XBT", "2024-01-01", "1", "100", "L1"),
    buy("XBT", "2024-02-01", "1", "300", "L2"),
    buy("XBT", "2024-03-01", "1", "200", "L3"),
    sell("XBT", "2024-04-01", "1.5", "600", "S1"),
]


@pytest.mark.parametrize(("method", "cost", "sources"), [
    ("fifo", "250", [("L1",), ("L2",)]),  # 100 + half of 300
    ("lifo", "350", [("L3",), ("L2",)]),  # 200 + half of 300
    ("hifo", "400", [("L2",), ("L3",)]),  # 300, then the next highest (200) for half: 400
    ("average", "300", [()]),  # 600 / 3 x 1.5
])
def test_three_lots_each_method(method: str, cost: str, sources: list[tuple[str, ...]]) -> None:
    books = compute(THREE_LOTS, method)
    assert sum(d.cost for d in books.disposals) == D(cost)
    assert sum(d.proceeds for d in books.disposals) == D(600)
    assert sum(d.gain for d in books.disposals) == D(600) - D(cost)
    assert [d.acquisition_entries for d in books.disposals] == sources
    assert all(d.rule == method and d.disposal_entries == ("S1",) for d in books.disposals)
    assert books.held("XBT") == D("1.5") and not books.shortfalls
    assert sum(lot.cost for lot in books.lots["XBT"]) == D(600) - D(cost)


def test_a_disposal_larger_than_the_lots_is_a_shortfall_naming_the_entry() -> None:
    books = compute([buy("ETH", "2024-01-01", "2", "2000", "L1"), sell("ETH", "2024-01-05", "3", "4500", "S9")],
                    "fifo")
    [short] = books.shortfalls
    assert (short.asset, short.wanted, short.held, short.missing, short.entries) == ("ETH", D(3), D(2), D(1), ("S9",))
    assert "S9" in short.describe() and "1 short" in short.describe()
    rows = {d.rule: d for d in books.disposals}
    assert rows["shortfall"].amount == D(1) and rows["shortfall"].cost == 0 and rows["shortfall"].proceeds == D(1500)
    assert rows["fifo"].cost == D(2000) and rows["fifo"].proceeds == D(3000)
    assert books.held("ETH") == 0


@pytest.mark.parametrize("method", list(Method))
def test_every_method_reports_a_shortfall(method: Method) -> None:
    books = compute([sell("ETH", "2024-01-05", "1", "10", "S1")], method)
    assert [s.entries for s in books.shortfalls] == [("S1",)]
    assert [d.rule for d in books.disposals] == ["shortfall"]


def test_fees_reduce_the_gain_and_are_shared_by_quantity() -> None:
    books = compute([buy("XBT", "2024-01-01", "1", "100", "L1"), buy("XBT", "2024-01-02", "1", "200", "L2"),
                     sell("XBT", "2024-02-01", "2", "1000", "S1", fees="3")], "fifo")
    assert [d.fees for d in books.disposals] == [D("1.5"), D("1.5")]
    assert sum(d.gain for d in books.disposals) == D(1000) - D(300) - D(3)


def test_shares_add_up_exactly() -> None:
    shares = split(D("100"), [D(1), D(1), D(1)])
    assert sum(shares) == D(100) and shares[0] == shares[1] != shares[2]


def test_a_transfer_out_carries_cost_and_is_no_disposal() -> None:
    events = [buy("DOT", "2024-01-01", "10", "50", "L1"), buy("DOT", "2024-01-02", "10", "70", "L2"),
              Event(Kind.TRANSFER_OUT, "DOT", at("2024-01-03"), D(15), entries=("W1",)),
              sell("DOT", "2024-01-04", "5", "40", "S1")]
    books = compute(events, "fifo")
    [transfer] = books.transfers
    assert (transfer.amount, transfer.cost, transfer.entries) == (D(15), D(50) + D(35), ("W1",))
    [disposal] = books.disposals
    assert (disposal.cost, disposal.gain, disposal.acquisition_entries) == (D(35), D(5), ("L2",))
    assert books.held("DOT") == 0


def test_income_opens_a_lot_at_fair_value_and_an_income_row() -> None:
    reward = Event(Kind.INCOME, "DOT", at("2024-01-01"), D(2), D(12), entries=("R1",), label="staking")
    books = compute([reward, sell("DOT", "2024-01-02", "2", "14", "S1")], "fifo")
    assert [(i.amount, i.value, i.label) for i in books.income] == [(D(2), D(12), "staking")]
    assert [d.gain for d in books.disposals] == [D(2)]


def test_fee_credits_are_an_expense_without_lots() -> None:
    spend = Event(Kind.EXPENSE, "KFEE", at("2024-01-01"), D(100), D(1), entries=("K1",), label="trade fee")
    books = compute([spend], "fifo")
    assert [(e.asset, e.value) for e in books.expenses] == [("KFEE", D(1))]
    assert not books.disposals and not books.shortfalls and not books.lots


# --- uk ---------------------------------------------------------------------------------------------------


def test_hmrc_crypto22251_basic_section_104_pool() -> None:
    events = [buy("A", "2019-06-01", "100", "1000", "B1"), buy("A", "2020-09-18", "50", "125000", "B2"),
              sell("A", "2020-12-01", "50", "300000", "S1")]
    books = compute(events, "uk")
    [disposal] = books.disposals
    assert (disposal.rule, disposal.cost, disposal.gain) == ("pool", D(42000), D(258000))
    [pool] = books.lots["A"]
    assert (pool.amount, pool.cost) == (D(100), D(84000))


def test_hmrc_crypto22255_thirty_day_rule_and_part_disposal_of_the_pool() -> None:
    events = [buy("E", "2019-01-01", "14000", "200000", "B0"), sell("E", "2020-08-30", "4000", "160000", "S1"),
              buy("E", "2020-09-11", "500", "17500", "B1")]
    books = compute(events, "uk")
    rows = {d.rule: d for d in books.disposals}
    assert set(rows) == {"thirty_day", "pool"}
    assert (rows["thirty_day"].amount, rows["thirty_day"].cost) == (D(500), D(17500))
    assert rows["thirty_day"].acquisition_entries == ("B1",)
    assert (rows["pool"].amount, rows["pool"].cost) == (D(3500), D(50000))
    assert sum(d.gain for d in books.disposals) == D(92500)
    [pool] = books.lots["E"]
    assert (pool.amount, pool.cost) == (D(10500), D(150000))  # the 500 bought back never enter the pool


def test_same_day_rule_before_the_thirty_day_rule_and_the_pool() -> None:
    # Pool 100 A for 1,000. On 1 March: buy 10 for 200 (morning), sell 30 for 900 (evening), buy 10 more for
    # 300 (night): the day's buys count as one (20 for 500) and match first; the other 10 sold come from the
    # pool (10/100 x 1,000 = 100) since no acquisition follows within 30 days. Gain: 900 - 500 - 100 = 300.
    events = [buy("A", "2024-01-01", "100", "1000", "B0"), buy("A", "2024-03-01", "10", "200", "B1", hour=9),
              sell("A", "2024-03-01", "30", "900", "S1", hour=18), buy("A", "2024-03-01", "10", "300", "B2", hour=22)]
    books = compute(events, "uk")
    rows = {d.rule: d for d in books.disposals}
    assert (rows["same_day"].amount, rows["same_day"].cost, rows["same_day"].proceeds) == (D(20), D(500), D(600))
    assert rows["same_day"].acquisition_entries == ("B1", "B2")
    assert (rows["pool"].amount, rows["pool"].cost) == (D(10), D(100))
    assert sum(d.gain for d in books.disposals) == D(300)


def test_a_later_disposal_cannot_take_an_acquisition_the_thirty_day_rule_gave_an_earlier_one() -> None:
    # Sell 10 on 1 May and 10 on 10 May, buy 15 on 20 May: the 1 May disposal takes 10 of them, the 10 May
    # disposal the other 5 and 5 from the pool (pool: 100 for 1,000).
    events = [buy("A", "2024-01-01", "100", "1000", "B0"), sell("A", "2024-05-01", "10", "500", "S1"),
              sell("A", "2024-05-10", "10", "500", "S2"), buy("A", "2024-05-20", "15", "600", "B1")]
    books = compute(events, "uk")
    got = [(d.disposal_entries, d.rule, d.amount, d.cost) for d in books.disposals]
    assert got == [(("S1",), "thirty_day", D(10), D(400)), (("S2",), "thirty_day", D(5), D(200)),
                   (("S2",), "pool", D(5), D(50))]


def test_an_acquisition_31_days_later_goes_to_the_pool() -> None:
    events = [buy("A", "2024-01-01", "10", "100", "B0"), sell("A", "2024-05-01", "5", "500", "S1"),
              buy("A", "2024-06-01", "5", "1000", "B1")]
    books = compute(events, "uk")
    assert [(d.rule, d.cost) for d in books.disposals] == [("pool", D(50))]
    assert (books.lots["A"][0].amount, books.lots["A"][0].cost) == (D(10), D(1050))


def test_uk_day_boundary_follows_the_given_day_function() -> None:
    # 23:30 UTC on 1 March is 2 March in UTC+1; with that day the buy and the sell fall on the same day.
    events = [buy("A", "2024-01-01", "10", "100", "B0"), sell("A", "2024-03-01", "1", "50", "S1", hour=23),
              buy("A", "2024-03-02", "1", "40", "B1", hour=9)]
    utc = compute(events, "uk")
    assert [d.rule for d in utc.disposals] == ["thirty_day"]
    plus_one = compute(events, "uk", day=lambda t: (t + timedelta(hours=1)).date())
    assert [d.rule for d in plus_one.disposals] == ["same_day"]


@pytest.mark.parametrize("method", list(Method))
def test_holdings_add_up_to_the_open_lots(method: Method) -> None:
    events = [buy("A", "2024-01-01", "100", "1000", "B0"), sell("A", "2024-05-01", "10", "500", "S1"),
              Event(Kind.TRANSFER_OUT, "A", at("2024-05-03"), D(5), entries=("W1",)),
              buy("A", "2024-05-20", "15", "600", "B1"), sell("A", "2024-07-01", "30", "900", "S2")]
    books = compute(events, method)
    assert sum(h.quantity for h in books.holdings) == books.held("A") == D(70)
    assert sum(h.cost for h in books.holdings) == sum(lot.cost for lot in books.lots["A"])
    mid = [h for h in books.holdings if h.at <= at("2024-05-10")]
    assert sum(h.quantity for h in mid) == D(85)


def test_rows_built_fast_are_still_frozen_validated_dataclasses() -> None:
    # the rows get a hand-built __init__ for speed: same parameters, defaults, validation and immutability
    event = Event(Kind.ACQUIRE, "XBT", at("2024-01-01"), D("2"), entries=("E1",), label="trade")
    assert (event.value, event.fees, event.seq, event.cost_assumed, event.acquired_at) == (D(0), D(0), 0, False, None)
    assert event == Event(Kind.ACQUIRE, "XBT", at("2024-01-01"), D("2"), D(0), D(0), ("E1",), 0, False, "trade")
    assert hash(event) == hash(dataclasses.replace(event))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.amount = D("3")  # type: ignore[misc]
    with pytest.raises(ValueError, match="must be positive"):
        Event(Kind.DISPOSE, "XBT", at("2024-01-01"), D("0"))
    with pytest.raises(TypeError):
        Event(Kind.ACQUIRE, "XBT", at("2024-01-01"))  # type: ignore[call-arg]
