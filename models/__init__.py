"""SQLAlchemy 2 typed models of schema `kraken` (persistence only; imported by kraken_etl.db and migrations)."""

from models.assets import AssetPairRow, AssetRow
from models.base import SCHEMA, Base
from models.books import (
    BookDisposalRow,
    BookFindingRow,
    BookHoldingRow,
    BookIncomeRow,
    BookRunRow,
    OpeningLotRow,
    TreatmentRow,
)
from models.history import BalanceSnapshotRow, ClosedOrderRow, LedgerEntryRow, OrderAmendRow, TradeRow
from models.intraday import WsBalanceUpdateRow, WsExecutionRow
from models.listener import ListenerGapRow, ListenerLockRow, ListenerSessionRow
from models.market import AssetIdentityRow, OpenPositionRow, PriceRouteRow, PriceRow, TradeBalanceRow
from models.recon import ReconciliationAckRow, ReconciliationFindingRow, ReconciliationRunRow
from models.runs import (
    AccountLockHolderRow,
    AccountLockRow,
    BackfillPlanRow,
    CallCounterMarkRow,
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
    "AssetIdentityRow",
    "AssetPairRow",
    "AssetRow",
    "BackfillPlanRow",
    "BalanceSnapshotRow",
    "Base",
    "BookDisposalRow",
    "BookFindingRow",
    "BookHoldingRow",
    "BookIncomeRow",
    "BookRunRow",
    "CallCounterMarkRow",
    "ClosedOrderRow",
    "ExportJobRow",
    "LedgerEntryRow",
    "ListenerGapRow",
    "ListenerLockRow",
    "ListenerSessionRow",
    "NonceHighWaterRow",
    "OpenPositionRow",
    "OpeningLotRow",
    "OrderAmendRow",
    "PriceRouteRow",
    "PriceRow",
    "QuarantineRow",
    "ReconciliationAckRow",
    "ReconciliationFindingRow",
    "ReconciliationRunRow",
    "RejectedImportRow",
    "SyncRunRow",
    "SyncStateRow",
    "TradeBalanceRow",
    "TradeRow",
    "TreatmentRow",
    "WsBalanceUpdateRow",
    "WsExecutionRow",
]
