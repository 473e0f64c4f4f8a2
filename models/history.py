"""Kraken's history as loaded: ledger entries, trades, closed orders, order amends, balance snapshots.

Conventions: every row from Kraken carries `account` (our label) and `raw` (Kraken's record verbatim,
numbers as strings); natural keys are unique together with `account`; money is `Amount` (NUMERIC); times
are timestamptz plus Kraken's raw time value (`*_raw`, exact) so nothing finer than a microsecond is lost.
`source` says where the current values came from (rest, export, import, ws).
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Identity, Index, PrimaryKeyConstraint, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created
from models.types import Amount, KrakenId, Label, Raw, RawTime, UtcDateTime


class LedgerEntryRow(Base):
    """One Kraken ledger entry (one asset movement). Natural key: (account, ledger_id)."""

    __tablename__ = "ledger_entry"

    account: Mapped[Label] = mapped_column(primary_key=True)
    ledger_id: Mapped[KrakenId] = mapped_column(primary_key=True)
    refid: Mapped[str | None]
    time: Mapped[UtcDateTime]
    time_raw: Mapped[RawTime]
    type: Mapped[str]
    subtype: Mapped[str] = mapped_column(server_default="")
    aclass: Mapped[str] = mapped_column(server_default="currency")
    subclass: Mapped[str | None]
    asset: Mapped[str]
    wallet: Mapped[str | None]  # as Kraken wrote it (exports); NULL on REST rows
    wallet_resolved: Mapped[str | None]  # the wallet reconciliation assigned (see wallet_source)
    wallet_source: Mapped[str | None]  # export | suffix | listener | continuity | unknown
    # when wallet assignment (its only writer) last changed wallet_resolved / wallet_source
    wallet_at: Mapped[UtcDateTime | None]
    amount: Mapped[Amount]
    fee: Mapped[Amount]
    balance: Mapped[Amount | None]
    flags: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    source: Mapped[str]
    raw: Mapped[Raw]
    first_seen_at: Mapped[UtcDateTime] = created()
    updated_at: Mapped[UtcDateTime] = created()

    __table_args__ = (
        CheckConstraint(
            "wallet_source IS NULL OR wallet_source IN ('export', 'suffix', 'listener', 'continuity', 'unknown')",
            name="wallet_source",
        ),
        Index(None, "account", "time"),
        # look-alike ids: a key equal to a stored one once lower-cased is found by a probe (kraken_etl.db.merge_rule)
        Index("ix_ledger_entry_account_lower_ledger_id", "account", text("lower(ledger_id)")),
        # covering: trade legs by refid, read from the index alone (reconciliation)
        Index(None, "account", "refid", postgresql_include=["ledger_id", "amount", "fee", "asset"]),
        Index(None, "account", "asset", "wallet", "time"),
        # covering: the balance chain in order, read from the index alone (reconciliation)
        Index(None, "account", "asset", "wallet_resolved", "time", "ledger_id",
              postgresql_include=["amount", "fee", "balance"]),
        Index(None, "account", "updated_at"),
        Index(None, "account", "wallet_at"),
        Index(None, "account", "asset", postgresql_where=text("wallet_resolved IS NULL")),
        # rows wallet assignment could not place (normally none): the chain check's warning reads only these
        Index("ix_ledger_entry_wallet_unknown", "account", "asset", "time", "ledger_id",
              postgresql_where=text("wallet_source = 'unknown'")),
        # rows the export wallet rule would change (none once reconciled): a full run's wallet pass reads
        # only these instead of every exported row
        Index("ix_ledger_entry_export_wallet_pending", "account",
              postgresql_where=text("wallet IS NOT NULL AND (wallet_source IS DISTINCT FROM 'export' "
                                    "OR wallet_resolved IS DISTINCT FROM wallet)")),
    )


class TradeRow(Base):
    """One fill from TradesHistory (or a trades export). Natural key: (account, txid)."""

    __tablename__ = "trade"

    account: Mapped[Label] = mapped_column(primary_key=True)
    txid: Mapped[KrakenId] = mapped_column(primary_key=True)
    ordertxid: Mapped[str | None]
    postxid: Mapped[str | None]
    pair: Mapped[str]
    time: Mapped[UtcDateTime]
    time_raw: Mapped[RawTime]
    type: Mapped[str]
    ordertype: Mapped[str]
    price: Mapped[Amount]
    cost: Mapped[Amount]
    fee: Mapped[Amount]
    vol: Mapped[Amount]
    margin: Mapped[Amount | None]
    leverage: Mapped[str | None]
    misc: Mapped[str] = mapped_column(server_default="")
    trade_id: Mapped[int | None]
    maker: Mapped[bool | None]
    ledgers: Mapped[list[str] | None]
    # position fields of a margin trade (TradesHistory; the trades export's position columns)
    posstatus: Mapped[str | None]  # an opening trade's position status: open | closed
    cprice: Mapped[Amount | None]  # closed part of the position: average price, cost, fee, volume, margin
    ccost: Mapped[Amount | None]
    cfee: Mapped[Amount | None]
    cvol: Mapped[Amount | None]
    cmargin: Mapped[Amount | None]
    net: Mapped[Amount | None]  # profit or loss of the closed part (quote currency)
    position_trades: Mapped[list[str] | None]  # Kraken's `trades`: the trades that closed the position
    flags: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    source: Mapped[str]
    raw: Mapped[Raw]
    first_seen_at: Mapped[UtcDateTime] = created()
    updated_at: Mapped[UtcDateTime] = created()

    __table_args__ = (
        # covering: a full trade_ledger pass reads every trade in key order from the key alone (reconciliation)
        PrimaryKeyConstraint("account", "txid",
                             postgresql_include=["time", "type", "vol", "cost", "fee", "price", "ledgers"]),
        Index(None, "account", "time"), Index(None, "account", "updated_at"),
        Index("ix_trade_account_lower_txid", "account", text("lower(txid)")),  # look-alike ids (db.merge_rule)
        # covering: an order's trades and their sums, read from the index alone (reconciliation)
        Index(None, "account", "ordertxid", postgresql_include=["vol", "cost", "fee"]),
        # a position's closing trades (the positions check)
        Index(None, "account", "postxid"),
    )


class ClosedOrderRow(Base):
    """One closed, cancelled or expired order. Natural key: (account, txid)."""

    __tablename__ = "closed_order"

    account: Mapped[Label] = mapped_column(primary_key=True)
    txid: Mapped[KrakenId] = mapped_column(primary_key=True)
    refid: Mapped[str | None]
    userref: Mapped[int | None]
    cl_ord_id: Mapped[str | None]
    status: Mapped[str]
    reason: Mapped[str | None]
    opentm: Mapped[UtcDateTime]
    opentm_raw: Mapped[RawTime]
    closetm: Mapped[UtcDateTime | None]
    closetm_raw: Mapped[RawTime | None]
    starttm_raw: Mapped[RawTime | None]
    expiretm_raw: Mapped[RawTime | None]
    pair: Mapped[str]
    side: Mapped[str]
    ordertype: Mapped[str]
    descr_price: Mapped[Amount | None]
    descr_price2: Mapped[Amount | None]
    leverage: Mapped[str | None]
    order_descr: Mapped[str | None]
    vol: Mapped[Amount]
    vol_exec: Mapped[Amount]
    cost: Mapped[Amount]
    fee: Mapped[Amount]
    price: Mapped[Amount]
    stopprice: Mapped[Amount | None]
    limitprice: Mapped[Amount | None]
    misc: Mapped[str] = mapped_column(server_default="")
    oflags: Mapped[str] = mapped_column(server_default="")
    trigger: Mapped[str | None]
    amended: Mapped[bool] = mapped_column(server_default=text("false"))
    trades: Mapped[list[str] | None]
    margin: Mapped[bool | None]  # an order on margin (ClosedOrders' `margin`)
    source: Mapped[str]
    raw: Mapped[Raw]
    first_seen_at: Mapped[UtcDateTime] = created()
    updated_at: Mapped[UtcDateTime] = created()
    # When the OrderAmends trail was last fetched; re-fetched while NULL or older than updated_at.
    amends_synced_at: Mapped[UtcDateTime | None]

    __table_args__ = (
        # covering: a full order_trades pass reads every order in key order from the key alone (reconciliation)
        PrimaryKeyConstraint("account", "txid", postgresql_include=["opentm", "closetm", "vol_exec", "cost", "fee"]),
        Index(None, "account", "closetm"), Index(None, "account", "opentm"), Index(None, "account", "updated_at"),
    )


class OrderAmendRow(Base):
    """One entry of an order's amend trail (original, user, restated). Natural key: (account, amend_id)."""

    __tablename__ = "order_amend"

    account: Mapped[Label] = mapped_column(primary_key=True)
    amend_id: Mapped[KrakenId] = mapped_column(primary_key=True)
    order_txid: Mapped[KrakenId]
    amend_type: Mapped[str]
    order_qty: Mapped[Amount | None]
    display_qty: Mapped[Amount | None]
    remaining_qty: Mapped[Amount | None]
    limit_price: Mapped[Amount | None]
    trigger_price: Mapped[Amount | None]
    reason: Mapped[str | None]
    post_only: Mapped[bool | None]
    timestamp: Mapped[UtcDateTime]
    timestamp_ns: Mapped[int]
    source: Mapped[str]
    raw: Mapped[Raw]
    first_seen_at: Mapped[UtcDateTime] = created()

    __table_args__ = (Index(None, "account", "order_txid", "timestamp_ns"),)


class BalanceSnapshotRow(Base):
    """An asset's balance as Kraken reported it at `taken_at` (Balance, BalanceEx or the WS snapshot)."""

    __tablename__ = "balance_snapshot"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    taken_at: Mapped[UtcDateTime]
    source: Mapped[str]
    asset: Mapped[str]
    wallet: Mapped[str | None]
    balance: Mapped[Amount]
    hold_trade: Mapped[Amount | None]
    credit: Mapped[Amount | None]
    credit_used: Mapped[Amount | None]
    raw: Mapped[Raw]

    __table_args__ = (
        UniqueConstraint(
            "account", "taken_at", "source", "asset", "wallet", postgresql_nulls_not_distinct=True
        ),
        Index(None, "account", "asset", "taken_at"),
        CheckConstraint("source IN ('Balance', 'BalanceEx', 'ws')", name="source"),
    )
