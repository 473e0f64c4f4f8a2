"""The `sync_run` log: one row per job run, written in the same transaction as the run's rows.

A failed run is logged in its own transaction (the rows' transaction rolled back), so the log shows
failures too. Rows are written from the composition layer's one result type, `core.results.JobResult`.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, Engine, insert, update

from kraken_etl.core.results import JobResult
from models import SyncRunRow


def _seconds(value: float) -> Decimal:
    return Decimal(f"{value:.3f}")


def _values(result: JobResult) -> dict[str, object]:
    return {
        "account": result.account, "stream": result.stream, "kind": result.kind,
        "window_start": result.window_start, "window_end": result.window_end,
        "started_at": result.started_at, "finished_at": result.finished_at, "status": result.status,
        "fetched": result.fetched, "inserted": result.inserted, "updated": result.updated,
        "quarantined": result.quarantined, "calls": result.calls, "wait_seconds": _seconds(result.wait_seconds),
        "duration_seconds": _seconds(result.duration_seconds), "error": result.error,
    }


def insert_run(conn: Connection, result: JobResult) -> int:
    """Insert the run's row as `result` stands now; returns its id.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    return int(conn.execute(insert(SyncRunRow).values(**_values(result)).returning(SyncRunRow.id)).scalar_one())


def update_run(conn: Connection, run_id: int, result: JobResult) -> None:
    """Rewrite the run's row from `result` (same transaction as the rows: counts known after the load).

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    conn.execute(update(SyncRunRow).where(SyncRunRow.id == run_id).values(**_values(result)))


__all__ = ["Engine", "insert_run", "update_run"]
