"""The simulator's ledger truth turned into acquisitions and disposals, written for the oracle tests only.

It does not use the product's treatments (the oracles would then agree with their bugs); the rules are
plain and the same events go to this engine, rp2 and BittyTax:
- assets by their common code with the wallet suffix dropped (`DOT.S` is `DOT`, `USD.HOLD` is `USD`);
  `USD` is the reporting currency and has no lots; `KFEE` fee credits are left out;
- a trade (its ledger rows grouped by refid) disposes of what it gave and acquires what it received, both at
  the trade's value: the net USD it paid or received, else the net EUR times `EUR_USD`, else the received
  amount at the test's fixed price; quantities are net of the ledger fee, and no fee is separate (the tools
  are compared on matching, their fee rules on hand-made cases);
- moves between the account's own wallets (type `transfer`, earn allocations) are left out (they cancel per
  asset); any other row that adds an asset is an acquisition, and one that takes it away a disposal, at the
  test's fixed price;
- an asset sold before it was bought (the simulated account opens with balances) gets one opening lot,
  the day before the first row, of the smallest quantity that keeps its running total from going negative.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from kraken_etl.books.lots_model import Event, Kind
from tests.oracle import base_and_suffix, common_code, seconds

EUR_USD = Decimal("1.08")
PRICES = {"BTC": Decimal("43210.55"), "ETH": Decimal("2345.67"), "SOL": Decimal("98.76"), "DOT": Decimal("6.54"),
          "USDT": Decimal("1.0003"), "EUR": EUR_USD, "ETH2": Decimal("2345.67")}
MOVES = {"transfer"}
EARN_MOVES = {"allocation", "deallocation", "autoallocation", "migration"}


def base(code: str) -> str:
    return base_and_suffix(common_code(code))[0]


def price(asset: str) -> Decimal:
    return PRICES.get(asset, Decimal("3.21"))


def sim_events(ledger: dict[str, dict[str, Any]]) -> list[Event]:
    rows = sorted(ledger.items(), key=lambda item: (seconds(item[1]["time"]), item[0]))
    trades: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    events: list[Event] = []
    for lid, row in rows:
        asset = base(row["asset"])
        if asset == "KFEE":
            continue
        if row["type"] == "trade":
            trades[row["refid"]].append((lid, row))
            continue
        if row["type"] in MOVES or (row["type"] == "earn" and row.get("subtype") in EARN_MOVES):
            continue
        if asset == "USD":
            continue
        change = Decimal(row["amount"]) - Decimal(row["fee"])
        if change:
            kind = Kind.ACQUIRE if change > 0 else Kind.DISPOSE
            events.append(Event(kind, asset, _at(row), abs(change), abs(change) * price(asset), entries=(lid,)))
    for legs in trades.values():
        events.extend(_trade(legs))
    events.sort(key=lambda e: (e.at, e.entries))
    events = [Event(e.kind, e.asset, e.at, e.amount, e.value, entries=e.entries, seq=i) for i, e in enumerate(events)]
    return _openings(events) + events


def _at(row: dict[str, Any]) -> datetime:
    stamp = seconds(row["time"])
    whole = int(stamp)
    return datetime.fromtimestamp(whole, UTC) + timedelta(microseconds=int((stamp - whole) * 1_000_000))


def _trade(legs: list[tuple[str, dict[str, Any]]]) -> list[Event]:
    net: dict[str, Decimal] = defaultdict(Decimal)
    ids: dict[str, list[str]] = defaultdict(list)
    for lid, row in legs:
        asset = base(row["asset"])
        if asset != "KFEE":
            net[asset] += Decimal(row["amount"]) - Decimal(row["fee"])
            ids[asset].append(lid)
    at = _at(legs[0][1])
    if "USD" in net:
        value = abs(net["USD"])
    elif "EUR" in net:
        value = abs(net["EUR"]) * EUR_USD
    else:
        received = [a for a, q in net.items() if q > 0]
        value = sum((net[a] * price(a) for a in received), Decimal(0))
    out = []
    for asset, quantity in sorted(net.items()):
        if asset == "USD" or not quantity:
            continue
        kind = Kind.ACQUIRE if quantity > 0 else Kind.DISPOSE
        out.append(Event(kind, asset, at, abs(quantity), value, entries=tuple(ids[asset])))
    return out


def _openings(events: list[Event]) -> list[Event]:
    running: dict[str, Decimal] = defaultdict(Decimal)
    lowest: dict[str, Decimal] = defaultdict(Decimal)
    for e in events:
        running[e.asset] += e.amount if e.kind is Kind.ACQUIRE else -e.amount
        lowest[e.asset] = min(lowest[e.asset], running[e.asset])
    first = events[0].at - timedelta(days=1)
    return [Event(Kind.ACQUIRE, asset, first, -low, -low * price(asset), entries=(f"open-{asset}",), seq=-1)
            for asset, low in sorted(lowest.items()) if low < 0]
