"""The tables of schema `kraken`.

Conventions: every row from Kraken carries `account` (our label) and `raw` (Kraken's record verbatim,
numbers as strings); natural keys are unique together with `account`; money is `Amount` (NUMERIC); times
are timestamptz plus Kraken's raw time value (`*_raw`, exact) so nothing finer than a microsecond is lost.
`source` says where the current values came from (rest, export, import, ws).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import Amount, KrakenId, Label, Raw, RawTime, UtcDateTime


def _created() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


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
    amount: Mapped[Amount]
    fee: Mapped[Amount]
    balance: Mapped[Amount | None]
    flags: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    source: Mapped[str]
    raw: Mapped[Raw]
    first_seen_at: Mapped[UtcDateTime] = _created()
    updated_at: Mapped[UtcDateTime] = _created()

    __table_args__ = (
        CheckConstraint(
            "wallet_source IS NULL OR wallet_source IN ('export', 'suffix', 'listener', 'continuity', 'unknown')",
            name="wallet_source",
        ),
        Index(None, "account", "time"),
        Index(None, "account", "refid"),
        Index(None, "account", "asset", "wallet", "time"),
        Index(None, "account", "asset", "wallet_resolved", "time"),
        Index(None, "account", "updated_at"),
        Index(None, "account", "asset", postgresql_where=text("wallet_resolved IS NULL")),
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
    flags: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    source: Mapped[str]
    raw: Mapped[Raw]
    first_seen_at: Mapped[UtcDateTime] = _created()
    updated_at: Mapped[UtcDateTime] = _created()

    __table_args__ = (
        Index(None, "account", "time"), Index(None, "account", "ordertxid"), Index(None, "account", "updated_at"),
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
    source: Mapped[str]
    raw: Mapped[Raw]
    first_seen_at: Mapped[UtcDateTime] = _created()
    updated_at: Mapped[UtcDateTime] = _created()
    # When the OrderAmends trail was last fetched; re-fetched while NULL or older than updated_at.
    amends_synced_at: Mapped[UtcDateTime | None]

    __table_args__ = (
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
    first_seen_at: Mapped[UtcDateTime] = _created()

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
    received_at: Mapped[UtcDateTime] = _created()
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
    received_at: Mapped[UtcDateTime] = _created()
    raw: Mapped[Raw]

    __table_args__ = (Index(None, "account", "timestamp"),)


class ExportJobRow(Base):
    """One Kraken export (AddExport → ExportStatus → RetrieveExport → load → RemoveExport), resumable.

    `status`: requested, queued, processing, processed, downloaded, loaded, removed, failed, cancelled.
    """

    __tablename__ = "export_job"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    report: Mapped[str]
    description: Mapped[str]
    kraken_id: Mapped[str | None]
    format: Mapped[str] = mapped_column(server_default="CSV")
    fields: Mapped[str] = mapped_column(server_default="all")
    starttm: Mapped[UtcDateTime]
    endtm: Mapped[UtcDateTime]
    status: Mapped[str]
    file_path: Mapped[str | None]
    file_size: Mapped[int | None]
    sha256: Mapped[str | None]
    rows_loaded: Mapped[int | None]
    rows_quarantined: Mapped[int | None]
    error: Mapped[str | None]
    raw: Mapped[Raw | None]
    created_at: Mapped[UtcDateTime] = _created()
    updated_at: Mapped[UtcDateTime] = _created()

    __table_args__ = (
        UniqueConstraint("account", "description"),
        Index(None, "account", "report", "status"),
        CheckConstraint("report IN ('ledgers', 'trades')", name="report"),
    )


class SyncStateRow(Base):
    """The incremental bookmark of one stream of one account (moved only after a whole window loaded)."""

    __tablename__ = "sync_state"

    account: Mapped[Label] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(primary_key=True)
    bookmark: Mapped[UtcDateTime | None]
    bookmark_raw: Mapped[RawTime | None]
    state: Mapped[Raw | None]
    updated_at: Mapped[UtcDateTime] = _created()


class SyncRunRow(Base):
    """The log of one window run (incremental sync, backfill, export load or manual import)."""

    __tablename__ = "sync_run"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    stream: Mapped[str]
    kind: Mapped[str]
    window_start: Mapped[UtcDateTime | None]
    window_end: Mapped[UtcDateTime | None]
    started_at: Mapped[UtcDateTime]
    finished_at: Mapped[UtcDateTime | None]
    status: Mapped[str]
    fetched: Mapped[int] = mapped_column(server_default=text("0"))
    inserted: Mapped[int] = mapped_column(server_default=text("0"))
    updated: Mapped[int] = mapped_column(server_default=text("0"))
    quarantined: Mapped[int] = mapped_column(server_default=text("0"))
    calls: Mapped[int] = mapped_column(server_default=text("0"))
    wait_seconds: Mapped[Amount] = mapped_column(server_default=text("0"))
    duration_seconds: Mapped[Amount | None]
    error: Mapped[str | None]

    __table_args__ = (Index(None, "account", "stream", "started_at"),)


class QuarantineRow(Base):
    """A record that failed validation: kept with the reason, never dropped. Idempotent by fingerprint."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    stream: Mapped[str]
    source: Mapped[str]
    record_id: Mapped[str | None]
    reason: Mapped[str]
    fingerprint: Mapped[str]
    raw: Mapped[Raw]
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))
    created_at: Mapped[UtcDateTime] = _created()
    resolved_at: Mapped[UtcDateTime | None]

    __table_args__ = (UniqueConstraint("account", "stream", "fingerprint"),)


class ReconciliationRunRow(Base):
    """One reconciliation of one account as of a moment."""

    __tablename__ = "reconciliation_run"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    as_of: Mapped[UtcDateTime]
    started_at: Mapped[UtcDateTime]
    finished_at: Mapped[UtcDateTime | None]
    status: Mapped[str]
    findings: Mapped[int] = mapped_column(server_default=text("0"))
    breaks: Mapped[int] = mapped_column(server_default=text("0"))
    checks: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    incremental: Mapped[bool] = mapped_column(server_default=text("false"))
    rows_examined: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    duration_seconds: Mapped[Decimal | None]
    counts: Mapped[Raw] = mapped_column(server_default=text("'{}'"))  # per check: examined, breaks, findings
    error: Mapped[str | None]
    # where the next incremental run looks for changed rows (now, or the oldest open transaction's start)
    watermark: Mapped[UtcDateTime | None]

    __table_args__ = (Index(None, "account", "started_at"),)


class ReconciliationFindingRow(Base):
    """One finding of a reconciliation run (findings are data, not exceptions)."""

    __tablename__ = "reconciliation_finding"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_run.id", ondelete="CASCADE"))
    account: Mapped[Label]
    check_name: Mapped[str]
    kind: Mapped[str]
    severity: Mapped[str]
    asset: Mapped[str | None]
    wallet: Mapped[str | None]
    expected: Mapped[Amount | None]
    actual: Mapped[Amount | None]
    difference: Mapped[Amount | None]
    source_ids: Mapped[list[str] | None]
    message: Mapped[str]
    details: Mapped[Raw | None]
    # stable identity across runs: hash of (check, account, asset, wallet, ids); run_id = first run seen
    fingerprint: Mapped[str]
    status: Mapped[str] = mapped_column(server_default="open")  # open | resolved
    last_seen_run_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("reconciliation_run.id", ondelete="SET NULL")
    )
    first_seen_at: Mapped[UtcDateTime] = _created()
    last_seen_at: Mapped[UtcDateTime] = _created()
    resolved_at: Mapped[UtcDateTime | None]
    acknowledged_at: Mapped[UtcDateTime | None]
    ack_note: Mapped[str | None]

    __table_args__ = (
        UniqueConstraint("account", "fingerprint"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        CheckConstraint("severity IN ('break', 'warning', 'info')", name="severity"),
        Index(None, "run_id"),
        Index(None, "account", "kind"),
        Index(None, "account", "status", "check_name"),
    )


class AssetRow(Base):
    """Kraken's asset list (public Assets endpoint) plus our normalised code (XXBT → BTC, keeps suffixes)."""

    __tablename__ = "asset"

    asset: Mapped[KrakenId] = mapped_column(primary_key=True)
    altname: Mapped[str | None]
    normalized: Mapped[str]
    aclass: Mapped[str | None]
    decimals: Mapped[int | None]
    display_decimals: Mapped[int | None]
    status: Mapped[str | None]
    raw: Mapped[Raw | None]
    updated_at: Mapped[UtcDateTime] = _created()


class AssetPairRow(Base):
    """Kraken's asset pairs (public AssetPairs endpoint), to read trades' pair keys."""

    __tablename__ = "asset_pair"

    pair: Mapped[KrakenId] = mapped_column(primary_key=True)
    altname: Mapped[str | None]
    wsname: Mapped[str | None]
    base: Mapped[str]
    quote: Mapped[str]
    pair_decimals: Mapped[int | None]
    cost_decimals: Mapped[int | None]
    lot_decimals: Mapped[int | None]
    raw: Mapped[Raw | None]
    updated_at: Mapped[UtcDateTime] = _created()


class BackfillPlanRow(Base):
    """A backfill's plan, stored before anything is requested, so a rerun resumes the same ranges.

    `request_key` names the request (account, range, streams, via, limits); `ranges` holds the planned steps
    (stream, start, end, expected rows, via). `finished_at` is set when every step has loaded.
    """

    __tablename__ = "backfill_plan"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    request_key: Mapped[str]
    request: Mapped[Raw]
    ranges: Mapped[list[dict[str, object]]] = mapped_column(JSONB)
    count_calls: Mapped[int] = mapped_column(server_default=text("0"))
    created_at: Mapped[UtcDateTime] = _created()
    finished_at: Mapped[UtcDateTime | None]

    __table_args__ = (Index(None, "account", "request_key"),)


class NonceHighWaterRow(Base):
    """The highest nonce an API key has sent, from any machine (seeds a machine's nonce file at lock time)."""

    __tablename__ = "nonce_high_water"

    key_id: Mapped[str] = mapped_column(primary_key=True)  # kraken.nonce.key_id(): a hash, never the key
    last_nonce: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[UtcDateTime] = _created()
