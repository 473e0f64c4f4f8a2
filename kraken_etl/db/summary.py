"""Read-only summaries for people: row counts per table (demo, status)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

import models
from kraken_etl.core.exportheader import PENDING_REASON

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
        return {
            name: conn.execute(select(func.count()).select_from(row)).scalar_one() for name, row in COUNTED
        }


def bookmarks(engine: Engine) -> list[tuple[str, str, object, object]]:
    """(account, stream, bookmark, updated_at) for every incremental stream."""
    state = models.SyncStateRow
    with engine.connect() as conn:
        rows = conn.execute(
            select(state.account, state.stream, state.bookmark, state.updated_at).order_by(
                state.account, state.stream
            )
        ).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def last_runs(engine: Engine, limit: int = 10) -> list[dict[str, object]]:
    """The most recent sync_run rows, newest first."""
    run = models.SyncRunRow
    columns = (run.account, run.stream, run.kind, run.status, run.started_at, run.fetched, run.inserted,
               run.updated, run.quarantined, run.error)
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).order_by(run.started_at.desc(), run.id.desc()).limit(limit)).all()
    return [dict(row._mapping) for row in rows]


def open_quarantine(engine: Engine) -> int:
    """Quarantined records not yet resolved, without export "pending" rows (kept for audit, not entries)."""
    q = models.QuarantineRow
    unresolved = q.resolved_at.is_(None) & (q.reason != PENDING_REASON)
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(q).where(unresolved)).scalar_one()



def stored_accounts(engine: Engine) -> set[str]:
    """Every account label that has rows in the database (ledgers, trades or run log)."""
    with engine.connect() as conn:
        found: set[str] = set()
        for row in (models.LedgerEntryRow, models.TradeRow, models.SyncRunRow):
            found |= set(conn.execute(select(row.account).distinct()).scalars())
    return found
