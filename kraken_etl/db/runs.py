"""The `sync_run` log: one row per window run, written in the same transaction as the window's rows.

A failed window is logged in its own transaction (the rows' transaction rolled back), so the log shows
failures too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, insert, update

from models import SyncRunRow


@dataclass(frozen=True, slots=True)
class RunLog:
    """What one window run did (counts, calls, waits, timing)."""

    account: str
    stream: str
    kind: str  # incremental | backfill | export | import | snapshot
    window_start: datetime | None
    window_end: datetime | None
    started_at: datetime
    finished_at: datetime
    status: str  # ok | failed
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0
    calls: int = 0
    wait_seconds: Decimal = Decimal(0)
    duration_seconds: Decimal | None = None
    error: str | None = None


def insert_run(conn: Connection, log: RunLog) -> int:
    """Insert one run row; returns its id.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    values = {name: getattr(log, name) for name in RunLog.__dataclass_fields__}
    return int(conn.execute(insert(SyncRunRow).values(**values).returning(SyncRunRow.id)).scalar_one())


def update_run_counts(
    conn: Connection,
    run_id: int,
    *,
    inserted: int,
    updated: int,
    quarantined: int,
    fetched: int | None = None,
    finished_at: datetime | None = None,
    duration_seconds: Decimal | None = None,
) -> None:
    """Fill in what is known only after the load (same transaction): counts, and when given, the rows read,
    the finish time and the duration."""
    values: dict[str, object] = {"inserted": inserted, "updated": updated, "quarantined": quarantined}
    if fetched is not None:
        values["fetched"] = fetched
    if finished_at is not None:
        values["finished_at"] = finished_at
    if duration_seconds is not None:
        values["duration_seconds"] = duration_seconds
    conn.execute(update(SyncRunRow).where(SyncRunRow.id == run_id).values(**values))


__all__ = ["Engine", "RunLog", "insert_run", "update_run_counts"]
