"""Balance and BalanceEx answers → `BalanceSnapshot`s taken at one moment (Kraken's Balance docs).

Balance values are decimal strings, sometimes JSON numbers; BalanceEx nests
``balance``/``hold_trade`` (+ ``credit``/``credit_used`` for credit lines). An empty account may answer
without a `result` (rotki#946): that is an empty snapshot, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kraken_etl.core.parsing import MalformedRecord, Reader, rawify
from kraken_etl.core.records import BalanceSnapshot


def _entries(result: object) -> Mapping[str, Any]:
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise MalformedRecord("balances", None, "(result)", result, "is not an object")
    return result


def parse_balance(result: Mapping[str, Any] | None, taken_at: datetime) -> list[BalanceSnapshot]:
    """``Balance``'s result (asset → amount).

    Raises:
        MalformedRecord: when the result is not an object or an amount is not a decimal.
    """
    return _snapshots({asset: {"balance": value} for asset, value in _entries(result).items()}, taken_at, "Balance")


def parse_balance_ex(result: Mapping[str, Any] | None, taken_at: datetime) -> list[BalanceSnapshot]:
    """``BalanceEx``'s result (asset → {balance, hold_trade[, credit, credit_used]}).

    Raises:
        MalformedRecord: when an entry is not an object or an amount is not a decimal.
    """
    return _snapshots(_entries(result), taken_at, "BalanceEx")


def _snapshots(entries: Mapping[str, Any], taken_at: datetime, source: str) -> list[BalanceSnapshot]:
    out = []
    for asset, entry in entries.items():
        r = Reader("balances", asset, entry)
        out.append(BalanceSnapshot(
            asset=asset,
            balance=r.dec("balance"),
            taken_at=taken_at,
            source=source,
            hold_trade=r.opt_dec("hold_trade"),
            credit=r.opt_dec("credit"),
            credit_used=r.opt_dec("credit_used"),
            raw={"asset": asset, **rawify(entry)},
        ))
    return out
