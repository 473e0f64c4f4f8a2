"""The usual trade (one coin for the reporting currency) has its own quick path in the treatments step; the
general path must agree with it. The general path is reached with the same trade plus a leg that moves
nothing (an entry of another asset with amount 0: no event of its own), so the two are compared on every
shape: buys and sales, fees in the currency or the coin or none, legs in either order, either fee rule."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from kraken_etl.books.event_lines import LedgerLine
from kraken_etl.books.treatments import FeeRule
from kraken_etl.books.treatments_events import ledger_to_events

AT = datetime(2024, 5, 1, 12, tzinfo=UTC)


def events(lines: list[LedgerLine], rule: FeeRule) -> list[tuple[object, ...]]:
    converted = ledger_to_events(lines, currency="USD", fee_rule=rule)
    return [(e.kind, e.asset, e.at, e.amount, e.value, e.fees, tuple(i for i in e.entries if i != "Z"), e.label)
            for e in converted.events]


@pytest.mark.parametrize(("side", "usd_fee", "coin_fee", "swap", "rule"), list(itertools.product(
    (1, -1), (D(0), D("0.0000"), D("2.5")), (D(0), D("0.0001")), (False, True), tuple(FeeRule))))
def test_the_quick_path_equals_the_general_one(side: int, usd_fee: D, coin_fee: D, swap: bool,
                                                rule: FeeRule) -> None:
    usd = LedgerLine("U", "T", AT, "trade", "tradespot", "USD", D("-1000.50") * side, usd_fee, D(1))
    coin = LedgerLine("C", "T", AT, "trade", "tradespot", "BTC", D("0.025") * side, coin_fee, D(40000))
    legs = [coin, usd] if swap else [usd, coin]
    idle = LedgerLine("Z", "T", AT, "trade", "tradespot", "ETH", D(0), D(0), D(2500))
    quick, general = events(legs, rule), events([*legs, idle], rule)
    assert quick == general and len(quick) == 1
    assert [tuple(str(v) for v in e) for e in quick] == [tuple(str(v) for v in e) for e in general]  # same digits
