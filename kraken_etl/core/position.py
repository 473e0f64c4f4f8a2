"""OpenPositions answers → `OpenPosition` (Kraken's open spot positions on margin, as they are now).

Kraken's OpenPositions (permission "Query Open Orders & Trades") is a map of position id (the opening
trade's txid) to the position: ``ordertxid, posstatus, pair, time, type, ordertype, cost, fee, vol,
vol_closed, margin`` and, asked with ``docalcs``, ``value`` and ``net`` (``net`` may carry a leading ``+``);
``terms``, ``rollovertm``, ``misc``, ``oflags`` are kept in `raw`. Amounts in the quote currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from kraken_etl.core.parsing import MalformedRecord, Reader, rawify

STREAM = "positions"


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """One open position at `taken_at`. Natural key: (`taken_at`, `postxid`)."""

    postxid: str
    taken_at: datetime
    ordertxid: str | None
    posstatus: str | None
    pair: str
    time: datetime
    time_raw: Decimal
    type: str
    ordertype: str | None
    cost: Decimal
    fee: Decimal
    vol: Decimal
    vol_closed: Decimal | None
    margin: Decimal | None
    value: Decimal | None
    net: Decimal | None
    rollovertm: str | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def parse_open_position(postxid: str, raw: Mapping[str, Any], taken_at: datetime) -> OpenPosition:
    """One entry of the OpenPositions result.

    Raises:
        MalformedRecord: when a required field is missing or unparseable.
    """
    r = Reader(STREAM, postxid, raw)
    time, time_raw = r.time("time")
    return OpenPosition(
        postxid=postxid, taken_at=taken_at, ordertxid=r.opt_text("ordertxid"), posstatus=r.opt_text("posstatus"),
        pair=r.text("pair"), time=time, time_raw=time_raw, type=r.text("type"), ordertype=r.opt_text("ordertype"),
        cost=r.dec("cost"), fee=r.dec("fee"), vol=r.dec("vol"), vol_closed=r.opt_dec("vol_closed"),
        margin=r.opt_dec("margin"), value=r.opt_dec("value"), net=r.opt_dec("net", plus=True),
        rollovertm=r.opt_token("rollovertm"), raw=rawify(raw),
    )


def parse_open_positions(result: object, taken_at: datetime) -> list[OpenPosition]:
    """The whole OpenPositions result (an empty object, or null: no position open).

    Raises:
        MalformedRecord: when the result is not an object or a position is malformed.
    """
    if result is None:
        return []
    if not isinstance(result, Mapping):
        raise MalformedRecord(STREAM, None, "(result)", result, "is not an object")
    return [parse_open_position(str(txid), rec, taken_at) for txid, rec in result.items()]
