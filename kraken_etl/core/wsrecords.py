"""What one WebSocket v2 private message item means: frozen records with exact Decimals and UTC times.

`kraken_etl.core.wsmessages` builds them; `kraken_etl.db.ws` stores them. `raw` is the item as received
(numbers as their exact decimal strings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class WsExecution:
    """One item of the `executions` channel."""

    event_key: str
    order_id: str
    exec_id: str | None
    exec_type: str
    order_status: str | None
    symbol: str | None
    side: str | None
    order_qty: Decimal | None
    last_qty: Decimal | None
    last_price: Decimal | None
    cost: Decimal | None
    fee: Decimal | None
    fee_asset: str | None
    liquidity_ind: str | None
    timestamp: datetime
    sequence: int | None
    is_snapshot: bool
    raw: dict[str, Any] = field(compare=False)


@dataclass(frozen=True, slots=True)
class WsBalanceUpdate:
    """One update of the `balances` channel: one ledger movement, with the wallet it touched."""

    ledger_id: str
    ref_id: str | None
    timestamp: datetime
    type: str
    subtype: str | None
    category: str | None
    asset: str
    asset_class: str | None
    wallet_type: str | None
    wallet_id: str | None
    amount: Decimal
    fee: Decimal
    balance: Decimal
    sequence: int | None
    raw: dict[str, Any] = field(compare=False)


@dataclass(frozen=True, slots=True)
class WsWalletBalance:
    """One wallet's balance from the `balances` snapshot."""

    asset: str
    wallet: str  # ``"spot / main"``, as exports write wallets
    balance: Decimal
    raw: dict[str, Any] = field(compare=False)
