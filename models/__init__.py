"""SQLAlchemy 2 typed models of schema `kraken` (persistence only; imported by kraken_etl.db and migrations)."""

from models.base import SCHEMA, Base
from models.tables import (
    AssetPairRow,
    AssetRow,
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
    "BalanceSnapshotRow",
    "Base",
    "ClosedOrderRow",
    "ExportJobRow",
    "LedgerEntryRow",
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
