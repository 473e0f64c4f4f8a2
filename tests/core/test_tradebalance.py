"""TradeBalance answers parsed exactly, or refused with the field named; the asset asked per currency."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kraken_etl.core.parsing import MalformedRecord
from kraken_etl.core.tradebalance import parse_trade_balance, trade_balance_asset

AT = datetime(2026, 1, 2, tzinfo=UTC)


def test_parses_every_field_as_decimal() -> None:
    parsed = parse_trade_balance({"eb": "12345.6789", "tb": "10.1", "m": "0.0000", "mf": 3}, "ZUSD", AT)
    assert parsed.eb == Decimal("12345.6789") and parsed.margin["tb"] == Decimal("10.1")
    assert parsed.margin["mf"] == Decimal(3) and parsed.margin["ml"] is None
    assert (parsed.asset, parsed.taken_at, parsed.raw["eb"]) == ("ZUSD", AT, "12345.6789")


@pytest.mark.parametrize("result", [None, [], {"tb": "1"}, {"eb": "lots"}, {"eb": "1", "tb": "x"}])
def test_refuses_what_is_not_a_trade_balance(result: object) -> None:
    with pytest.raises(MalformedRecord):
        parse_trade_balance(result, "ZUSD", AT)


@pytest.mark.parametrize(("currency", "asset"), [
    ("USD", "ZUSD"), ("eur", "ZEUR"), ("BTC", "XXBT"), ("ETH", "XETH"), ("DOGE", "ZUSD"), ("USDT", "ZUSD"),
])
def test_asset_asked_for_a_currency(currency: str, asset: str) -> None:
    assert trade_balance_asset(currency) == asset
