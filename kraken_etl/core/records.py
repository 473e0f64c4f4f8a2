"""Domain records: what one Kraken row means, whatever it came from (REST, an export file, WebSocket).

Frozen, slotted dataclasses with exact types: amounts are Decimal, times aware UTC datetimes plus Kraken's
raw time value (`time_raw`, unix seconds as an exact Decimal, at the precision the source gave). `raw`
holds the source record verbatim (numbers as strings) for audit. The REST parsers and the export-file
parsers both produce these, so a row has the same natural key and values from every source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

Source = Literal["rest", "export", "import", "ws"]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One ledger entry. Natural key: `ledger_id` (Kraken's `L…` id; the export's `txid` column)."""

    ledger_id: str
    refid: str | None
    time: datetime
    time_raw: Decimal
    type: str
    subtype: str
    aclass: str
    asset: str
    amount: Decimal
    fee: Decimal
    balance: Decimal | None
    subclass: str | None = None
    wallet: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill. Natural key: `txid`. Kraken states `fee` in the quote currency."""

    txid: str
    ordertxid: str | None
    postxid: str | None
    pair: str
    time: datetime
    time_raw: Decimal
    type: str
    ordertype: str
    price: Decimal
    cost: Decimal
    fee: Decimal
    vol: Decimal
    margin: Decimal | None
    leverage: str | None
    misc: str
    trade_id: int | None
    maker: bool | None
    ledgers: tuple[str, ...] | None
    # position fields (margin trades): on an opening trade its status and, once closed, what closed it
    posstatus: str | None = None
    cprice: Decimal | None = None
    ccost: Decimal | None = None
    cfee: Decimal | None = None
    cvol: Decimal | None = None
    cmargin: Decimal | None = None
    net: Decimal | None = None
    position_trades: tuple[str, ...] | None = None  # Kraken's `trades`: the closing trades of the position
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class ClosedOrder:
    """One closed/canceled/expired order. Natural key: `txid`."""

    txid: str
    refid: str | None
    userref: int | None
    cl_ord_id: str | None
    status: str
    reason: str | None
    opentm: datetime
    opentm_raw: Decimal
    closetm: datetime | None
    closetm_raw: Decimal | None
    starttm_raw: Decimal | None
    expiretm_raw: Decimal | None
    pair: str
    side: str
    ordertype: str
    descr_price: Decimal | None
    descr_price2: Decimal | None
    leverage: str | None
    order_descr: str | None
    vol: Decimal
    vol_exec: Decimal
    cost: Decimal
    fee: Decimal
    price: Decimal
    stopprice: Decimal | None
    limitprice: Decimal | None
    misc: str
    oflags: str
    trigger: str | None
    amended: bool
    trades: tuple[str, ...] | None
    margin: bool | None = None  # an order on margin (ClosedOrders' optional `margin`)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class OrderAmend:
    """One step of an order's amend trail. Natural key: `amend_id`; `timestamp_ns` is Kraken's raw value."""

    amend_id: str
    order_txid: str
    amend_type: str
    order_qty: Decimal | None
    display_qty: Decimal | None
    remaining_qty: Decimal | None
    limit_price: Decimal | None
    trigger_price: Decimal | None
    reason: str | None
    post_only: bool | None
    timestamp: datetime
    timestamp_ns: int
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class BalanceSnapshot:
    """One asset's balance as Kraken reported it at `taken_at` (`source`: Balance, BalanceEx or ws)."""

    asset: str
    balance: Decimal
    taken_at: datetime
    source: str
    wallet: str | None = None
    hold_trade: Decimal | None = None
    credit: Decimal | None = None
    credit_used: Decimal | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A source record that could not become a domain record: kept (never dropped) with its reason."""

    stream: str
    record_id: str | None
    reason: str
    raw: dict[str, Any]
