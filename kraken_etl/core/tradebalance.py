"""TradeBalance answers → `TradeBalance` (Kraken's valuation of the whole account in one asset).

Kraken values every balance in the `asset` it is asked for (its `eb`, equivalent balance) and adds the margin
figures (`tb` trade balance, `m` margin, `n` unrealised net, `c` cost, `v` valuation, `e` equity, `mf` free
margin, `ml` margin level, `uv` unexecuted value); only `eb` is required. Values are decimal strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from kraken_etl.core.assets import LEGACY_IDS
from kraken_etl.core.parsing import MalformedRecord, Reader, rawify

MARGIN_FIELDS = ("tb", "m", "n", "c", "v", "e", "mf", "ml", "uv")
# The assets TradeBalance values in, by canonical code: Kraken's fiat and its two majors. Any other
# reporting currency is asked in USD (ZUSD) and compared through USD prices.
_SUPPORTED = ("USD", "EUR", "GBP", "CAD", "JPY", "BTC", "ETH")


@dataclass(frozen=True, slots=True)
class TradeBalance:
    """One TradeBalance answer: `eb` in `asset` (Kraken's code as asked) at `taken_at`."""

    asset: str
    taken_at: datetime
    eb: Decimal
    margin: Mapping[str, Decimal | None]
    raw: Mapping[str, Any]


def trade_balance_asset(currency: str) -> str:
    """The Kraken code to ask TradeBalance for `currency` (canonical), or ZUSD when Kraken has none."""
    canonical = currency.strip().upper()
    if canonical not in _SUPPORTED:
        canonical = "USD"
    return LEGACY_IDS.get(canonical, canonical)


def parse_trade_balance(result: object, asset: str, taken_at: datetime) -> TradeBalance:
    """``TradeBalance``'s result.

    Raises:
        MalformedRecord: when the result is not an object, `eb` is missing or a value is not a decimal.
    """
    if not isinstance(result, Mapping):
        raise MalformedRecord("balances", asset, "(result)", result, "is not an object")
    r = Reader("balances", asset, result)
    margin = {name: r.opt_dec(name) for name in MARGIN_FIELDS}
    return TradeBalance(asset=asset, taken_at=taken_at, eb=r.dec("eb"), margin=margin, raw=rawify(dict(result)))
