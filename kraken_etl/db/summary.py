"""Read-only summaries for people: row counts per table (demo, status)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

import models

COUNTED = (
    ("ledger_entry", models.LedgerEntryRow),
    ("trade", models.TradeRow),
    ("closed_order", models.ClosedOrderRow),
    ("order_amend", models.OrderAmendRow),
    ("balance_snapshot", models.BalanceSnapshotRow),
    ("export_job", models.ExportJobRow),
    ("sync_run", models.SyncRunRow),
    ("quarantine", models.QuarantineRow),
    ("reconciliation_finding", models.ReconciliationFindingRow),
)


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of schema `kraken` (the mission's main tables)."""
    with engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(row)).scalar_one() for name, row in COUNTED}
