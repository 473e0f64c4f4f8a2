"""SQLAlchemy 2 typed models of schema `kraken` (persistence only; imported by kraken_etl.db and migrations)."""

from models.base import SCHEMA, Base
from models.listener import ListenerGapRow, ListenerSessionRow
from models.tables import (
    AssetPairRow,
    AssetRow,
    BackfillPlanRow,
    BalanceSnapshotRow,
    ClosedOrderRow,
    ExportJobRow,
    LedgerEntryRow,
    NonceHighWaterRow,
    OrderAmendRow,
    QuarantineRow,
    ReconciliationFindingRow,
    ReconciliationRunRow,
    SyncRunRow,
    SyncStateRow,
    TradeRow,
    WsBalanceUpdateRow,
    WsExecutionRow,
)

__all__ = [
    "SCHEMA",
    "AssetPairRow",
    "AssetRow",
    "BackfillPlanRow",
    "BalanceSnapshotRow",
    "Base",
    "ClosedOrderRow",
    "ExportJobRow",
    "LedgerEntryRow",
    "ListenerGapRow",
    "ListenerSessionRow",
    "NonceHighWaterRow",
    "OrderAmendRow",
    "QuarantineRow",
    "ReconciliationFindingRow",
    "ReconciliationRunRow",
    "SyncRunRow",
    "SyncStateRow",
    "TradeRow",
    "WsBalanceUpdateRow",
    "WsExecutionRow",
]
