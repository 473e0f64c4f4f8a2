"""SQLAlchemy 2 typed models of schema `kraken` (persistence only; imported by kraken_etl.db and migrations)."""

from models.assets import AssetPairRow, AssetRow
from models.base import SCHEMA, Base
from models.history import BalanceSnapshotRow, ClosedOrderRow, LedgerEntryRow, OrderAmendRow, TradeRow
from models.intraday import WsBalanceUpdateRow, WsExecutionRow
from models.listener import ListenerGapRow, ListenerLockRow, ListenerSessionRow
from models.recon import ReconciliationAckRow, ReconciliationFindingRow, ReconciliationRunRow
from models.runs import (
    AccountLockHolderRow,
    AccountLockRow,
    BackfillPlanRow,
    ExportJobRow,
    NonceHighWaterRow,
    QuarantineRow,
    RejectedImportRow,
    SyncRunRow,
    SyncStateRow,
)

__all__ = [
    "SCHEMA",
    "AccountLockHolderRow",
    "AccountLockRow",
    "AssetPairRow",
    "AssetRow",
    "BackfillPlanRow",
    "BalanceSnapshotRow",
    "Base",
    "ClosedOrderRow",
    "ExportJobRow",
    "LedgerEntryRow",
    "ListenerGapRow",
    "ListenerLockRow",
    "ListenerSessionRow",
    "NonceHighWaterRow",
    "OrderAmendRow",
    "QuarantineRow",
    "ReconciliationAckRow",
    "ReconciliationFindingRow",
    "ReconciliationRunRow",
    "RejectedImportRow",
    "SyncRunRow",
    "SyncStateRow",
    "TradeRow",
    "WsBalanceUpdateRow",
    "WsExecutionRow",
]
