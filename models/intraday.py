"""What the WebSocket v2 listener stores: execution updates and balance updates, as received."""

from __future__ import annotations

from sqlalchemy import Identity, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created
from models.types import Amount, KrakenId, Label, Raw, UtcDateTime


class WsExecutionRow(Base):
    """One message item of the WS v2 `executions` channel. Key: exec_id for fills, else an event key."""

    __tablename__ = "ws_execution"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    event_key: Mapped[str]
    order_id: Mapped[str]
    exec_id: Mapped[str | None]
    exec_type: Mapped[str]
    order_status: Mapped[str | None]
    symbol: Mapped[str | None]
    side: Mapped[str | None]
    order_qty: Mapped[Amount | None]
    last_qty: Mapped[Amount | None]
    last_price: Mapped[Amount | None]
    cost: Mapped[Amount | None]
    fee: Mapped[Amount | None]
    fee_asset: Mapped[str | None]
    liquidity_ind: Mapped[str | None]
    timestamp: Mapped[UtcDateTime]
    sequence: Mapped[int | None]
    is_snapshot: Mapped[bool] = mapped_column(server_default=text("false"))
    received_at: Mapped[UtcDateTime] = created()
    raw: Mapped[Raw]

    __table_args__ = (
        UniqueConstraint("account", "event_key"),
        Index(None, "account", "order_id"),
        Index(None, "account", "timestamp"),
    )


class WsBalanceUpdateRow(Base):
    """One update of the WS v2 `balances` channel (one per ledger entry). Natural key: (account, ledger_id)."""

    __tablename__ = "ws_balance_update"

    account: Mapped[Label] = mapped_column(primary_key=True)
    ledger_id: Mapped[KrakenId] = mapped_column(primary_key=True)
    ref_id: Mapped[str | None]
    timestamp: Mapped[UtcDateTime]
    type: Mapped[str]
    subtype: Mapped[str | None]
    category: Mapped[str | None]
    asset: Mapped[str]
    asset_class: Mapped[str | None]
    wallet_type: Mapped[str | None]
    wallet_id: Mapped[str | None]
    amount: Mapped[Amount]
    fee: Mapped[Amount]
    balance: Mapped[Amount]
    sequence: Mapped[int | None]
    received_at: Mapped[UtcDateTime] = created()
    raw: Mapped[Raw]

    __table_args__ = (Index(None, "account", "timestamp"),)
